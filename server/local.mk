# server/: cofferd, the S3 front end.
sbin_PROGRAMS += server/cofferd
server_cofferd_SOURCES = server/main.c
server_cofferd_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(XML_CFLAGS) \
	$(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
server_cofferd_LDADD = storage/libstorage.a auth/libauth.a common/libcommon.a \
	$(MHD_LIBS) $(XML_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(ISAL_LIBS) \
	$(SQLITE_LIBS) $(AX_PTHREAD_LIBS)
