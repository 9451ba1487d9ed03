# Unit tests: one program per module, each linked with the test harness.
noinst_LIBRARIES += tests/unit/libtest.a
tests_unit_libtest_a_SOURCES = tests/unit/test.c tests/unit/test.h

TEST_LDADD = tests/unit/libtest.a storage/libstorage.a auth/libauth.a \
	common/libcommon.a $(OPENSSL_LIBS) $(ISAL_LIBS) $(SQLITE_LIBS) \
	$(JANSSON_LIBS) $(AX_PTHREAD_LIBS)
TEST_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(ISAL_CFLAGS) $(SQLITE_CFLAGS) \
	$(JANSSON_CFLAGS)

check_PROGRAMS += tests/unit/test_error
tests_unit_test_error_SOURCES = tests/unit/test_error.c
tests_unit_test_error_LDADD = $(TEST_LDADD)
tests_unit_test_error_CFLAGS = $(TEST_CFLAGS)

# common/: the client-input parsers every module shares
check_PROGRAMS += tests/unit/test_numparse tests/unit/test_xmlread
tests_unit_test_numparse_SOURCES = tests/unit/test_numparse.c
tests_unit_test_numparse_LDADD = $(TEST_LDADD)
tests_unit_test_numparse_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_xmlread_SOURCES = tests/unit/test_xmlread.c
tests_unit_test_xmlread_LDADD = $(TEST_LDADD)
tests_unit_test_xmlread_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_rfc2047
tests_unit_test_rfc2047_SOURCES = tests/unit/test_rfc2047.c
tests_unit_test_rfc2047_LDADD = $(TEST_LDADD)
tests_unit_test_rfc2047_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_hdrlist
tests_unit_test_hdrlist_SOURCES = tests/unit/test_hdrlist.c
tests_unit_test_hdrlist_LDADD = $(TEST_LDADD)
tests_unit_test_hdrlist_CFLAGS = $(TEST_CFLAGS)

# common/fio: the fault-injection hook (both builds: refused without it)
check_PROGRAMS += tests/unit/test_fio
tests_unit_test_fio_SOURCES = tests/unit/test_fio.c
tests_unit_test_fio_LDADD = $(TEST_LDADD)
tests_unit_test_fio_CFLAGS = $(TEST_CFLAGS)

# disk trouble mid-PUT through the fault hook (skipped without it: make
# check-faults builds and runs it in build-faults/)
check_PROGRAMS += tests/unit/test_faults
tests_unit_test_faults_SOURCES = tests/unit/test_faults.c
tests_unit_test_faults_LDADD = tests/unit/libengutil.a $(TEST_LDADD)
tests_unit_test_faults_CFLAGS = $(TEST_CFLAGS)
check_PROGRAMS += tests/unit/test_gsync
tests_unit_test_gsync_SOURCES = tests/unit/test_gsync.c
tests_unit_test_gsync_LDADD = $(TEST_LDADD)
tests_unit_test_gsync_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_checksum
tests_unit_test_checksum_SOURCES = tests/unit/test_checksum.c
tests_unit_test_checksum_LDADD = $(TEST_LDADD)
tests_unit_test_checksum_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_crypto
tests_unit_test_crypto_SOURCES = tests/unit/test_crypto.c
tests_unit_test_crypto_LDADD = $(TEST_LDADD)
tests_unit_test_crypto_CFLAGS = $(TEST_CFLAGS)
check_PROGRAMS += tests/unit/test_gcm
tests_unit_test_gcm_SOURCES = tests/unit/test_gcm.c
tests_unit_test_gcm_LDADD = $(TEST_LDADD)
tests_unit_test_gcm_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_erasure
tests_unit_test_erasure_SOURCES = tests/unit/test_erasure.c
tests_unit_test_erasure_LDADD = $(TEST_LDADD)
tests_unit_test_erasure_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_shard
tests_unit_test_shard_SOURCES = tests/unit/test_shard.c
tests_unit_test_shard_LDADD = $(TEST_LDADD)
tests_unit_test_shard_CFLAGS = $(TEST_CFLAGS)
check_PROGRAMS += tests/unit/test_pack
tests_unit_test_pack_SOURCES = tests/unit/test_pack.c
tests_unit_test_pack_LDADD = $(TEST_LDADD)
tests_unit_test_pack_CFLAGS = $(TEST_CFLAGS)

