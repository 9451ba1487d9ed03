/*
 * common/hdrlist.h - comma-separated header values (RFC 9110 section
 * 5.6.1: "#rule" lists): the one tokenizer for If-Match style ETag lists,
 * Content-Encoding codings and x-amz-object-attributes.
 *
 * Contract: empty items and the optional white space (space, tab) around
 * each item are skipped, as the RFC asks recipients to do; an item is
 * never empty. Pure function: thread-safe, no allocation.
 */
#ifndef CF_HDRLIST_H
#define CF_HDRLIST_H

#include <stdbool.h>
#include <stddef.h>

/* The next item at *cursor into *item and *len (pointing into the value),
 * *cursor moved past it; false when no item is left. */
bool hdrlist_next(const char **cursor, const char **item, size_t *len);

#endif
