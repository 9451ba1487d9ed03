# server/admin.mk: cofferd's configuration, embedded default, admin API and
# access log, built as a library that cofferd (server/local.mk) links and
# that the unit tests share.
noinst_LIBRARIES += server/libcofferd.a
server_libcofferd_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
server_libcofferd_a_SOURCES = \
	server/config.c server/config.h \
	server/embedded.c \
	server/admin.c server/admin.h server/jsonobj.c server/jsonobj.h \
	server/accesslog.c server/accesslog.h \
	server/sched.c server/sched.h server/jobs.c server/jobs.h
