# client/: the outgoing clients (libclient.a): S3 (SigV4 from auth/) and
# Azure Blob (Shared Key, SAS) over one transport on libcurl's multi
# interface, common/xmlread for the remote's XML answers. Used by cofferd's
# cold tiers, cli/coffer and coffer-bench; depends only on auth/ and common/.
noinst_LIBRARIES += client/libclient.a
client_libclient_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(OPENSSL_CFLAGS)
client_libclient_a_SOURCES = client/s3c.h client/azb.h client/internal.h client/s3c.c \
	client/azb.c client/azauth.c client/xfer.c client/body.c client/xml.c \
	client/drill.c client/drill.h
CLIENT_LIBS = client/libclient.a auth/libauth.a common/libcommon.a \
	$(CURL_LIBS) $(OPENSSL_LIBS) $(ISAL_LIBS) $(AX_PTHREAD_LIBS)
