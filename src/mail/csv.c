/* Owns the incremental CSV parser: a byte state machine with bounded buffers, the replay of a
 * record whose quote never closed, and the BOM at the start of a stream (see mail/csv.h). */
#include "mail/csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum csv_state {
    ST_START,    /* at the start of a field */
    ST_UNQUOTED, /* in a field without quotes */
    ST_QUOTED,   /* inside quotes */
    ST_QUOTE,    /* a quote inside quotes: closing, or the first of "" */
    ST_CR,       /* a CR ended the record: an LF may follow */
    ST_SKIP,     /* the record is too long: skip to the end of its line */
};

struct csv_parser {
    size_t max_field, max_fields, max_record;
    enum csv_state state;
    int64_t offset, line;
    bool prev_cr, bom_check, rewind;
    int bom_n;
    /* the record under way */
    bool in_record, quoted_seen;
    int64_t rec_start, rec_line;
    const char *error;
    char *raw; /* its bytes, for the replay (at most max_record) */
    size_t raw_len;
    char *fbuf; /* field values, each NUL-terminated */
    size_t fbuf_len, field_start;
    size_t *foff, *flen;
    struct csv_field *fields;
    size_t nfields;
    char err_msg[96];
    /* bytes to read again before the input (after an unterminated quote) */
    char *replay, *replay_tmp;
    size_t rp_pos, rp_len;
    size_t tail_from, tail_to; /* after unterminated(): raw[tail_from..tail_to) is read again */
};

struct csv_parser *csv_new(const struct csv_opts *opts, int64_t offset, int64_t line)
{
    struct csv_parser *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->max_field = opts && opts->max_field ? opts->max_field : CSV_DEFAULT_MAX_FIELD;
    p->max_fields = opts && opts->max_fields ? opts->max_fields : CSV_DEFAULT_MAX_FIELDS;
    p->max_record = opts && opts->max_record ? opts->max_record : CSV_DEFAULT_MAX_RECORD;
    p->offset = offset;
    p->line = line > 0 ? line : 1;
    p->bom_check = offset == 0;
    p->raw = malloc(p->max_record);
    p->fbuf = malloc(p->max_record + p->max_fields + 2);
    p->foff = calloc(p->max_fields, sizeof(size_t));
    p->flen = calloc(p->max_fields, sizeof(size_t));
    p->fields = calloc(p->max_fields, sizeof(struct csv_field));
    p->replay = malloc(2 * p->max_record);
    p->replay_tmp = malloc(2 * p->max_record);
    if (!p->raw || !p->fbuf || !p->foff || !p->flen || !p->fields || !p->replay || !p->replay_tmp) {
        csv_free(p);
        return NULL;
    }
    return p;
}

void csv_free(struct csv_parser *p)
{
    if (!p)
        return;
    free(p->raw);
    free(p->fbuf);
    free(p->foff);
    free(p->flen);
    free(p->fields);
    free(p->replay);
    free(p->replay_tmp);
    free(p);
}

int64_t csv_offset(const struct csv_parser *p)
{
    return p->offset;
}

/* Keeps the record's first error. */
__attribute__((format(printf, 2, 3))) static void set_error(struct csv_parser *p, const char *fmt,
                                                            ...)
{
    if (p->error)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err_msg, sizeof(p->err_msg), fmt, ap);
    va_end(ap);
    p->error = p->err_msg;
}

static void reset_record(struct csv_parser *p)
{
    p->in_record = p->quoted_seen = false;
    p->error = NULL;
    p->raw_len = p->fbuf_len = p->field_start = p->nfields = 0;
    p->state = ST_START;
}

static void append(struct csv_parser *p, char c)
{
    if (p->fbuf_len - p->field_start >= p->max_field) {
        set_error(p, "a field is longer than %zu bytes", p->max_field);
        return;
    }
    p->fbuf[p->fbuf_len++] = c;
}

static void end_field(struct csv_parser *p)
{
    if (p->nfields < p->max_fields) {
        p->foff[p->nfields] = p->field_start;
        p->flen[p->nfields] = p->fbuf_len - p->field_start;
        p->nfields++;
        p->fbuf[p->fbuf_len++] = '\0';
    } else {
        set_error(p, "more than %zu fields", p->max_fields);
        p->fbuf_len = p->field_start;
    }
    p->field_start = p->fbuf_len;
}

