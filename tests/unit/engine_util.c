/* tests/unit/engine_util.c - see engine_util.h. */
#include "tests/unit/engine_util.h"

#include <dirent.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fixture_init(eng_fixture *f, const char *root, int ndisks, int k, int m)
{
    memset(f, 0, sizeof *f);
    snprintf(f->root, sizeof f->root, "%s", root);
    for (int i = 0; i < ndisks; i++) {
        snprintf(f->disks[i], sizeof f->disks[i], "%s/d%d", root, i);
        f->cfg.disks[i] = f->disks[i];
    }
    snprintf(f->meta, sizeof f->meta, "%s/meta", root);
    snprintf(f->keyfile, sizeof f->keyfile, "%s/master.key", root);
    f->cfg.ndisks = ndisks;
    f->cfg.k = k;
    f->cfg.m = m;
    f->cfg.meta_dir = f->meta;
    f->cfg.master_key_file = f->keyfile;
    f->cfg.create_master_key = true;
    const char *pack = getenv("COFFER_TEST_PACK_SHARD_MAX");
    if (pack)
        f->cfg.pack_shard_max = (uint32_t)strtoul(pack, NULL, 10);
    f->cfg.buffered_io = getenv("COFFER_TEST_BUFFERED_IO") != NULL;
}

st_engine *fixture_open(eng_fixture *f)
{
    st_engine *e = NULL;
    cf_err err;
    if (st_open(&f->cfg, &e, &err) < 0) {
        fprintf(stderr, "st_open: %s\n", err.msg);
        return NULL;
    }
    return e;
}

st_engine *fixture_setup(eng_fixture *f, const char *root, int ndisks, int k, int m,
                         bool no_inline)
{
    fixture_init(f, root, ndisks, k, m);
    f->cfg.no_inline = no_inline;
    st_engine *e = fixture_open(f);
    cf_err err;
    if (e && (st_tenant_create(e, "t1", &err) < 0 ||
              st_bucket_create(e, "t1", "b", NULL, false, &err) < 0)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        st_close(e);
        return NULL;
    }
    return e;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

void gen_bytes(uint64_t seed, uint64_t off, uint8_t *buf, size_t n)
{
    uint64_t s = mix(seed);
    while (n > 0) {
        uint64_t word = mix(s ^ (off >> 3));
        size_t at = off & 7, take = 8 - at;
        if (take > n)
            take = n;
        memcpy(buf, (uint8_t *)&word + at, take);
        buf += take;
        off += take;
        n -= take;
    }
}

#define CHUNK (300u * 1024 + 7)

static int put_stream(st_engine *e, const st_put_args *a, uint64_t size, uint64_t seed,
                      st_object_info *info, cf_err *err)
{
    st_put *p;
    if (st_put_begin(e, a, &p, err) < 0)
        return -1;
    uint8_t *buf = malloc(CHUNK);
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        gen_bytes(seed, off, buf, n);
        if (st_put_write(p, buf, n, err) < 0) {
            free(buf);
            st_put_abort(p);
            return -1;
        }
        off += n;
    }
    free(buf);
    return st_put_finish(p, NULL, info, err);
}

int put_gen(st_engine *e, const char *bucket, const char *key, uint64_t size,
            uint64_t seed, st_object_info *info, cf_err *err)
{
    st_put_args a = {.tenant = "t1", .bucket = bucket, .key = key,
                     .expected_size = (int64_t)size};
    st_object_info local;
    int rc = put_stream(e, &a, size, seed, info ? info : &local, err);
    st_object_info_clear(info ? info : &local);
    return rc;
}

int put_gen_args(st_engine *e, const st_put_args *a, uint64_t seed, st_object_info *info,
                 cf_err *err)
{
    st_object_info local;
    int rc = put_stream(e, a, (uint64_t)a->expected_size, seed, info ? info : &local, err);
    st_object_info_clear(info ? info : &local);
    return rc;
}

int put_part_gen(st_engine *e, const char *bucket, const char *key, const char *upload_id,
                 uint32_t part, uint64_t size, uint64_t seed, char etag[ST_ETAG_MAX],
                 cf_err *err)
{
    st_put_args a = {.tenant = "t1", .bucket = bucket, .key = key, .upload_id = upload_id,
                     .part_number = part, .expected_size = (int64_t)size};
    st_object_info info;
    int rc = put_stream(e, &a, size, seed, &info, err);
    if (rc == 0)
        snprintf(etag, ST_ETAG_MAX, "%s", info.etag);
    st_object_info_clear(&info);
    return rc;
}

int check_range_by(st_engine *e, const char *bucket, const char *key, uint64_t seed,
                   uint64_t off, uint64_t len, size_t read_len, cf_err *err)
{
    st_object_info info;
    st_get *g;
    if (st_get_open(e, "t1", bucket, key, &info, &g, err) < 0)
        return -1;
    st_object_info_clear(&info);
    uint8_t *got = malloc(read_len), *want = malloc(read_len);
    int rc = 1;
    while (len > 0 && rc == 1) {
        size_t n = len < read_len ? (size_t)len : read_len, got_n = 0;
        if (st_get_read(g, off, got, n, &got_n, err) < 0) {
            rc = -1;
            break;
        }
        gen_bytes(seed, off, want, got_n);
        if (got_n != n || memcmp(got, want, n) != 0)
            rc = 0;
        off += n;
        len -= n;
    }
    free(got);
    free(want);
    st_get_close(g);
    return rc;
}

