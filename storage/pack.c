/*
 * storage/pack.c - pack files (see pack.h): create, open with a torn
 * tail cut, append under the writer's lock, group-committed fdatasync,
 * and the scan that verifies every record (rebuild-index, open).
 *
 * Writes go through common/fio.h, so the fault-injection and power-loss
 * tests see them as they see shard files. The group commit is
 * storage/gsync.h's, with the pack's end offset as the ticket: pack_commit
 * returns at once if its bytes are already durable; otherwise, if no
 * thread is syncing it becomes the syncer for everything written so far
 * (the end at that moment) and drops the lock for the fdatasync, so
 * appends and other committers queue behind one sync instead of each
 * making one. After a failed fdatasync the pack refuses every append and
 * every commit, even of bytes an earlier fdatasync covered.
 */
#include "storage/pack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/checksum.h"
#include "common/fio.h"
#include "common/fsutil.h"
#include "common/hex.h"
#include "common/le.h"
#include "storage/crypto.h"

static const char pack_magic[8] = {'C', 'O', 'F', 'P', 'A', 'C', 'K', '1'};
static const char rec_magic[4] = {'C', 'F', 'P', 'R'};

#define SCAN_CHUNK (64u * 1024u)

void pack_path(char *out, size_t outsz, const char *disk, const uint8_t id[PACK_ID_LEN])
{
    char hex[2 * PACK_ID_LEN + 1];
    hex_encode(id, PACK_ID_LEN, hex, sizeof hex);
    snprintf(out, outsz, "%s/packs/%s.pack", disk, hex);
}

bool pack_name_to_id(const char *name, uint8_t id[PACK_ID_LEN])
{
    size_t len = 0;
    if (strlen(name) != 2 * PACK_ID_LEN + 5 || strcmp(name + 2 * PACK_ID_LEN, ".pack") != 0)
        return false;
    char hex[2 * PACK_ID_LEN + 1];
    memcpy(hex, name, 2 * PACK_ID_LEN);
    hex[2 * PACK_ID_LEN] = 0;
    return hex_decode(hex, id, PACK_ID_LEN, &len) == 0 && len == PACK_ID_LEN;
}

static void file_header_encode(const uint8_t id[PACK_ID_LEN], uint8_t out[PACK_FILE_HEADER])
{
    memset(out, 0, PACK_FILE_HEADER);
    memcpy(out, pack_magic, sizeof pack_magic);
    le_put(out + 8, PACK_FORMAT_VERSION, 4);
    memcpy(out + 12, id, PACK_ID_LEN);
    le_put(out + 60, cks_crc32c(0, out, 60), 4);
}

/* The magic's first seven bytes and a good CRC make it a pack; then a
 * version (or last magic character) we do not know is a newer format. */
static int file_header_decode(const char *path, const uint8_t in[PACK_FILE_HEADER],
                              uint8_t id[PACK_ID_LEN], cf_err *err)
{
    if (memcmp(in, pack_magic, 7) != 0 ||
        (uint32_t)le_get(in + 60, 4) != cks_crc32c(0, in, 60))
        return cf_fail(err, CF_ECORRUPT, "%s: not a pack file", path);
    if (in[7] != pack_magic[7] || le_get(in + 8, 4) != PACK_FORMAT_VERSION)
        return cf_fail(err, CF_ECONFIG, "%s: pack format version %u is newer than this "
                       "cofferd's %u", path, (unsigned)le_get(in + 8, 4), PACK_FORMAT_VERSION);
    memcpy(id, in + 12, PACK_ID_LEN);
    return 0;
}

static void prefix_encode(uint64_t body_len, uint32_t body_crc, uint8_t out[PACK_REC_PREFIX])
{
    memset(out, 0, PACK_REC_PREFIX);
    memcpy(out, rec_magic, sizeof rec_magic);
    le_put(out + 8, body_len, 8);
    le_put(out + 16, body_crc, 4);
    le_put(out + 28, cks_crc32c(0, out, 28), 4);
}

