#!/bin/sh
# tests/bench_smoke.sh - keeps `make bench-engine` from rotting: run the
# engine benchmark on a tiny object and a few small ones, and check that it
# succeeds, prints every figure and cleans up after itself. The figures are
# not judged: at this size they are noise. Then bench-tree, the tree
# generator of make bench's restic and rclone runs, on a small tree.
set -eu
dir=$(mktemp -d "$PWD/bench-smoke.XXXXXX")
trap 'rm -rf "$dir"' EXIT
out=$(BENCH_DIR=$dir BENCH_SIZE_MIB=8 BENCH_SMALL_OPS=10 BENCH_SMALL_SECONDS=1 \
      BENCH_FSYNC_SECONDS=1 BENCH_MID_SECONDS=1 ./contrib/bench/bench-engine)
for name in put_pipeline_mib_s get_pipeline_mib_s disk_write_mib_s \
            put_pipeline_all_cores_mib_s put_limit_all_cores_mib_s fsync_ops \
            disk_write_volume_mib fsync_group_ops mid_put_limit_ops mid_put_limit_mib_s \
            mid_put_pack_limit_ops mid_put_pack_limit_mib_s mid_put_pack_limit_record_bytes \
            engine_put_ratio engine_get_ratio engine_degraded_get_ratio \
            engine_put_cpu_s_per_gib engine_get_cpu_s_per_gib engine_peak_rss_mib \
            engine_small_put_ops engine_small_get_ops \
            engine_small_put_ops_sharded engine_small_get_ops_sharded; do
    printf '%s\n' "$out" | grep -Eq "^$name: [0-9]+\.[0-9]+" || {
        printf 'bench_smoke: no figure "%s" in:\n%s\n' "$name" "$out" >&2
        exit 1
    }
done
# BENCH_LIMITS_ONLY=1 (make bench's way in): the limits, none of the engine's figures
out=$(BENCH_LIMITS_ONLY=1 BENCH_DIR=$dir BENCH_SIZE_MIB=8 BENCH_REPEAT=1 \
      BENCH_FSYNC_SECONDS=1 BENCH_MID_SECONDS=1 BENCH_DISK_OBJECTS=3 ./contrib/bench/bench-engine)
printf '%s\n' "$out" | grep -Eq '^fsync_ops: [0-9]+\.[0-9]+' &&
  printf '%s\n' "$out" | grep -Eq '^disk_write_objects: 3\.00' &&
  printf '%s\n' "$out" | grep -Eq '^mid_put_limit_ops: [0-9]+\.[0-9]+' &&
  printf '%s\n' "$out" | grep -Eq '^mid_put_pack_limit_ops: [0-9]+\.[0-9]+' &&
  printf '%s\n' "$out" | grep -Eq '^mid_put_pack_limit_record_bytes: 69732\.00' &&
  ! printf '%s\n' "$out" | grep -q '^engine_' || {
    printf 'bench_smoke: BENCH_LIMITS_ONLY=1 gave:\n%s\n' "$out" >&2
    exit 1
}
rmdir "$dir" || { echo "bench_smoke: bench-engine left files in $dir" >&2; exit 1; }
# bench-tree, make bench's restic/rclone tree: NFILES files of exactly BYTES
# in all, the same tree again for the same seed
mkdir "$dir"
./contrib/bench/bench-tree "$dir/a" 200 3000000 5
./contrib/bench/bench-tree "$dir/b" 200 3000000 5
set -- $(find "$dir/a" -type f -printf '%s\n' | awk '{n++; s += $1} END {print n, s}')
[ "$1 $2" = "200 3000000" ] && diff -r "$dir/a" "$dir/b" >/dev/null || {
    echo "bench_smoke: bench-tree 200 3000000 gave $1 files, $2 bytes (or not the same twice)" >&2
    exit 1
}