/* Reports the record ending at `end`, on line `next_line` (blank lines are not reported), and
 * starts the next. */
static int emit_at(struct csv_parser *p, int64_t end, int64_t next_line, csv_record_fn fn,
                   void *arg)
{
    if (p->nfields == 0)
        end_field(p);
    bool blank = p->nfields == 1 && p->flen[0] == 0 && !p->quoted_seen && !p->error;
    int rc = 0;
    if (!blank) {
        for (size_t i = 0; i < p->nfields; i++)
            p->fields[i] = (struct csv_field){p->fbuf + p->foff[i], p->flen[i]};
        struct csv_record rec = {p->fields, p->nfields, p->rec_line, end, next_line, p->error};
        rc = fn(arg, &rec);
    }
    reset_record(p);
    return rc;
}

static int emit(struct csv_parser *p, int64_t end, csv_record_fn fn, void *arg)
{
    return emit_at(p, end, p->line, fn, arg);
}

/* Where the first line of the held record ends (index in raw past its line break), or 0. */
static size_t first_break_end(const struct csv_parser *p)
{
    for (size_t i = 0; i < p->raw_len; i++) {
        if (p->raw[i] == '\n')
            return i + 1;
        if (p->raw[i] == '\r')
            return i + 1 < p->raw_len && p->raw[i + 1] == '\n' ? i + 2 : i + 1;
    }
    return 0;
}

/* A quote left open: reports the record on its first line and asks the feed loop to read
 * again what follows that line (p->rewind; the bytes stay in raw for start_replay()). */
static int unterminated(struct csv_parser *p, size_t brk, csv_record_fn fn, void *arg)
{
    int64_t start = p->rec_start, line = p->rec_line;
    size_t raw_len = p->raw_len;
    p->error = NULL;
    set_error(p, "unterminated quoted field (or a record over %zu bytes)", p->max_record);
    end_field(p);
    /* emit() resets raw_len; the bytes stay in raw for the replay. */
    int rc = emit_at(p, start + (int64_t)brk, line + 1, fn, arg);
    p->offset = start + (int64_t)brk;
    p->line = line + 1;
    p->prev_cr = false;
    p->rewind = true;
    p->tail_from = brk;
    p->tail_to = raw_len;
    return rc;
}

/* The record outgrew max_record: an open quote spanning lines is unterminated; anything else
 * is skipped to the end of its line. True when the byte must not be consumed (rewind). */
static bool overflow(struct csv_parser *p, int *rc, csv_record_fn fn, void *arg)
{
    size_t brk = p->state == ST_QUOTED ? first_break_end(p) : 0;
    if (brk) {
        *rc = unterminated(p, brk, fn, arg);
        return true;
    }
    set_error(p, "a record is longer than %zu bytes", p->max_record);
    p->state = ST_SKIP;
    return false;
}

static void advance(struct csv_parser *p, unsigned char c)
{
    p->offset++;
    if (c == '\r' || (c == '\n' && !p->prev_cr))
        p->line++;
    p->prev_cr = c == '\r';
}

/* A byte ends a field or the record (',' CR LF) outside quotes; false for any other byte. */
static bool separator(struct csv_parser *p, unsigned char c, int *rc, csv_record_fn fn, void *arg)
{
    if (c != ',' && c != '\r' && c != '\n')
        return false;
    if (p->state != ST_SKIP)
        end_field(p);
    advance(p, c);
    if (c == ',')
        p->state = p->state == ST_SKIP ? ST_SKIP : ST_START;
    else if (c == '\r')
        p->state = ST_CR;
    else
        *rc = emit(p, p->offset, fn, arg);
    return true;
}

static void in_field(struct csv_parser *p, unsigned char c)
{
    switch (p->state) {
    case ST_START:
        if (c == '"') {
            p->quoted_seen = true;
            p->state = ST_QUOTED;
            return;
        }
        p->state = ST_UNQUOTED;
        append(p, (char)c);
        return;
    case ST_QUOTED:
        if (c == '"')
            p->state = ST_QUOTE;
        else
            append(p, (char)c);
        return;
    case ST_QUOTE:
        if (c != '"') {
            set_error(p, "unexpected character after a closing quote");
            p->state = ST_UNQUOTED;
        } else {
            p->state = ST_QUOTED;
        }
        append(p, (char)c);
        return;
    default: /* ST_UNQUOTED (a quote in it is kept); ST_SKIP drops bytes */
        if (p->state == ST_UNQUOTED)
            append(p, (char)c);
        return;
    }
}

