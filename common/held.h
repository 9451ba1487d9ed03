/*
 * common/held.h - which locks of one kind this thread holds, for the
 * assertions of a contract ("the caller holds the lock"). Debug and
 * sanitizer builds only: with NDEBUG nothing here is used.
 *
 * Each kind of lock keeps a chain of the ones this thread holds,
 * innermost first: a thread-local head in its module
 * (`static _Thread_local held_chain held;`) and a held_link inside each
 * lock's object, set only by the thread that holds that lock. So checking
 * it reads nothing another thread writes. A kind's locks are released in
 * the reverse of the order they were taken (held_pop asserts it); kinds
 * are independent (index.c takes its gsync lock inside its own and drops
 * its own first).
 */
#ifndef CF_HELD_H
#define CF_HELD_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct held_link {
    const struct held_link *prev;    /* what the holder held before */
} held_link;

typedef const held_link *held_chain;

/* l's lock was just taken by this thread. */
static inline void held_push(held_chain *head, held_link *l)
{
    l->prev = *head;
    *head = l;
}

/* l's lock is about to be released by this thread. */
static inline void held_pop(held_chain *head, held_link *l)
{
    assert(*head == l && "locks of one kind are released in the order they were taken");
    *head = l->prev;
}

/* Does this thread hold l's lock? */
static inline bool held_has(held_chain head, const held_link *l)
{
    for (const held_link *p = head; p; p = p->prev)
        if (p == l)
            return true;
    return false;
}

#endif
