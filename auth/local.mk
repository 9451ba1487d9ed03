# auth/: SigV4/SigV2 verification and signing, aws-chunked decoding.
noinst_LIBRARIES += auth/libauth.a
auth_libauth_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
auth_libauth_a_SOURCES =
