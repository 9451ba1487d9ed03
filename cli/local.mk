# cli/: the coffer admin CLI. It reads credential files with common/'s
# credfile (as cofferd writes them) and sends through the outgoing S3
# client; restore-index (cli/restore.c), which runs offline, loads
# cofferd's configuration (server/libcofferd.a) and calls the engine
# (storage/libstorage.a) directly, through their public headers only.
bin_PROGRAMS += cli/coffer
cli_coffer_SOURCES = cli/coffer.c cli/progress.c cli/progress.h cli/restore.c \
	cli/restore.h
cli_coffer_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
cli_coffer_LDADD = server/libcofferd.a storage/libstorage.a $(CLIENT_LIBS) \
	$(JANSSON_LIBS) $(SQLITE_LIBS)