static bool prefix_decode(const uint8_t in[PACK_REC_PREFIX], uint64_t *body_len,
                          uint32_t *body_crc)
{
    if (memcmp(in, rec_magic, sizeof rec_magic) != 0 || le_get(in + 4, 4) != 0 ||
        (uint32_t)le_get(in + 28, 4) != cks_crc32c(0, in, 28))
        return false;
    *body_len = le_get(in + 8, 8);
    *body_crc = (uint32_t)le_get(in + 16, 4);
    return true;
}

/* The group commit's sync: 0 or an errno (EIO if fdatasync set none). */
static int writer_sync(void *arg)
{
    pack_writer *w = arg;
    if (fio_fdatasync(w->fd) == 0)
        return 0;
    return errno ? errno : EIO;
}

static void writer_init(pack_writer *w, int fd, const char *path, uint64_t end)
{
    gsync_init(&w->gs, end, writer_sync, NULL, w);
    w->fd = fd;
    snprintf(w->path, sizeof w->path, "%s", path);
}

int pack_create(const char *disk, pack_writer *w, cf_err *err)
{
    char dir[PATH_MAX], path[PATH_MAX];
    uint8_t id[PACK_ID_LEN], hdr[PACK_FILE_HEADER];
    snprintf(dir, sizeof dir, "%s/packs", disk);
    if (fsu_mkdir_p(dir, err) < 0 || crypt_random(id, sizeof id, err) < 0)
        return -1;
    pack_path(path, sizeof path, disk, id);
    int fd = fio_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "%s", path);
    file_header_encode(id, hdr);
    ssize_t n = fio_pwrite(fd, hdr, sizeof hdr, 0);
    if (n != (ssize_t)sizeof hdr || fio_fdatasync(fd) != 0) {
        int e = n < 0 || n == (ssize_t)sizeof hdr ? errno : EIO;
        fio_close(fd);
        fio_unlink(path);
        return cf_fail_errno(err, e == ENOSPC ? CF_ENOSPC : CF_EIO, e, "%s", path);
    }
    if (fsu_fsync_dir(dir, err) < 0) {
        fio_close(fd);
        fio_unlink(path);
        return -1;
    }
    writer_init(w, fd, path, PACK_FILE_HEADER);
    memcpy(w->id, id, PACK_ID_LEN);
    return 0;
}

int pack_open(const char *path, pack_writer *w, cf_err *err)
{
    uint64_t valid_end = 0;
    if (pack_scan(path, NULL, NULL, &valid_end, err) < 0)
        return -1;
    int fd = fio_open(path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "%s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        fio_close(fd);
        return cf_fail_errno(err, CF_EIO, e, "%s", path);
    }
    if ((uint64_t)st.st_size > valid_end &&
        (fio_ftruncate(fd, (off_t)valid_end) != 0 || fio_fdatasync(fd) != 0)) {
        int e = errno;
        fio_close(fd);
        return cf_fail_errno(err, CF_EIO, e, "%s: cutting its torn tail", path);
    }
    uint8_t hdr[PACK_FILE_HEADER];
    int rc = fsu_pread_all(fd, hdr, sizeof hdr, 0);
    if (rc < 0 || file_header_decode(path, hdr, w->id, err) < 0) {
        fio_close(fd);
        return rc < 0 ? cf_fail_errno(err, CF_EIO, -rc, "%s", path) : -1;
    }
    writer_init(w, fd, path, valid_end);
    return 0;
}

void pack_close(pack_writer *w)
{
    if (w->fd >= 0)
        fio_close(w->fd);
    w->fd = -1;
    gsync_destroy(&w->gs);
}

int pack_append(pack_writer *w, const uint8_t hdr[SHARD_HEADER_SIZE], const void *body,
                size_t body_len, uint64_t *rec_off, uint64_t *rec_end, cf_err *err)
{
    struct iovec v = {(void *)body, body_len};
    return pack_appendv(w, hdr, &v, 1, rec_off, rec_end, err);
}

#define APPEND_IOV (2 + PACK_BODY_IOV)

