# contrib/: benchmark tools and scripts.

# what the benchmark tools share: clock, CPU, memory, data generator,
# histogram, and coffer-bench's bodies
noinst_LIBRARIES += contrib/bench/libbench.a
contrib_bench_libbench_a_SOURCES = contrib/bench/measure.c contrib/bench/measure.h \
	contrib/bench/histo.c contrib/bench/histo.h \
	contrib/bench/body.c contrib/bench/body.h
contrib_bench_libbench_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)

# bench-engine: the engine against this machine's limits (make bench-engine).
noinst_PROGRAMS += contrib/bench/bench-engine
contrib_bench_bench_engine_SOURCES = contrib/bench/bench_engine.c
contrib_bench_bench_engine_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(ISAL_CFLAGS)
contrib_bench_bench_engine_LDADD = contrib/bench/libbench.a storage/libstorage.a \
	common/libcommon.a $(OPENSSL_LIBS) $(ISAL_LIBS) $(SQLITE_LIBS) $(JANSSON_LIBS) \
	$(AX_PTHREAD_LIBS)

.PHONY: bench-engine
bench-engine: contrib/bench/bench-engine
	$(builddir)/contrib/bench/bench-engine

# coffer-bench: the S3 load generator, sending through the outgoing S3 client.
bin_PROGRAMS += contrib/bench/coffer-bench
contrib_bench_coffer_bench_SOURCES = contrib/bench/coffer_bench.c
contrib_bench_coffer_bench_LDADD = contrib/bench/libbench.a $(CLIENT_LIBS)

# mhd-ceiling: HTTP alone, no S3 work (the bound for cofferd's figures).
noinst_PROGRAMS += contrib/bench/mhd-ceiling
contrib_bench_mhd_ceiling_SOURCES = contrib/bench/mhd_ceiling.c
contrib_bench_mhd_ceiling_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
contrib_bench_mhd_ceiling_LDADD = contrib/bench/libbench.a common/libcommon.a $(MHD_LIBS)

# bench-tree: the file tree make bench backs up and copies (restic, rclone).
noinst_PROGRAMS += contrib/bench/bench-tree
contrib_bench_bench_tree_SOURCES = contrib/bench/bench_tree.c
contrib_bench_bench_tree_LDADD = contrib/bench/libbench.a common/libcommon.a -lm

# the standard suite against a throw-away cofferd (make bench, under 10
# minutes), and the same at tiny sizes against two of them (make
# bench-smoke, under a minute; make check runs it as tests/bench_suite_smoke.sh)
BENCH_TOOLS = contrib/bench/coffer-bench contrib/bench/mhd-ceiling \
	contrib/bench/bench-engine contrib/bench/bench-tree server/cofferd
.PHONY: bench bench-peer bench-smoke
bench: $(BENCH_TOOLS)
	$(srcdir)/contrib/bench/run.sh
# the same, then against a throw-away Ceph RGW on BlueStore (tests/peers/rgw.sh)
bench-peer: $(BENCH_TOOLS)
	BENCH_PEER=rgw $(srcdir)/contrib/bench/run.sh
bench-smoke: $(BENCH_TOOLS)
	COFFERD=$(abs_top_builddir)/server/cofferd $(srcdir)/tests/bench_suite_smoke.sh
EXTRA_DIST += contrib/bench/run.sh
