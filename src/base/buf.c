/* Owns the growable byte buffer with a hard maximum: appends, printf, JSON string literals,
 * handing the bytes over (buf_steal) and freeing. */
#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static enum herald_err buf_reserve(struct buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return HERALD_ERR_TOO_LARGE;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return HERALD_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *data = realloc(b->data, cap);
    if (!data)
        return HERALD_ERR_NOMEM;
    b->data = data;
    b->cap = cap;
    return HERALD_OK;
}

enum herald_err buf_append(struct buf *b, const void *data, size_t len)
{
    enum herald_err rc = buf_reserve(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return HERALD_OK;
}

enum herald_err buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

enum herald_err buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return HERALD_ERR_INTERNAL;
    enum herald_err rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return HERALD_OK;
}

enum herald_err buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum herald_err rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

enum herald_err buf_steal(struct buf *b, char **out, size_t *out_len)
{
    if (!b->data) {
        enum herald_err rc = buf_reserve(b, 0);
        if (rc)
            return rc;
        b->data[0] = '\0';
    }
    *out = b->data;
    if (out_len)
        *out_len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return HERALD_OK;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* The escape for one byte that may not appear raw in a JSON string; its length. */
static size_t json_escape(unsigned char c, char esc[7])
{
    static const char hex[] = "0123456789abcdef";
    esc[0] = '\\';
    esc[1] = (char)c;
    if (c == '\n')
        esc[1] = 'n';
    else if (c == '\t')
        esc[1] = 't';
    else if (c == '\r')
        esc[1] = 'r';
    else if (c < 0x20) {
        memcpy(esc + 1, "u00", 3);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        return 6;
    }
    return 2;
}

enum herald_err buf_append_json_string(struct buf *b, const char *s)
{
    enum herald_err rc = buf_append(b, "\"", 1);
    if (rc)
        return rc;
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        char esc[7];
        size_t len = json_escape(c, esc);
        rc = buf_append(b, run, (size_t)(p - run));
        if (rc)
            return rc;
        rc = buf_append(b, esc, len);
        if (rc)
            return rc;
        run = p + 1;
    }
    rc = buf_append_str(b, run);
    if (rc)
        return rc;
    return buf_append(b, "\"", 1);
}

enum herald_err buf_append_html(struct buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *ent = NULL;
        switch (*s) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&#39;";
            break;
        default:
            continue;
        }
        enum herald_err rc = buf_append(b, run, (size_t)(s - run));
        if (!rc)
            rc = buf_append_str(b, ent);
        if (rc)
            return rc;
        run = s + 1;
    }
    return buf_append(b, run, (size_t)(s - run));
}
