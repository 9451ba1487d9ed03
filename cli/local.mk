# cli/: the coffer admin CLI. It shares the credential-file reader with
# cofferd (server/libcofferd.a) and signs with auth/'s SigV4 signer.
bin_PROGRAMS += cli/coffer
cli_coffer_SOURCES = cli/coffer.c
cli_coffer_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
cli_coffer_LDADD = server/libcofferd.a auth/libauth.a common/libcommon.a \
	$(CURL_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS)
