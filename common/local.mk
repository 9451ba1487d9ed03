noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_SOURCES = \
	common/error.c common/error.h common/fsutil.c common/fsutil.h
