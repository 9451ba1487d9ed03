/*
 * storage/manifest.c - manifests of completed multipart objects (see
 * manifest.h).
 *
 * man_write reads the version's row and segments in one locked section,
 * builds the file once, and writes it to each disk as a shard file is
 * written: DISK/tmp/<id> (fsync), renamed into objects/XX/, that
 * directory fsynced. A disk that fails is skipped.
 */
#include "storage/manifest.h"
#include "common/le.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/checksum.h"
#include "common/hex.h"
#include "common/fio.h"
#include "common/fsutil.h"
#include "storage/engine_int.h"

#define MAN_MAX (64u << 20)

static json_t *hex_json(const void *p, size_t n)
{
    char *hex = malloc(2 * n + 1);
    if (!hex)
        return NULL;
    hex_encode(p, n, hex, 2 * n + 1);
    json_t *v = json_string(hex);
    free(hex);
    return v;
}

static json_t *seg_json(const obj_segment *sg)
{
    return json_pack("{s:o, s:I, s:I, s:o, s:o}", "data_id", hex_json(sg->data_id, 16),
                     "part", (json_int_t)sg->part, "size", (json_int_t)sg->size,
                     "wrapped", hex_json(sg->wrapped, CRYPT_WRAPPED_LEN),
                     "inline", sg->is_inline ? hex_json(sg->inline_data, sg->inline_len)
                                             : json_null());
}

static int add_segment(void *ctx, const obj_segment *sg, cf_err *err)
{
    json_t *j = seg_json(sg);
    if (!j || json_array_append_new(ctx, j) < 0)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    return 0;
}

/* The manifest's JSON from the index (under the lock). */
static json_t *describe(st_engine *e, const uint8_t vid[16], const uint8_t uid[16],
                        cf_err *err)
{
    obj_version v;
    idx_lock(e->ix);
    int found = obj_version_locked(e, vid, &v, err);
    json_t *segs = found == 1 ? json_array() : NULL;
    int rc = found == 1 ? (segs ? obj_segments_locked(e, vid, 0, -1, add_segment, segs, err)
                                : cf_fail(err, CF_ENOMEM, "out of memory"))
                        : found == 0 ? cf_fail(err, CF_ENOKEY, "manifest: the version is gone")
                                     : -1;
    idx_unlock(e->ix);
    json_t *doc = NULL;
    if (rc == 0) {
        const st_object_info *o = &v.info;
        doc = json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:s, s:I, s:i, s:s?, s:b, s:i, s:s?, "
                        "s:o}",
                        "tenant", v.tenant, "bucket", v.bucket,
                        "key", hex_json(o->key, strlen(o->key)),
                        "version_id", hex_json(vid, 16), "upload_id", hex_json(uid, 16),
                        "size", (json_int_t)o->size, "etag", o->etag,
                        "mtime_ms", (json_int_t)o->mtime_ms, "cks_algo", (int)o->checksum_algo,
                        "cks", o->checksum_algo != CKS_NONE ? o->checksum_b64 : NULL,
                        "cks_composite", o->checksum_composite, "nparts", o->nparts,
                        "headers", v.headers_json, "segments", segs);
        segs = NULL;
        if (!doc)
            cf_fail(err, CF_ENOMEM, "out of memory");
    }
    json_decref(segs);
    if (found == 1)
        free(v.headers_json);
    return doc;
}