# the index: schema versions and migrations, from the v0.1.0 fixture's index
check_PROGRAMS += tests/unit/test_index
tests_unit_test_index_SOURCES = tests/unit/test_index.c
tests_unit_test_index_LDADD = $(TEST_LDADD)
tests_unit_test_index_CFLAGS = $(TEST_CFLAGS)

# engine tests share helpers to open engines and stream test data
noinst_LIBRARIES += tests/unit/libengutil.a
tests_unit_libengutil_a_SOURCES = tests/unit/engine_util.c tests/unit/engine_util.h
tests_unit_libengutil_a_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_packed
tests_unit_test_packed_SOURCES = tests/unit/test_packed.c
tests_unit_test_packed_LDADD = tests/unit/libengutil.a $(TEST_LDADD)
tests_unit_test_packed_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_engine
tests_unit_test_engine_SOURCES = tests/unit/test_engine.c
tests_unit_test_engine_LDADD = tests/unit/libengutil.a $(TEST_LDADD)
tests_unit_test_engine_CFLAGS = $(TEST_CFLAGS)

# versions, object lock, the overwrite rule of key permissions
check_PROGRAMS += tests/unit/test_versions
tests_unit_test_versions_SOURCES = tests/unit/test_versions.c
tests_unit_test_versions_LDADD = tests/unit/libengutil.a $(TEST_LDADD)
tests_unit_test_versions_CFLAGS = $(TEST_CFLAGS)

# the journal: record versions, hostile files, a key's state records
check_PROGRAMS += tests/unit/test_journal
tests_unit_test_journal_SOURCES = tests/unit/test_journal.c
tests_unit_test_journal_LDADD = tests/unit/libengutil.a $(TEST_LDADD)
tests_unit_test_journal_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_recovery
tests_unit_test_recovery_SOURCES = tests/unit/test_recovery.c
tests_unit_test_recovery_LDADD = tests/unit/libengutil.a $(TEST_LDADD)
tests_unit_test_recovery_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_scrub
tests_unit_test_scrub_SOURCES = tests/unit/test_scrub.c
tests_unit_test_scrub_LDADD = tests/unit/libengutil.a $(TEST_LDADD)
tests_unit_test_scrub_CFLAGS = $(TEST_CFLAGS)
# lifecycle.h: tiers, the tiered state machine, tags, configurations
check_PROGRAMS += tests/unit/test_tiering
tests_unit_test_tiering_SOURCES = tests/unit/test_tiering.c
tests_unit_test_tiering_LDADD = tests/unit/libengutil.a $(TEST_LDADD)
tests_unit_test_tiering_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_crash
tests_unit_test_crash_SOURCES = tests/unit/test_crash.c
tests_unit_test_crash_LDADD = tests/unit/libengutil.a $(TEST_LDADD)
tests_unit_test_crash_CFLAGS = $(TEST_CFLAGS)
TESTS += tests/unit/crash_packed.sh
EXTRA_DIST += tests/unit/crash_packed.sh

# auth/: SigV4, SigV2, aws-chunked; vectors under tests/unit/data/
noinst_LIBRARIES += tests/unit/libvectors.a
tests_unit_libvectors_a_SOURCES = tests/unit/vectors.c tests/unit/vectors.h

check_PROGRAMS += tests/unit/test_sigv4
tests_unit_test_sigv4_SOURCES = tests/unit/test_sigv4.c
tests_unit_test_sigv4_LDADD = tests/unit/libvectors.a $(TEST_LDADD)
tests_unit_test_sigv4_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_sigv2
tests_unit_test_sigv2_SOURCES = tests/unit/test_sigv2.c
tests_unit_test_sigv2_LDADD = tests/unit/libvectors.a $(TEST_LDADD)
tests_unit_test_sigv2_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_chunked
tests_unit_test_chunked_SOURCES = tests/unit/test_chunked.c
tests_unit_test_chunked_LDADD = tests/unit/libvectors.a $(TEST_LDADD)
tests_unit_test_chunked_CFLAGS = $(TEST_CFLAGS)

EXTRA_DIST += tests/unit/data/botocore-gen.py tests/unit/data/sigv4 \
	tests/unit/data/sigv2 tests/unit/data/chunked

