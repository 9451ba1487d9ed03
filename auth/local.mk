# auth/: SigV4/SigV2 verification and signing, aws-chunked decoding.
noinst_LIBRARIES += auth/libauth.a
auth_libauth_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
auth_libauth_a_SOURCES = \
	auth/auth.c auth/auth.h auth/internal.h auth/util.c \
	auth/sigv4.c auth/sigv4.h auth/sigv2.c auth/sigv2.h \
	auth/chunked.c auth/chunked.h