static int write_one(const char *disk, const uint8_t vid[16], const uint8_t *buf,
                     size_t len, cf_err *err)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    shard_tmp_path(tmp, sizeof tmp, disk, vid);
    shard_path(dst, sizeof dst, disk, vid);
    int fd = fio_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "manifest %s", tmp);
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < len;) {
        ssize_t n = fio_write(fd, buf + off, len - off);
        if (n < 0 && errno != EINTR)
            rc = cf_fail_errno(err, CF_EIO, errno, "write %s", tmp);
        off += n > 0 ? (size_t)n : 0;
    }
    if (rc == 0 && fio_fdatasync(fd) != 0)
        rc = cf_fail_errno(err, CF_EIO, errno, "fdatasync %s", tmp);
    fio_close(fd);
    if (rc == 0 && fio_rename(tmp, dst) != 0)
        rc = cf_fail_errno(err, CF_EIO, errno, "rename %s", dst);
    if (rc == 0)
        rc = fsu_fsync_parent(dst, err);
    if (rc < 0)
        fio_unlink(tmp);
    return rc;
}

int man_write(st_engine *e, const uint8_t vid[16], const uint8_t uid[16], int only_disk,
              int *copies, cf_err *err)
{
    *copies = 0;
    json_t *doc = describe(e, vid, uid, err);
    if (!doc)
        return -1;
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    size_t tl = text ? strlen(text) : 0;
    uint8_t *buf = text ? malloc(MAN_MAGIC_LEN + 8 + tl) : NULL;
    if (!buf) {
        free(text);
        return cf_fail(err, CF_ENOMEM, "out of memory");
    }
    memcpy(buf, MAN_MAGIC, MAN_MAGIC_LEN);
    uint32_t crc = cks_crc32c(0, text, tl);
    le_put(buf + MAN_MAGIC_LEN, tl, 4);
    le_put(buf + MAN_MAGIC_LEN + 4, crc, 4);
    memcpy(buf + MAN_MAGIC_LEN + 8, text, tl);
    free(text);
    cf_err last;
    cf_err_clear(&last);
    for (int i = 0; i < e->set.n; i++)
        if (e->set.disks[i].online && (only_disk < 0 || only_disk == i) &&
            write_one(e->set.disks[i].path, vid, buf, MAN_MAGIC_LEN + 8 + tl, &last) == 0)
            (*copies)++;
    free(buf);
    if (*copies == 0) {
        *err = last.code ? last : (cf_err){CF_EQUORUM, "manifest: no disk is online"};
        return -1;
    }
    return 0;
}

bool man_is(const uint8_t *head, size_t len)
{
    return len >= MAN_MAGIC_LEN && memcmp(head, MAN_MAGIC, MAN_MAGIC_LEN) == 0;
}

json_t *man_decode(const uint8_t *buf, size_t len, cf_err *err)
{
    if (len < MAN_MAGIC_LEN + 8 || !man_is(buf, len)) {
        cf_fail(err, CF_ECORRUPT, "not a manifest");
        return NULL;
    }
    uint32_t tl = (uint32_t)le_get(buf + MAN_MAGIC_LEN, 4);
    uint32_t crc = (uint32_t)le_get(buf + MAN_MAGIC_LEN + 4, 4);
    const uint8_t *text = buf + MAN_MAGIC_LEN + 8;
    if ((size_t)tl != len - MAN_MAGIC_LEN - 8 || cks_crc32c(0, text, tl) != crc) {
        cf_fail(err, CF_ECORRUPT, "manifest: damaged (length or CRC)");
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)text, tl, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc) || !json_is_array(json_object_get(doc, "segments"))) {
        json_decref(doc);
        cf_fail(err, CF_ECORRUPT, "manifest: malformed");
        return NULL;
    }
    return doc;
}

json_t *man_read(const char *path, cf_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cf_fail_errno(err, CF_EIO, errno, "%s", path);
        return NULL;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    uint8_t *buf = size > 0 && size <= MAN_MAX ? malloc((size_t)size) : NULL;
    json_t *doc = NULL;
    if (!buf)
        cf_fail(err, CF_ECORRUPT, "%s: not a manifest (size)", path);
    else if (fsu_pread_all(fd, buf, (size_t)size, 0) < 0)
        cf_fail_errno(err, CF_EIO, errno, "read %s", path);
    else
        doc = man_decode(buf, (size_t)size, err);
    free(buf);
    close(fd);
    return doc;
}
