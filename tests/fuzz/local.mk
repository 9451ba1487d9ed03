# tests/fuzz/: libFuzzer targets, one per parser a client or a disk feeds.
# They exist only in a build configured with --enable-fuzzing CC=clang
# (contrib/fuzz.sh makes one in build-fuzz/), and even there only
# `make fuzz-targets` builds them: the normal builds never compile them.
# `make fuzz` (any build) runs each for FUZZ_SECONDS (300) through
# contrib/fuzz.sh; contrib/test.sh runs each for 10 s.
FUZZ_TARGETS = tests/fuzz/fuzz_sigv4 tests/fuzz/fuzz_sigv2 tests/fuzz/fuzz_chunked \
	tests/fuzz/fuzz_xml tests/fuzz/fuzz_range tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_shard tests/fuzz/fuzz_format tests/fuzz/fuzz_client_xml \
	tests/fuzz/fuzz_lifecycle
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/fuzz.h contrib/fuzz.sh

if FUZZING
EXTRA_PROGRAMS += $(FUZZ_TARGETS)
noinst_LIBRARIES += tests/fuzz/libfuzz.a
tests_fuzz_libfuzz_a_SOURCES = tests/fuzz/fuzz.c tests/fuzz/fuzz.h
FUZZ_LINK = $(AM_LDFLAGS) -fsanitize=fuzzer
FUZZ_AUTH_LDADD = tests/fuzz/libfuzz.a $(S3FRONT_LDADD)

tests_fuzz_fuzz_sigv4_SOURCES = tests/fuzz/fuzz_sigv4.c
tests_fuzz_fuzz_sigv4_LDADD = $(FUZZ_AUTH_LDADD)
tests_fuzz_fuzz_sigv4_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_sigv2_SOURCES = tests/fuzz/fuzz_sigv2.c
tests_fuzz_fuzz_sigv2_LDADD = $(FUZZ_AUTH_LDADD)
tests_fuzz_fuzz_sigv2_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_chunked_SOURCES = tests/fuzz/fuzz_chunked.c
tests_fuzz_fuzz_chunked_LDADD = auth/libauth.a common/libcommon.a $(OPENSSL_LIBS) $(ISAL_LIBS)
tests_fuzz_fuzz_chunked_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_xml_SOURCES = tests/fuzz/fuzz_xml.c
tests_fuzz_fuzz_xml_LDADD = $(S3FRONT_LDADD)
tests_fuzz_fuzz_xml_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_lifecycle_SOURCES = tests/fuzz/fuzz_lifecycle.c
tests_fuzz_fuzz_lifecycle_LDADD = $(S3FRONT_LDADD)
tests_fuzz_fuzz_lifecycle_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_range_SOURCES = tests/fuzz/fuzz_range.c
tests_fuzz_fuzz_range_LDADD = $(S3FRONT_LDADD)
tests_fuzz_fuzz_range_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c
tests_fuzz_fuzz_config_LDADD = server/libcofferd.a storage/libstorage.a auth/libauth.a \
	common/libcommon.a $(JANSSON_LIBS) $(OPENSSL_LIBS) $(ISAL_LIBS) $(SQLITE_LIBS) \
	$(AX_PTHREAD_LIBS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_shard_SOURCES = tests/fuzz/fuzz_shard.c
tests_fuzz_fuzz_shard_LDADD = storage/libstorage.a common/libcommon.a $(OPENSSL_LIBS) \
	$(ISAL_LIBS) $(SQLITE_LIBS) $(JANSSON_LIBS) $(AX_PTHREAD_LIBS)
tests_fuzz_fuzz_shard_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_format_SOURCES = tests/fuzz/fuzz_format.c
tests_fuzz_fuzz_format_LDADD = $(tests_fuzz_fuzz_shard_LDADD)
tests_fuzz_fuzz_format_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_client_xml_SOURCES = tests/fuzz/fuzz_client_xml.c
tests_fuzz_fuzz_client_xml_LDADD = tests/fuzz/libfuzz.a $(CLIENT_LIBS)
tests_fuzz_fuzz_client_xml_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
tests_fuzz_fuzz_client_xml_LDFLAGS = $(FUZZ_LINK)

endif

# fuzz-targets only works in a build configured with --enable-fuzzing.
.PHONY: fuzz fuzz-targets fuzz-list
fuzz-targets: $(FUZZ_TARGETS)
fuzz-list:
	@echo $(FUZZ_TARGETS:tests/fuzz/%=%)
fuzz:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} $(top_srcdir)/contrib/fuzz.sh
