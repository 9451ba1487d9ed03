# cli/: the coffer admin CLI. It shares the credential-file reader with
# cofferd (server/libcofferd.a) and sends through the outgoing S3 client.
bin_PROGRAMS += cli/coffer
cli_coffer_SOURCES = cli/coffer.c
cli_coffer_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
cli_coffer_LDADD = server/libcofferd.a $(CLIENT_LIBS) $(JANSSON_LIBS)