# server/libcofferd.a: configuration, credential files, access log, admin API.
check_PROGRAMS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_LDADD = server/libcofferd.a $(TEST_LDADD)
tests_unit_test_config_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_sched
tests_unit_test_sched_SOURCES = tests/unit/test_sched.c
tests_unit_test_sched_LDADD = server/libcofferd.a $(TEST_LDADD)
tests_unit_test_sched_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_accesslog
tests_unit_test_accesslog_SOURCES = tests/unit/test_accesslog.c
tests_unit_test_accesslog_LDADD = server/libcofferd.a $(TEST_LDADD)
tests_unit_test_accesslog_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_admin
tests_unit_test_admin_SOURCES = tests/unit/test_admin.c
# (the jobs' table holds the lifecycle job, in libs3front.a)
tests_unit_test_admin_LDADD = server/libcofferd.a tests/unit/libtest.a $(S3FRONT_LDADD)
tests_unit_test_admin_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_jobs
tests_unit_test_jobs_SOURCES = tests/unit/test_jobs.c
tests_unit_test_jobs_LDADD = server/libcofferd.a tests/unit/libengutil.a \
	tests/unit/libtest.a $(S3FRONT_LDADD)
tests_unit_test_jobs_CFLAGS = $(TEST_CFLAGS)

# cli/coffer end to end against a scripted endpoint (runs the built binary)
# cli/progress: the one progress line of the long commands
check_PROGRAMS += tests/unit/test_progress
tests_unit_test_progress_SOURCES = tests/unit/test_progress.c cli/progress.c
tests_unit_test_progress_LDADD = $(TEST_LDADD)
tests_unit_test_progress_CFLAGS = $(TEST_CFLAGS)

check_PROGRAMS += tests/unit/test_cli
tests_unit_test_cli_SOURCES = tests/unit/test_cli.c
tests_unit_test_cli_LDADD = $(TEST_LDADD)
tests_unit_test_cli_CFLAGS = $(TEST_CFLAGS)
EXTRA_tests_unit_test_cli_DEPENDENCIES = cli/coffer

# Integration: a real cofferd (started by tests/integration/lib.sh) and
# real clients; the drivers find the binary through COFFERD.
TESTS += tests/integration/run-pytest.sh tests/integration/drain.sh \
	tests/integration/tls.sh tests/integration/limits.sh \
	tests/integration/conformance.sh
EXTRA_DIST += tests/integration/lib.sh tests/integration/run-pytest.sh \
	tests/integration/conftest.py tests/integration/test_s3_protocol.py \
	tests/integration/test_tenants.py tests/integration/test_maintenance.py \
	tests/integration/test_quota.py \
	tests/integration/test_permissions.py tests/integration/test_versioning.py \
	tests/integration/test_object_lock.py \
	tests/integration/test_hostile.py tests/integration/test_limits.py \
	tests/integration/test_lifecycle.py \
	tests/integration/test_metrics.py tests/integration/test_health.py \
	tests/integration/drain.sh tests/integration/drain_client.py \
	tests/integration/tls.sh tests/integration/tls_client.py \
	tests/integration/limits.sh tests/integration/limits_client.py \
	tests/integration/conformance.sh tests/integration/conformance_client.py \
	tests/integration/ssec_memory.py

# Which tests the ASan+UBSan build (--enable-sanitizers, contrib/test.sh's
# build-asan/) runs. The normal build runs every test: it is the shipped
# binary, and client behaviour is checked there, at full data sizes. The
# sanitizer run is there to catch memory errors and undefined behaviour,
# and it can only catch them in code a test executes under it. So it runs
# every test except those added to TESTS under `if !SANITIZERS`, and a test
# may go there only if every line of cofferd, coffer and the bench tools it
# executes is also executed by a test the sanitizer build still runs
# (contrib/sancov.sh measures it: a gcov build, one coverage set per test,
# COFFER_SANITIZED=1 so that the sizes are the sanitizer run's). A test
# that is the only one to reach some code stays in both builds (the
# console, the tier tests, ...), or that code is given a cheap test that
# runs in both (bench-tree, coffer-bench --range and coffer heal --all were
# only reached by bench_suite_smoke.sh: see bench_smoke.sh, loadgen.sh,
# test_disk_faults.sh). Measured 2026-12-07: the client tests below and
# bench_suite_smoke.sh reach no line the others do not (s3cmd's SigV2
# lines are test_sigv2's too); test_restic_appendonly.sh and
# test_awscli_lock.sh reach nothing new either but stay, being cheap, so
# that restic and both aws clis still run against a sanitized cofferd.
# Run contrib/sancov.sh again before moving another test under
# `if !SANITIZERS`.
EXTRA_DIST += contrib/sancov.sh

