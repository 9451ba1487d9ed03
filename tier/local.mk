# tier/: cold tiers (libtier.a): the tier types (S3 and Azure Blob),
# uploads verified against what the remote confirms, ranged reads for the
# engine, restores and remote deletes. Depends on storage/ (the registry
# and the tiered state) and client/ (the outgoing S3 and Azure clients).
noinst_LIBRARIES += tier/libtier.a
tier_libtier_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS)
tier_libtier_a_SOURCES = tier/tier.h tier/set.c tier/s3.c tier/azure.c \
	tier/shared.h tier/shared.c \
	tier/pull.h tier/pull.c