int check_range(st_engine *e, const char *bucket, const char *key, uint64_t seed,
                uint64_t off, uint64_t len, cf_err *err)
{
    return check_range_by(e, bucket, key, seed, off, len, CHUNK, err);
}

int check_gen(st_engine *e, const char *bucket, const char *key, uint64_t size,
              uint64_t seed, cf_err *err)
{
    st_object_info info;
    if (st_head(e, "t1", bucket, key, &info, err) < 0)
        return -1;
    st_object_info_clear(&info);
    if (info.size != size)
        return 0;
    return check_range(e, bucket, key, seed, 0, size, err);
}

int shard_files_of(const eng_fixture *f, int ndisks, const char *hexid,
                   char paths[][700])
{
    for (int i = 0; i < ndisks; i++)
        snprintf(paths[i], 700, "%s/objects/%.2s/%s", f->disks[i], hexid, hexid);
    return ndisks;
}

static int scan_objects(const eng_fixture *f, int disk, char hex[33])
{
    int count = 0;
    for (int x = 0; x < 256; x++) {
        char dir[700];
        snprintf(dir, sizeof dir, "%s/objects/%02x", f->disks[disk], x);
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            if (hex)
                snprintf(hex, 33, "%.32s", de->d_name);
            count++;
        }
        if (d)
            closedir(d);
    }
    return count;
}

int single_data_id(const eng_fixture *f, char hex[33])
{
    return scan_objects(f, 0, hex) == 1 ? 0 : -1;
}

/* Entries of DISK/sub (not dot files); with bytes, their sizes added. */
static int count_dir(const char *disk, const char *sub, uint64_t *bytes)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/%s", disk, sub);
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)) != NULL) {
        char path[1000];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        n++;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (bytes && stat(path, &st) == 0)
            *bytes += (uint64_t)st.st_size;
    }
    if (d)
        closedir(d);
    return n;
}

int count_shard_files(const eng_fixture *f, int ndisks)
{
    int n = 0;
    for (int i = 0; i < ndisks; i++)
        n += scan_objects(f, i, NULL) + count_dir(f->disks[i], "tmp", NULL);
    return n;
}

int count_pack_files(const eng_fixture *f, int ndisks)
{
    int n = 0;
    for (int i = 0; i < ndisks; i++)
        n += count_dir(f->disks[i], "packs", NULL);
    return n;
}

uint64_t disk_file_bytes(const eng_fixture *f, int ndisks)
{
    uint64_t bytes = 0;
    for (int i = 0; i < ndisks; i++) {
        count_dir(f->disks[i], "tmp", &bytes);
        count_dir(f->disks[i], "packs", &bytes);
        for (int x = 0; x < 256; x++) {
            char sub[16];
            snprintf(sub, sizeof sub, "objects/%02x", x);
            count_dir(f->disks[i], sub, &bytes);
        }
    }
    return bytes;
}

/* Open f's index read-only and sum value(row, arg) over the rows of sql;
 * -1 if the index cannot be read. */
static int index_sum(const eng_fixture *f, const char *sql,
                     int (*value)(sqlite3_stmt *row, int arg), int arg)
{
    char path[700];
    snprintf(path, sizeof path, "%s/index.db", f->meta);
    sqlite3 *db;
    sqlite3_stmt *st;
    int total = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        total = 0;
        while (sqlite3_step(st) == SQLITE_ROW)
            total += value(st, arg);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return total;
}

/* A segment's shard files: shards less the missing and the packed ones. */
static int files_of_row(sqlite3_stmt *row, int shards)
{
    return shards - __builtin_popcount((unsigned)sqlite3_column_int(row, 0)) -
           sqlite3_column_int(row, 1);
}

static int first_column(sqlite3_stmt *row, int arg)
{
    (void)arg;
    return sqlite3_column_int(row, 0);
}

/* Files the index refers to: (k + m - missing) per sharded segment, and a
 * manifest on every disk per multipart object. */
int expected_shard_files(const eng_fixture *f, int shards)
{
    return index_sum(f,
        "SELECT missing, (SELECT count(*) FROM pack_shards p WHERE p.data_id = s.data_id)"
        " FROM segments s WHERE inline_data IS NULL UNION ALL "
        "SELECT missing, (SELECT count(*) FROM pack_shards p WHERE p.data_id = u.data_id)"
        " FROM parts u WHERE inline_data IS NULL UNION ALL "
        "SELECT 0, 0 FROM objects WHERE nparts > 0", files_of_row, shards);
}

int expected_pack_files(const eng_fixture *f)
{
    return index_sum(f, "SELECT count(DISTINCT pack_id) FROM pack_shards", first_column, 0);
}

static int add_listed(void *ctx, const st_object_info *obj, const char *prefix)
{
    uint64_t *v = ctx;
    if (obj && !obj->delete_marker) {
        v[0]++;
        v[1] += obj->size;
    }
    return 0;
}

int list_totals(st_engine *e, const char *bucket, uint64_t *objects, uint64_t *bytes,
                cf_err *err)
{
    uint64_t v[2] = {0, 0};
    st_list_args a = {.tenant = "t1", .bucket = bucket, .max_keys = 1000};
    bool trunc;
    char next[ST_MAX_KEY + 1], next_version[ST_ID_HEX];
    if (st_list_versions(e, &a, NULL, add_listed, v, &trunc, next, next_version, err) < 0)
        return -1;
    *objects = v[0];
    *bytes = v[1];
    return 0;
}

void write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) < 0)
        perror(path);
    if (fd >= 0)
        close(fd);
}