/* One byte. Returns the callback's value; sets p->rewind when the byte was not consumed. */
static int step(struct csv_parser *p, unsigned char c, csv_record_fn fn, void *arg)
{
    int rc = 0;
    if (p->state == ST_CR) {
        if (c == '\n') {
            advance(p, c);
            return emit(p, p->offset, fn, arg);
        }
        if ((rc = emit(p, p->offset, fn, arg)))
            return rc;
    }
    if (!p->in_record) {
        p->in_record = true;
        p->rec_start = p->offset;
        p->rec_line = p->line;
    }
    if (p->state != ST_SKIP) {
        if (p->raw_len >= p->max_record && overflow(p, &rc, fn, arg))
            return rc;
        if (p->state != ST_SKIP)
            p->raw[p->raw_len++] = (char)c;
    }
    if (p->state != ST_QUOTED && separator(p, c, &rc, fn, arg))
        return rc;
    in_field(p, c);
    advance(p, c);
    return 0;
}

/* After unterminated(): the bytes to read again are raw[tail_from..tail_to) then what was left
 * of the previous replay (together never more than max_record: they all follow the start of
 * a record that fitted in it). */
static void start_replay(struct csv_parser *p)
{
    size_t from = p->tail_from, to = p->tail_to, left = p->rp_len - p->rp_pos;
    if (to - from + left > 2 * p->max_record)
        left = 2 * p->max_record - (to - from); /* cannot happen; keeps the copy in bounds */
    memcpy(p->replay_tmp, p->raw + from, to - from);
    memcpy(p->replay_tmp + (to - from), p->replay + p->rp_pos, left);
    char *t = p->replay;
    p->replay = p->replay_tmp;
    p->replay_tmp = t;
    p->rp_pos = 0;
    p->rp_len = to - from + left;
    p->rewind = false;
    reset_record(p);
}

/* The BOM at offset 0: its bytes are dropped; a partial match is read as data. */
static int bom_byte(struct csv_parser *p, unsigned char c, csv_record_fn fn, void *arg)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    if (c == bom[p->bom_n]) {
        if (++p->bom_n == 3) {
            p->bom_check = false;
            p->offset += 3;
        }
        return 0;
    }
    p->bom_check = false;
    for (int k = 0; k < p->bom_n; k++) {
        int rc = step(p, bom[k], fn, arg);
        if (rc)
            return rc;
    }
    return step(p, c, fn, arg);
}

int csv_feed(struct csv_parser *p, const char *data, size_t len, csv_record_fn fn, void *arg)
{
    size_t i = 0;
    for (;;) {
        bool from_replay = p->rp_pos < p->rp_len;
        int rc;
        if (from_replay) {
            rc = step(p, (unsigned char)p->replay[p->rp_pos], fn, arg);
        } else if (i < len) {
            if (p->bom_check) {
                rc = bom_byte(p, (unsigned char)data[i++], fn, arg);
                if (rc)
                    return rc;
                continue;
            }
            rc = step(p, (unsigned char)data[i], fn, arg);
        } else {
            return 0;
        }
        if (rc)
            return rc;
        if (p->rewind)
            start_replay(p); /* the byte was not consumed: it follows the replayed ones */
        else if (from_replay)
            p->rp_pos++;
        else
            i++;
    }
}

int csv_finish(struct csv_parser *p, csv_record_fn fn, void *arg)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    int rc = 0;
    if (p->bom_check) {
        p->bom_check = false;
        for (int k = 0; k < p->bom_n && !rc; k++)
            rc = step(p, bom[k], fn, arg);
    }
    while (!rc) {
        size_t brk = p->state == ST_QUOTED ? first_break_end(p) : 0;
        if (!brk)
            break;
        if ((rc = unterminated(p, brk, fn, arg)))
            return rc;
        start_replay(p);
        rc = csv_feed(p, NULL, 0, fn, arg);
    }
    if (rc || !p->in_record)
        return rc;
    if (p->state == ST_QUOTED)
        set_error(p, "unterminated quoted field");
    if (p->state != ST_CR)
        end_field(p);
    return emit(p, p->offset, fn, arg);
}
