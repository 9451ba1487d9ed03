# contrib/: benchmark tools and scripts.

# bench-engine: the engine against this machine's limits (make bench-engine).
noinst_PROGRAMS += contrib/bench/bench-engine
contrib_bench_bench_engine_SOURCES = contrib/bench/bench_engine.c \
	contrib/bench/measure.c contrib/bench/measure.h
contrib_bench_bench_engine_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(ISAL_CFLAGS)
contrib_bench_bench_engine_LDADD = storage/libstorage.a common/libcommon.a \
	$(OPENSSL_LIBS) $(ISAL_LIBS) $(SQLITE_LIBS) $(JANSSON_LIBS) $(AX_PTHREAD_LIBS)

.PHONY: bench-engine
bench-engine: contrib/bench/bench-engine
	$(builddir)/contrib/bench/bench-engine