# Real clients (restic, rclone, aws cli v1 and v2, s3cmd) over HTTP and
# HTTPS; under sanitizers (COFFER_SANITIZED=1) they move smaller data.
# Longest first: make -j2 check runs two at a time. Versioning and object
# lock through both aws cli versions: test_awscli_lock.sh (~20 s per cli).
IT_CLIENT_TESTS = tests/integration/test_awscli_https.sh tests/integration/test_awscli.sh \
	tests/integration/test_bigobject.sh tests/integration/test_restic.sh \
	tests/integration/test_tier_restic_azure.sh tests/integration/test_rclone.sh \
	tests/integration/test_tier_restic.sh tests/integration/test_readme.sh \
	tests/integration/test_s3cmd.sh
IT_CLIENT_TESTS_ALL_BUILDS = tests/integration/test_awscli_lock.sh \
	tests/integration/test_restic_appendonly.sh
if !SANITIZERS
TESTS += $(IT_CLIENT_TESTS)
endif
TESTS += $(IT_CLIENT_TESTS_ALL_BUILDS)
EXTRA_DIST += $(IT_CLIENT_TESTS) $(IT_CLIENT_TESTS_ALL_BUILDS)

# Where python3 on PATH is a pyenv shim (a bash script that resolves the
# version and execs it: ~0.1 s of CPU per call, and the tests make
# thousands of python3 and aws calls), the tests get the directory the shim
# would exec from first on PATH: the same python3 and aws cli v1, without
# the shim (what `pyenv exec` itself does).
AM_TESTS_ENVIRONMENT = COFFERD=$(abs_top_builddir)/server/cofferd; export COFFERD; \
	case '$(SAN_CFLAGS)' in *sanitize*) COFFER_SANITIZED=1;; \
	  *) COFFER_SANITIZED=$${COFFER_SANITIZED:-0};; esac; \
	export COFFER_SANITIZED; \
	case $$(command -v python3) in */shims/python3) \
	  coffer_py=$$(pyenv which python3 2>/dev/null) && PATH=$${coffer_py%/*}:$$PATH;; esac; \
	export PATH;

# server/libs3front.a: routing and XML of the S3 front end, the metrics
# registry.
check_PROGRAMS += tests/unit/test_router tests/unit/test_xml tests/unit/test_s3err \
	tests/unit/test_pool tests/unit/test_range tests/unit/test_lcxml tests/unit/test_metrics
tests_unit_test_lcxml_SOURCES = tests/unit/test_lcxml.c
tests_unit_test_lcxml_LDADD = tests/unit/libtest.a $(S3FRONT_LDADD)
tests_unit_test_lcxml_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_LDADD = tests/unit/libtest.a $(S3FRONT_LDADD)
tests_unit_test_metrics_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_router_SOURCES = tests/unit/test_router.c
tests_unit_test_router_LDADD = tests/unit/libtest.a $(ROUTER_LDADD)
tests_unit_test_router_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_xml_SOURCES = tests/unit/test_xml.c
tests_unit_test_xml_LDADD = tests/unit/libtest.a $(S3FRONT_LDADD)
tests_unit_test_xml_CFLAGS = $(TEST_CFLAGS) $(MHD_CFLAGS)
tests_unit_test_s3err_SOURCES = tests/unit/test_s3err.c
tests_unit_test_s3err_LDADD = tests/unit/libtest.a $(S3FRONT_LDADD)
tests_unit_test_s3err_CFLAGS = $(TEST_CFLAGS) $(MHD_CFLAGS)
tests_unit_test_range_SOURCES = tests/unit/test_range.c
tests_unit_test_range_LDADD = tests/unit/libtest.a $(S3FRONT_LDADD)
tests_unit_test_range_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_pool_SOURCES = tests/unit/test_pool.c
tests_unit_test_pool_LDADD = tests/unit/libtest.a $(S3FRONT_LDADD)
tests_unit_test_pool_CFLAGS = $(TEST_CFLAGS)

# the benchmark tools' histogram and generator
check_PROGRAMS += tests/unit/test_bench
tests_unit_test_bench_SOURCES = tests/unit/test_bench.c
tests_unit_test_bench_LDADD = contrib/bench/libbench.a $(TEST_LDADD)
tests_unit_test_bench_CFLAGS = $(TEST_CFLAGS)

# the engine benchmark, tiny, so that it keeps building and running
TESTS += tests/bench_smoke.sh
EXTRA_DIST += tests/bench_smoke.sh

# coffer-bench and mhd-ceiling against a real cofferd
TESTS += tests/integration/loadgen.sh
EXTRA_DIST += tests/integration/loadgen.sh

# make bench's whole suite at tiny sizes, with a second cofferd as its peer
# (make bench-smoke), so that the suite keeps running end to end; make bench
# runs in a normal build, and so does this (not under sanitizers: above)
if !SANITIZERS
TESTS += tests/bench_suite_smoke.sh
endif
EXTRA_DIST += tests/bench_suite_smoke.sh

# a missing or wrong index is refused, restore-index brings the set back,
# GC holds a burst of orphans, snapshots keep their generations (issue 8)
TESTS += tests/integration/test_index_loss.sh tests/integration/test_disk_replace.sh \
	tests/integration/test_disk_faults.sh
EXTRA_DIST += tests/integration/test_index_loss.sh tests/integration/test_disk_replace.sh \
	tests/integration/test_disk_faults.sh

# every index copy and snapshot lost: rebuild-index brings back every
# object, version, marker, upload and lock from the disks (issue 12.7)
TESTS += tests/integration/test_rebuild_index.sh
EXTRA_DIST += tests/integration/test_rebuild_index.sh tests/integration/rebuild_client.py

# kill -9 between PUTs and DELETEs, then rebuild-index: exactly the live
# set comes back, packed or not (issue 12.7, 14.1)
TESTS += tests/integration/test_rebuild_kill.sh
EXTRA_DIST += tests/integration/test_rebuild_kill.sh

# pack files under a real cofferd: PUT, GET, restart, scrub, delete, gc
TESTS += tests/integration/test_pack.sh
EXTRA_DIST += tests/integration/test_pack.sh

# data written by earlier releases opens and reads back (tests/fixtures/)
TESTS += tests/integration/test_fixture.sh
EXTRA_DIST += tests/integration/test_fixture.sh tests/fixtures/README.md \
	tests/fixtures/fixture_objects.py tests/fixtures/make_fixture.py \
	tests/fixtures/make-fixture.sh tests/fixtures/test_fixture.py \
	tests/fixtures/v0.1.0 tests/fixtures/journal-v3 \
	tests/fixtures/journal-v4

# the web console in a real headless Chromium (playwright-core from npm)
TESTS += tests/console/test_console.sh
EXTRA_DIST += tests/console/test_console.sh tests/console/console_test.mjs \
	tests/console/package.json tests/console/package-lock.json

# the systemd unit as installed: Type=notify readiness and stopping
TESTS += tests/integration/test_systemd.sh
EXTRA_DIST += tests/integration/test_systemd.sh tests/integration/systemd_notify.py

# client/: aws-chunked bodies against auth/'s verifier, the remote's XML
check_PROGRAMS += tests/unit/test_s3c
tests_unit_test_s3c_SOURCES = tests/unit/test_s3c.c
tests_unit_test_s3c_LDADD = tests/unit/libtest.a $(CLIENT_LIBS)
tests_unit_test_s3c_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)

# client/: the Azure Blob client's signatures (Microsoft's published
# vectors and data/azure-gen.py's), keys, tokens, checksums and XML;
# azure-vectors.sh has the Python implementation check itself against the
# published vectors and the committed ones
check_PROGRAMS += tests/unit/test_azb
tests_unit_test_azb_SOURCES = tests/unit/test_azb.c
tests_unit_test_azb_LDADD = tests/unit/libtest.a tests/unit/libvectors.a $(CLIENT_LIBS)
tests_unit_test_azb_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
TESTS += tests/unit/azure-vectors.sh
EXTRA_DIST += tests/unit/azure-vectors.sh tests/unit/data/azure-gen.py tests/unit/data/azure

# client/: the outgoing S3 client against a real cofferd, directly and
# through the fault-injecting proxy (faultproxy.py, reusable by other tests)
noinst_PROGRAMS += tests/integration/s3c-live
tests_integration_s3c_live_SOURCES = tests/integration/s3c_live.c \
	tests/integration/live.c tests/integration/live.h
tests_integration_s3c_live_LDADD = tests/unit/libtest.a $(CLIENT_LIBS) $(JANSSON_LIBS)
tests_integration_s3c_live_CFLAGS = $(TEST_CFLAGS)
TESTS += tests/integration/client.sh
EXTRA_DIST += tests/integration/client.sh tests/integration/faultproxy.py

# client/: the Azure Blob client against Azurite (tests/peers/), directly
# and through the fault proxy
noinst_PROGRAMS += tests/integration/azb-live
tests_integration_azb_live_SOURCES = tests/integration/azb_live.c \
	tests/integration/live.c tests/integration/live.h
tests_integration_azb_live_LDADD = tests/unit/libtest.a $(CLIENT_LIBS) $(JANSSON_LIBS)
tests_integration_azb_live_CFLAGS = $(TEST_CFLAGS)
TESTS += tests/integration/azure.sh
EXTRA_DIST += tests/integration/azure.sh

# the intended module picture (tests/layering.txt): includes and call cycles
TESTS += tests/layering.sh
EXTRA_DIST += tests/layering.sh tests/layering.py tests/layering.txt

# cold tiers against real remotes (a second cofferd, Ceph RGW) and under
# faults (faultproxy.py, a killed remote, SIGKILLs during transitions),
# the same against Azurite; coffer tier recover after the disks and the
# index are lost
TESTS += tests/integration/tier.sh tests/integration/tier_faults.sh \
	tests/integration/tier_faults_azure.sh tests/integration/tier_recover.sh \
	tests/integration/tier_recover_azure.sh
EXTRA_DIST += tests/integration/tier.sh tests/integration/tier_faults.sh \
	tests/integration/tier_recover.sh tests/integration/tier_recover_client.py \
	tests/integration/tier_recover_azure.sh \
	tests/integration/tierlib.sh tests/integration/tier_cases.py \
	tests/integration/tier_faults_cases.py tests/integration/tierutil.py \
	tests/integration/tier_faults_azure.sh
# the cofferd process class killloop.py and tier_faults_cases.py share
EXTRA_DIST += tests/integration/cofferd_proc.py

# progress lines and reports of coffer lifecycle run and coffer gc
# (issue 13.5), a second cofferd as the tier
TESTS += tests/integration/progress.sh
EXTRA_DIST += tests/integration/progress.sh

# kill -9 of cofferd under restic, rclone, multipart uploads and deletes
# (make check-faults runs CHECK_FAULTS_KILLS of them, make soak SOAK_KILLS;
# make check only skips it)
TESTS += tests/integration/test_killloop.sh
EXTRA_DIST += tests/integration/test_killloop.sh tests/integration/killloop.py
CHECK_FAULTS_KILLS = 100
SOAK_KILLS = 1000

# make soak: the long runs make check cannot afford (CI stays under its
# time budget): 500 SIGKILLs of cofferd during transitions (TIER_KILLS),
# SOAK_KILLS of cofferd under real clients (restic check --read-data
# every 10), the 1% bitrot sweep over 1,000 objects, 2,000 SIGKILLs of an
# engine writer (test_crash).
.PHONY: soak
soak: server/cofferd cli/coffer tests/unit/test_scrub tests/unit/test_crash
	cd $(builddir) && COFFERD=$(abs_top_builddir)/server/cofferd \
	  COFFER_CLI=$(abs_top_builddir)/cli/coffer KILL_ITERS=$(SOAK_KILLS) \
	  $(abs_top_srcdir)/tests/integration/test_killloop.sh
	cd $(builddir) && BITROT_OBJECTS=$${BITROT_OBJECTS:-1000} \
	  ./tests/unit/test_scrub one_percent_of_the_shard_files_rotted
	cd $(builddir) && CRASH_ITERS=$${CRASH_ITERS:-2000} ./tests/unit/test_crash
	cd $(builddir) && COFFERD=$(abs_top_builddir)/server/cofferd \
	  COFFER_CLI=$(abs_top_builddir)/cli/coffer TIER_KILLS=$${TIER_KILLS:-500} \
	  $(abs_top_srcdir)/tests/integration/tier_faults.sh -k sigkill

# every check program is a test (keep this last)
TESTS += $(check_PROGRAMS)

# make check-faults: the fault-injection tests, in a build configured with
# --enable-fault-injection (contrib/test.sh makes one in build-faults/); the
# ordinary builds run them too, where they skip.
FAULT_TESTS = tests/unit/test_fio tests/unit/test_faults tests/unit/test_gsync \
	tests/integration/test_killloop.sh
.PHONY: check-faults
check-faults:
if FAULTS
	KILL_ITERS=$(CHECK_FAULTS_KILLS) $(MAKE) $(AM_MAKEFLAGS) check TESTS="$(FAULT_TESTS)"
else
	@echo "check-faults: this build has no fault hook; configure it with" \
	  "--enable-fault-injection (contrib/test.sh does, in build-faults/)" >&2; exit 1
endif
