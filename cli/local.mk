# cli/: the coffer admin CLI. It reads credential files with common/'s
# credfile (as cofferd writes them) and sends through the outgoing S3
# client; it needs nothing of the server or the engine.
bin_PROGRAMS += cli/coffer
cli_coffer_SOURCES = cli/coffer.c
cli_coffer_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
cli_coffer_LDADD = $(CLIENT_LIBS) $(JANSSON_LIBS)
