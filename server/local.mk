# server/: cofferd, the S3 front end. Everything but main() is in
# libs3front.a so that unit tests can link the parsing and routing code
# alone (a static library: a test gets only the files it calls into).
noinst_LIBRARIES += server/libs3front.a
server_libs3front_a_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
server_libs3front_a_SOURCES = server/server.h \
	server/http.c server/http.h server/gate.c server/gate.h \
	server/request.c server/request.h server/dispatch.c server/dispatch.h \
	server/router.c server/router.h server/range.c server/range.h \
	server/s3auth.c server/s3auth.h server/perm.c server/perm.h \
	server/s3err.c server/s3err.h \
	server/xml.c server/xml.h server/xmlreq.c server/xmlreq.h \
	server/pool.c server/pool.h \
	server/sbuf.c server/sbuf.h \
	server/s3_common.c server/s3_common.h server/s3_ops.c server/s3_ops.h \
	server/s3_bucket.c server/s3_list.c server/s3_object.c server/s3_multipart.c \
	server/s3_attributes.c \
	server/s3_lock.c \
	server/lcxml.c server/lcxml.h server/s3_lifecycle.c \
	server/lifecycle.c server/lifecycle.h \
	server/builtin.c server/builtin.h \
	server/metrics.c server/metrics.h \
	server/telemetry.c server/telemetry.h \
	server/console.c server/console.h \
	server/notify.c server/notify.h
nodist_server_libs3front_a_SOURCES = server/console_assets.c

# The web console's files, compiled into cofferd as byte arrays.
CONSOLE_FILES = $(srcdir)/console/index.html $(srcdir)/console/app.js \
	$(srcdir)/console/style.css $(srcdir)/console/favicon.svg
server/console_assets.c: $(CONSOLE_FILES) $(srcdir)/console/embed.sh
	$(AM_V_GEN)$(MKDIR_P) server && \
	$(SHELL) $(srcdir)/console/embed.sh $(CONSOLE_FILES) >$@.tmp && mv $@.tmp $@
BUILT_SOURCES += server/console_assets.c
CLEANFILES += server/console_assets.c
EXTRA_DIST += $(CONSOLE_FILES) console/embed.sh

# what routing needs: the request API, errors, XML, the percent-decoder
ROUTER_LDADD = server/libs3front.a auth/libauth.a common/libcommon.a $(OPENSSL_LIBS)

S3FRONT_LDADD = server/libs3front.a server/libcofferd.a tier/libtier.a \
	storage/libstorage.a $(CLIENT_LIBS) \
	$(MHD_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(ISAL_LIBS) $(SQLITE_LIBS) \
	$(CURL_LIBS) $(XML_LIBS) $(AX_PTHREAD_LIBS)

sbin_PROGRAMS += server/cofferd
server_cofferd_SOURCES = server/main.c
server_cofferd_CFLAGS = $(server_libs3front_a_CFLAGS)
server_cofferd_LDADD = $(S3FRONT_LDADD)
