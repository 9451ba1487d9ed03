noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_SOURCES = \
	common/bigbuf.c common/bigbuf.h common/error.c common/error.h common/fsutil.c common/fsutil.h \
	common/fio.c common/fio.h \
	common/checksum.c common/checksum.h common/md5sha.c common/md5sha.h \
	common/hex.c common/hex.h common/le.h \
	common/names.c common/names.h common/credfile.c common/credfile.h common/adminapi.h \
	common/numparse.c common/numparse.h common/utf8.c common/utf8.h \
	common/xmlread.c common/xmlread.h common/etag.c common/etag.h \
	common/rfc2047.c common/rfc2047.h common/hdrlist.c common/hdrlist.h \
	common/clock.c common/clock.h common/held.h
common_libcommon_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(ISAL_CFLAGS)
