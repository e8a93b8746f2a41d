/* The export of one address: the table of sources read a page at a time and written as one
 * JSON document, or as a ZIP of one CSV per source, into a small buffer the reader drains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "mail/contacts.h"
#include "privacy/privacy.h"
#include "privacy/zip.h"

#define PAGE 500

enum phase { PH_SOURCE, PH_ROWS, PH_DONE };

struct privacy_export {
    struct store *st;
    char email[MAIL_EMAIL_MAX];
    enum privacy_format f;
    enum phase phase;
    int64_t contact_id;
    bool suppressed;
    size_t src;
    int64_t after;
    bool first_row;
    struct buf pending; /* produced, not yet read; pos bytes of it already went */
    size_t pos;
    struct buf line; /* one CSV line (zip) */
    struct zipw zip;
};

static enum herald_err begin(struct privacy_export *x);

enum herald_err privacy_export_open(struct store *st, const char *email, enum privacy_format f,
                                    struct privacy_export **out)
{
    struct privacy_export *x = calloc(1, sizeof(*x));
    if (!x)
        return HERALD_ERR_NOMEM;
    int rc = mail_email_normalize(email, x->email);
    if (rc) {
        free(x);
        return rc;
    }
    x->st = st;
    x->f = f;
    buf_init(&x->pending, (size_t)256 << 20);
    buf_init(&x->line, (size_t)64 << 20);
    if (f == PRIVACY_ZIP)
        zipw_init(&x->zip, &x->pending, clock_now_ms());
    /* The lookups run now, so a store failure is answered with an error, not a cut stream. */
    rc = begin(x);
    if (rc) {
        privacy_export_free(x);
        return rc;
    }
    x->phase = PH_SOURCE;
    *out = x;
    return HERALD_OK;
}

void privacy_export_free(struct privacy_export *x)
{
    if (!x)
        return;
    if (x->f == PRIVACY_ZIP)
        zipw_free(&x->zip);
    buf_free(&x->pending);
    buf_free(&x->line);
    free(x);
}

static int lookup_tx(struct store_conn *c, void *arg)
{
    struct privacy_export *x = arg;
    int rc = store_privacy_contact_id(c, x->email, &x->contact_id);
    return rc ? rc : store_suppressed(c, x->email, &x->suppressed);
}

struct page_tx {
    struct privacy_export *x;
    struct store_privacy_rows rows;
};

static int page_tx(struct store_conn *c, void *arg)
{
    struct page_tx *t = arg;
    const struct privacy_source *s = &privacy_sources[t->x->src];
    store_privacy_rows_free(&t->rows);
    return store_privacy_export_page(c, s->src, t->x->email, t->x->contact_id, t->x->after, PAGE,
                                     &t->rows);
}

/* One cell as JSON. */
static enum herald_err json_cell(struct buf *b, const char *v, char type)
{
    char iso[40];
    if (!v)
        return buf_append_str(b, "null");
    switch (type) {
    case 'i':
        return buf_printf(b, "%lld", strtoll(v, NULL, 10));
    case 't':
        clock_format_iso_ms(strtoll(v, NULL, 10), iso, sizeof(iso));
        return buf_append_json_string(b, iso);
    case 'j': {
        json_t *doc = json_loads(v, JSON_DECODE_ANY, NULL);
        char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(doc);
        int rc = text ? buf_append_str(b, text) : buf_append_json_string(b, v);
        free(text);
        return rc;
    }
    default:
        return buf_append_json_string(b, v);
    }
}

static enum herald_err json_row(struct privacy_export *x, const struct store_privacy_rows *r,
                                int row)
{
    const struct privacy_source *s = &privacy_sources[x->src];
    int rc = buf_append_str(&x->pending, x->first_row ? "{" : ",{");
    x->first_row = false;
    for (int k = 0; !rc && k < s->ncols && k < r->ncols; k++) {
        rc = buf_printf(&x->pending, "%s\"%s\":", k ? "," : "", s->cols[k].name);
        rc = rc ? rc : json_cell(&x->pending, store_privacy_cell(r, row, k), s->cols[k].type);
    }
    return rc ? rc : buf_append_str(&x->pending, "}");
}

/* One cell as CSV: quoted when it must be; text starting like a formula is prefixed with '
 * so a spreadsheet shows it rather than running it. */
