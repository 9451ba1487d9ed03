/*
 * storage/kek.c - the tenant KEK cache. A tenant's key-encryption key is
 * derived from the master key with HKDF (crypto.c), which was about 15% of
 * a small GET's CPU, so it is derived once and kept in a small fixed table
 * (ENG_KEK_SLOTS, replaced round-robin when full) under its own mutex,
 * kek_lock, never the index's. The table is wiped on close and a tenant's
 * slot when the tenant is deleted; it holds nothing the master key in
 * memory does not already give.
 */
#include "storage/engine_int.h"

#include <stdio.h>
#include <string.h>

/* The slot holding tenant's KEK, or NULL; kek_lock held. */
static eng_kek_slot *find_slot(st_engine *e, const char *tenant)
{
    for (int i = 0; i < ENG_KEK_SLOTS; i++)
        if (e->keks[i].used && strcmp(e->keks[i].tenant, tenant) == 0)
            return &e->keks[i];
    return NULL;
}

int kek_get(st_engine *e, const char *tenant, uint8_t kek[CRYPT_KEY_LEN],
                      cf_err *err)
{
    pthread_mutex_lock(&e->kek_lock);
    eng_kek_slot *s = find_slot(e, tenant);
    if (s)
        memcpy(kek, s->kek, CRYPT_KEY_LEN);
    pthread_mutex_unlock(&e->kek_lock);
    if (s)
        return 0;
    if (crypt_derive_kek(e->master, tenant, kek, err) < 0)
        return -1;
    if (strlen(tenant) > ST_MAX_TENANT)
        return 0;                    /* too long for a slot: not cached */
    pthread_mutex_lock(&e->kek_lock);
    if (!find_slot(e, tenant)) {
        s = &e->keks[e->kek_next++ % ENG_KEK_SLOTS];
        s->used = true;
        snprintf(s->tenant, sizeof s->tenant, "%s", tenant);
        memcpy(s->kek, kek, CRYPT_KEY_LEN);
    }
    pthread_mutex_unlock(&e->kek_lock);
    return 0;
}

void kek_forget(st_engine *e, const char *tenant)
{
    pthread_mutex_lock(&e->kek_lock);
    eng_kek_slot *s = find_slot(e, tenant);
    if (s) {
        crypt_wipe(s, sizeof *s);
        s->used = false;
    }
    pthread_mutex_unlock(&e->kek_lock);
}

void kek_wipe(st_engine *e)
{
    crypt_wipe(e->keks, sizeof e->keks);
}
