/* Growable byte buffer with a hard maximum size: every append either fits under `max`
 * or fails with HERALD_ERR_TOO_LARGE and leaves the buffer as it was. The contents are always
 * NUL-terminated (the terminator is not counted in len). Every function returning enum herald_err
 * gives HERALD_OK, HERALD_ERR_TOO_LARGE or HERALD_ERR_NOMEM (buf_vprintf: HERALD_ERR_INTERNAL on a
 * bad format). */
#ifndef HERALD_BASE_BUF_H
#define HERALD_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "base/err.h"

struct buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;
};

void buf_init(struct buf *b, size_t max);
enum herald_err buf_append(struct buf *b, const void *data, size_t len);
enum herald_err buf_append_str(struct buf *b, const char *s);
enum herald_err buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum herald_err buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Appends s as a JSON string literal (quotes added; ", \\ and control characters escaped;
 * UTF-8 passed through). */
enum herald_err buf_append_json_string(struct buf *b, const char *s);
/* Appends s with & < > " ' written as entities: safe in HTML text and quoted attributes. */
enum herald_err buf_append_html(struct buf *b, const char *s);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Hands the contents to the caller (free() it); the buffer is left empty. Never NULL on 0. */
enum herald_err buf_steal(struct buf *b, char **out, size_t *out_len);
void buf_free(struct buf *b);

#endif
