# cli/: the coffer admin CLI. It shares the credential-file reader and the
# configuration loader with cofferd (server/libcofferd.a) and sends through
# the outgoing S3 client; restore-index (cli/restore.c), which runs
# offline, calls the engine (storage/libstorage.a) directly.
bin_PROGRAMS += cli/coffer
cli_coffer_SOURCES = cli/coffer.c cli/restore.c cli/restore.h
cli_coffer_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
cli_coffer_LDADD = server/libcofferd.a storage/libstorage.a $(CLIENT_LIBS) \
	$(JANSSON_LIBS) $(SQLITE_LIBS)