int pack_appendv(pack_writer *w, const uint8_t hdr[SHARD_HEADER_SIZE],
                 const struct iovec *body, int nbody, uint64_t *rec_off, uint64_t *rec_end,
                 cf_err *err)
{
    if (nbody < 0 || nbody > PACK_BODY_IOV)
        return cf_fail(err, CF_EINTERNAL, "pack append: %d body pieces", nbody);
    uint8_t prefix[PACK_REC_PREFIX];
    uint32_t crc = 0;
    size_t body_len = 0;
    struct iovec iov[APPEND_IOV] = {{prefix, sizeof prefix}, {(void *)hdr, SHARD_HEADER_SIZE}};
    for (int i = 0; i < nbody; i++) {
        crc = cks_crc32c(crc, body[i].iov_base, body[i].iov_len);
        body_len += body[i].iov_len;
        iov[2 + i] = body[i];
    }
    int niov = 2 + nbody;
    prefix_encode(body_len, crc, prefix);
    size_t total = sizeof prefix + SHARD_HEADER_SIZE + body_len;
    gsync_lock(&w->gs);
    if (w->gs.err) {
        int e = w->gs.err;
        gsync_unlock(&w->gs);
        return cf_fail_errno(err, CF_EIO, e, "%s: an earlier sync failed", w->path);
    }
    uint64_t off = w->gs.written;
    size_t done = 0;
    while (done < total) {
        /* skip what is written of the pieces */
        struct iovec v[APPEND_IOV];
        int n = 0;
        size_t skip = done;
        for (int i = 0; i < niov; i++) {
            if (skip >= iov[i].iov_len) {
                skip -= iov[i].iov_len;
                continue;
            }
            v[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
            v[n].iov_len = iov[i].iov_len - skip;
            skip = 0;
            n++;
        }
        if (lseek(w->fd, (off_t)(off + done), SEEK_SET) < 0)
            goto fail;
        ssize_t k = fio_writev(w->fd, v, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            goto fail;
        done += (size_t)k;
    }
    w->gs.written = off + total;
    gsync_unlock(&w->gs);
    *rec_off = off;
    *rec_end = off + total;
    return 0;
fail:;
    int e = errno ? errno : EIO;
    /* what was written of this record lies past end: the next append
     * overwrites it, and a scan stops at it (its CRCs do not verify) */
    gsync_unlock(&w->gs);
    return cf_fail_errno(err, e == ENOSPC ? CF_ENOSPC : CF_EIO, e, "%s", w->path);
}

int pack_commit(pack_writer *w, uint64_t upto, cf_err *err)
{
    gsync_lock(&w->gs);
    int e = gsync_wait(&w->gs, upto);
    if (e == 0)
        e = w->gs.err;               /* refused even if covered: see the top */
    gsync_unlock(&w->gs);
    if (e)
        return cf_fail_errno(err, CF_EIO, e, "%s: fdatasync", w->path);
    return 0;
}

/* Read body_len bytes at off into a CRC; 0 if they verify. */
static int body_verifies(int fd, uint64_t off, uint64_t body_len, uint32_t want,
                         uint8_t *buf)
{
    uint32_t crc = 0;
    for (uint64_t done = 0; done < body_len;) {
        size_t n = body_len - done < SCAN_CHUNK ? (size_t)(body_len - done) : SCAN_CHUNK;
        if (fsu_pread_all(fd, buf, n, (off_t)(off + done)) < 0)
            return -1;
        crc = cks_crc32c(crc, buf, n);
        done += n;
    }
    return crc == want ? 0 : -1;
}

int pack_read_record(int fd, uint64_t off, uint64_t len, uint8_t hdr[SHARD_HEADER_SIZE],
                     uint8_t **body, size_t *body_len, cf_err *err)
{
    uint8_t prefix[PACK_REC_PREFIX];
    uint64_t blen = 0;
    uint32_t want = 0;
    shard_header h;
    *body = NULL;
    *body_len = 0;
    if (len < PACK_REC_PREFIX + SHARD_HEADER_SIZE || len - PACK_REC_PREFIX -
        SHARD_HEADER_SIZE > SIZE_MAX)
        return cf_fail(err, CF_ECORRUPT, "pack record at %llu: length %llu",
                       (unsigned long long)off, (unsigned long long)len);
    int rc = fsu_pread_all(fd, prefix, sizeof prefix, (off_t)off);
    if (rc == 0)
        rc = fsu_pread_all(fd, hdr, SHARD_HEADER_SIZE, (off_t)(off + PACK_REC_PREFIX));
    if (rc < 0 && rc != -ENODATA)
        return cf_fail_errno(err, CF_EIO, -rc, "pack record at %llu", (unsigned long long)off);
    if (rc < 0 || !prefix_decode(prefix, &blen, &want) ||
        blen != len - PACK_REC_PREFIX - SHARD_HEADER_SIZE ||
        shard_header_decode(hdr, &h, err) < 0)
        return cf_fail(err, CF_ECORRUPT, "pack record at %llu does not verify",
                       (unsigned long long)off);
    uint8_t *b = malloc(blen ? (size_t)blen : 1);
    if (!b)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    rc = fsu_pread_all(fd, b, (size_t)blen, (off_t)(off + PACK_REC_PREFIX + SHARD_HEADER_SIZE));
    if (rc < 0 || cks_crc32c(0, b, (size_t)blen) != want) {
        free(b);
        if (rc < 0 && rc != -ENODATA)
            return cf_fail_errno(err, CF_EIO, -rc, "pack record at %llu",
                                 (unsigned long long)off);
        return cf_fail(err, CF_ECORRUPT, "pack record at %llu: its body does not verify",
                       (unsigned long long)off);
    }
    *body = b;
    *body_len = (size_t)blen;
    return 0;
}

int pack_scan(const char *path, pack_scan_fn fn, void *arg, uint64_t *valid_end,
              cf_err *err)
{
    uint8_t fh[PACK_FILE_HEADER], id[PACK_ID_LEN];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "%s", path);
    int rc = fsu_pread_all(fd, fh, sizeof fh, 0);
    if (rc == -ENODATA) {
        close(fd);
        return cf_fail(err, CF_ECORRUPT, "%s: shorter than a pack header", path);
    }
    if (rc < 0) {
        close(fd);
        return cf_fail_errno(err, CF_EIO, -rc, "%s", path);
    }
    if (file_header_decode(path, fh, id, err) < 0) {
        close(fd);
        return -1;
    }
    uint8_t *buf = malloc(SCAN_CHUNK);
    pack_rec *r = malloc(sizeof *r);
    if (!buf || !r) {
        free(buf);
        free(r);
        close(fd);
        return cf_fail(err, CF_ENOMEM, "pack scan");
    }
    uint64_t off = PACK_FILE_HEADER;
    int ret = 0;
    for (;;) {
        uint8_t prefix[PACK_REC_PREFIX], hdr[SHARD_HEADER_SIZE];
        uint32_t body_crc;
        cf_err e2;
        if (fsu_pread_all(fd, prefix, sizeof prefix, (off_t)off) < 0 ||
            !prefix_decode(prefix, &r->body_len, &body_crc) ||
            fsu_pread_all(fd, hdr, sizeof hdr, (off_t)(off + PACK_REC_PREFIX)) < 0 ||
            shard_header_decode(hdr, &r->h, &e2) < 0)
            break;
        r->has_meta = shard_meta_get(hdr, &r->meta, &e2);
        if (r->has_meta < 0)
            break;
        uint64_t body_off = off + PACK_REC_PREFIX + SHARD_HEADER_SIZE;
        if (body_verifies(fd, body_off, r->body_len, body_crc, buf) < 0)
            break;
        r->off = off;
        if (fn && (ret = fn(r, arg)) != 0)
            break;
        off = body_off + r->body_len;
    }
    if (valid_end)
        *valid_end = off;
    free(buf);
    free(r);
    close(fd);
    return ret;
}

/* ---- the set's open packs ---------------------------------------------- */

struct pack_slot {
    pack_writer w;
    int refs;
    bool open;                       /* the disk's open pack */
    pack_slot *next;                 /* the busy list */
};

void pack_set_init(pack_set *ps, int n, const char *const *disks, uint64_t roll_bytes)
{
    memset(ps, 0, sizeof *ps);
    pthread_mutex_init(&ps->mu, NULL);
    ps->n = n;
    for (int i = 0; i < n; i++)
        ps->disks[i] = disks[i];
    ps->roll_bytes = roll_bytes ? roll_bytes : PACK_DEFAULT_ROLL_BYTES;
}

/* Under ps->mu: free a slot that is neither open nor referenced. */
static void slot_maybe_free(pack_set *ps, pack_slot *s)
{
    if (s->open || s->refs > 0)
        return;
    for (pack_slot **p = &ps->busy; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    pack_close(&s->w);
    free(s);
}

void pack_set_close(pack_set *ps)
{
    pthread_mutex_lock(&ps->mu);
    while (ps->busy) {
        pack_slot *s = ps->busy;
        s->open = false;
        s->refs = 0;
        slot_maybe_free(ps, s);
    }
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        ps->open[i] = NULL;
    pthread_mutex_unlock(&ps->mu);
    pthread_mutex_destroy(&ps->mu);
}

/* Under ps->mu: seal disk's open pack. */
static void roll_held(pack_set *ps, int disk)
{
    pack_slot *s = ps->open[disk];
    if (!s)
        return;
    s->open = false;
    ps->open[disk] = NULL;
    slot_maybe_free(ps, s);
}

void pack_set_roll(pack_set *ps, int disk)
{
    pthread_mutex_lock(&ps->mu);
    if (disk >= 0 && disk < ps->n)
        roll_held(ps, disk);
    pthread_mutex_unlock(&ps->mu);
}

/* Under ps->mu: disk's open pack, rolled or created as needed. */
static pack_slot *slot_for(pack_set *ps, int disk, cf_err *err)
{
    pack_slot *s = ps->open[disk];
    if (s) {
        gsync_lock(&s->w.gs);
        bool roll = s->w.gs.written >= ps->roll_bytes || s->w.gs.err != 0;
        gsync_unlock(&s->w.gs);
        if (!roll)
            return s;
        roll_held(ps, disk);
    }
    if (!(s = calloc(1, sizeof *s))) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    if (pack_create(ps->disks[disk], &s->w, err) < 0) {
        free(s);
        return NULL;
    }
    s->open = true;
    s->next = ps->busy;
    ps->busy = s;
    ps->open[disk] = s;
    return s;
}

int pack_set_append(pack_set *ps, int disk, const uint8_t hdr[SHARD_HEADER_SIZE],
                    const struct iovec *body, int nbody, pack_ref *ref, cf_err *err)
{
    memset(ref, 0, sizeof *ref);
    if (disk < 0 || disk >= ps->n)
        return cf_fail(err, CF_EINTERNAL, "pack append: no disk %d", disk);
    pthread_mutex_lock(&ps->mu);
    pack_slot *s = slot_for(ps, disk, err);
    if (s)
        s->refs++;
    pthread_mutex_unlock(&ps->mu);
    if (!s)
        return -1;
    ref->ps = ps;
    ref->slot = s;
    memcpy(ref->id, s->w.id, PACK_ID_LEN);
    uint64_t end = 0;
    if (pack_appendv(&s->w, hdr, body, nbody, &ref->off, &end, err) < 0) {
        pack_ref_release(ref);
        return -1;
    }
    ref->len = end - ref->off;
    return 0;
}

int pack_ref_commit(pack_ref *ref, cf_err *err)
{
    if (!ref->slot)
        return cf_fail(err, CF_EINTERNAL, "pack commit without a record");
    return pack_commit(&ref->slot->w, ref->off + ref->len, err);
}

void pack_ref_release(pack_ref *ref)
{
    if (!ref->slot)
        return;
    pack_set *ps = ref->ps;
    pthread_mutex_lock(&ps->mu);
    ref->slot->refs--;
    slot_maybe_free(ps, ref->slot);
    pthread_mutex_unlock(&ps->mu);
    ref->slot = NULL;
}

bool pack_set_busy(pack_set *ps, const uint8_t id[PACK_ID_LEN])
{
    bool busy = false;
    pthread_mutex_lock(&ps->mu);
    for (pack_slot *s = ps->busy; s && !busy; s = s->next)
        busy = memcmp(s->w.id, id, PACK_ID_LEN) == 0;
    pthread_mutex_unlock(&ps->mu);
    return busy;
}