static enum herald_err csv_cell(struct buf *b, const char *v, char type)
{
    char iso[40];
    if (!v)
        return HERALD_OK;
    if (type == 't') {
        clock_format_iso_ms(strtoll(v, NULL, 10), iso, sizeof(iso));
        return buf_append_str(b, iso);
    }
    bool formula = type == 's' && strchr("=+-@\t\r", v[0]) && v[0];
    if (!formula && !strpbrk(v, ",\"\r\n"))
        return buf_append_str(b, v);
    int rc = buf_append_str(b, formula ? "\"'" : "\"");
    for (const char *p = v; !rc && *p; p++)
        rc = *p == '"' ? buf_append_str(b, "\"\"") : buf_append(b, p, 1);
    return rc ? rc : buf_append_str(b, "\"");
}

static enum herald_err csv_line(struct privacy_export *x, const struct store_privacy_rows *r,
                                int row)
{
    const struct privacy_source *s = &privacy_sources[x->src];
    buf_reset(&x->line);
    int rc = HERALD_OK;
    for (int k = 0; !rc && k < s->ncols; k++) {
        rc = k ? buf_append_str(&x->line, ",") : HERALD_OK;
        if (!rc && r)
            rc = csv_cell(&x->line, store_privacy_cell(r, row, k), s->cols[k].type);
        else if (!rc)
            rc = buf_append_str(&x->line, s->cols[k].name);
    }
    rc = rc ? rc : buf_append_str(&x->line, "\r\n");
    return rc ? rc : zipw_write(&x->zip, x->line.data, x->line.len);
}

static enum herald_err begin(struct privacy_export *x)
{
    char now[40];
    clock_format_iso_ms(clock_now_ms(), now, sizeof(now));
    int rc = store_run_read(x->st, lookup_tx, x);
    if (rc || x->f == PRIVACY_ZIP)
        return rc;
    rc = buf_append_str(&x->pending, "{\"success\":true,\"email\":");
    rc = rc ? rc : buf_append_json_string(&x->pending, x->email);
    return rc ? rc
              : buf_printf(&x->pending, ",\"exportedAt\":\"%s\",\"suppressed\":%s", now,
                           x->suppressed ? "true" : "false");
}

static enum herald_err source_begin(struct privacy_export *x)
{
    const struct privacy_source *s = &privacy_sources[x->src];
    x->after = 0;
    x->first_row = true;
    if (x->f == PRIVACY_JSON)
        return buf_printf(&x->pending, ",\"%s\":[", s->name);
    char name[64];
    snprintf(name, sizeof(name), "%s.csv", s->name);
    int rc = zipw_begin(&x->zip, name);
    return rc ? rc : csv_line(x, NULL, 0);
}

static enum herald_err rows(struct privacy_export *x, bool *source_done)
{
    struct page_tx t = {x, {0}};
    int rc = store_run_read(x->st, page_tx, &t);
    for (int i = 0; !rc && i < t.rows.nrows; i++)
        rc = x->f == PRIVACY_JSON ? json_row(x, &t.rows, i) : csv_line(x, &t.rows, i);
    x->after = t.rows.last_id;
    *source_done = !t.rows.more;
    store_privacy_rows_free(&t.rows);
    if (rc || !*source_done)
        return rc;
    return x->f == PRIVACY_JSON ? buf_append_str(&x->pending, "]") : zipw_end_file(&x->zip);
}

/* Produces the next piece into x->pending. */
static enum herald_err produce(struct privacy_export *x)
{
    bool done = false;
    int rc;
    switch (x->phase) {
    case PH_SOURCE:
        if (x->src == privacy_source_count) {
            x->phase = PH_DONE;
            return x->f == PRIVACY_JSON ? buf_append_str(&x->pending, "}\n") : zipw_finish(&x->zip);
        }
        x->phase = PH_ROWS;
        return source_begin(x);
    case PH_ROWS:
        rc = rows(x, &done);
        if (done) {
            x->src++;
            x->phase = PH_SOURCE;
        }
        return rc;
    default:
        return HERALD_OK;
    }
}

long privacy_export_read(struct privacy_export *x, char *buf, size_t max)
{
    while (x->pos == x->pending.len) {
        buf_reset(&x->pending);
        x->pos = 0;
        if (x->phase == PH_DONE)
            return 0;
        if (produce(x))
            return -1;
    }
    size_t n = x->pending.len - x->pos;
    if (n > max)
        n = max;
    memcpy(buf, x->pending.data + x->pos, n);
    x->pos += n;
    return (long)n;
}
