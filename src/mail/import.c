/* Owns the upload side of CSV contact imports: the request's checks, the streamed body parsed
 * (header, row count) and spooled as ordered chunks, the job's submission, the status lookup. */
#include "mail/import.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "mail/contacts.h"
#include "mail/import_internal.h"
#include "store/imports.h"

#define IMPORT_ABANDONED_MS (60LL * 60 * 1000) /* an upload idle this long without a job */
#define IMPORT_ATTR_NAME_MAX 64

struct mail_import_upload {
    struct mail_import *mi;
    char id[40];
    json_t *params; /* lists, mode, consent: the job's params, completed at the end */
    char *chunk;    /* MAIL_IMPORT_CHUNK bytes */
    size_t chunk_len;
    int64_t seq, bytes, rows;
    struct csv_parser *csv;
    json_t *columns; /* NULL until the header is read */
    int64_t data_offset, data_line;
    struct herald_error problem; /* why the parse stopped */
    int failed;                  /* the error that stopped it */
    bool submitted;
};

void mail_import_csv_opts(struct csv_opts *o)
{
    *o = (struct csv_opts){.max_field = CSV_DEFAULT_MAX_FIELD,
                           .max_fields = MAIL_IMPORT_MAX_ATTRIBUTES + 2,
                           .max_record = CSV_DEFAULT_MAX_RECORD};
}

bool mail_import_blank(const struct csv_record *rec)
{
    if (rec->error)
        return false;
    for (size_t i = 0; i < rec->nfields; i++)
        for (size_t k = 0; k < rec->fields[i].len; k++)
            if (!isspace((unsigned char)rec->fields[i].data[k]))
                return false;
    return true;
}

/* ---------------- the header ---------------- */

static bool attr_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > IMPORT_ATTR_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

/* One header cell, trimmed: "email", "name" (any case) or an attribute name. */
static int header_cell(const struct csv_field *f, json_t *cols, struct herald_error *err)
{
    const char *s = f->data;
    size_t len = f->len;
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    char name[IMPORT_ATTR_NAME_MAX + 1];
    if (!attr_name_ok(s, len))
        return herald_error_set(err, HERALD_ERR_INVALID, "body",
                                "header: column %zu must be 1 to %d of A-Z a-z 0-9 _ -",
                                json_array_size(cols) + 1, IMPORT_ATTR_NAME_MAX);
    memcpy(name, s, len);
    name[len] = '\0';
    if (strcasecmp(name, "email") == 0 || strcasecmp(name, "name") == 0)
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    size_t i;
    json_t *v;
    json_array_foreach(
        cols, i, v) if (strcmp(json_string_value(v), name) ==
                        0) return herald_error_set(err, HERALD_ERR_INVALID, "body",
                                                   "header: column \"%s\" appears twice", name);
    return json_array_append_new(cols, json_string(name)) ? HERALD_ERR_NOMEM : HERALD_OK;
}

static int header_check(const struct csv_record *rec, json_t **out, struct herald_error *err)
{
    if (rec->error)
        return herald_error_set(err, HERALD_ERR_INVALID, "body", "header (line %lld): %s",
                                (long long)rec->line, rec->error);
    json_t *cols = json_array();
    int rc = cols ? HERALD_OK : HERALD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < rec->nfields; i++)
        rc = header_cell(&rec->fields[i], cols, err);
    bool has_email = false;
    size_t i;
    json_t *v;
    json_array_foreach(cols, i, v) has_email |= strcmp(json_string_value(v), "email") == 0;
    if (!rc && !has_email)
        rc = herald_error_set(err, HERALD_ERR_INVALID, "body",
                              "the header row must have an \"email\" column");
    if (rc) {
        json_decref(cols);
        return rc;
    }
    *out = cols;
    return HERALD_OK;
}

/* The parser's callback during the upload: the header, then a count of the rows. */
static int on_upload_record(void *arg, const struct csv_record *rec)
{
    struct mail_import_upload *up = arg;
    if (!up->columns) {
        int rc = header_check(rec, &up->columns, &up->problem);
        up->data_offset = rec->end_offset;
        up->data_line = rec->next_line;
        return up->failed = rc;
    }
    if (mail_import_blank(rec))
        return 0;
    if (++up->rows > up->mi->opts.max_rows)
        return up->failed = herald_error_set(&up->problem, HERALD_ERR_TOO_LARGE, "body",
                                             "more than %lld rows (HERALD_IMPORT_MAX_ROWS)",
                                             (long long)up->mi->opts.max_rows);
    return 0;
}

/* ---------------- spooling ---------------- */

struct chunk_tx {
    const char *id;
    int64_t seq;
    const char *data;
};

static int chunk_tx(struct store_conn *c, void *arg)
{
    struct chunk_tx *t = arg;
    return store_import_chunk_put(c, t->id, t->seq, t->data, clock_now_ms());
}

static int flush_chunk(struct mail_import_upload *up)
{
    if (up->chunk_len == 0)
        return HERALD_OK;
    char *text = malloc(4 * ((up->chunk_len + 2) / 3) + 1);
    if (!text)
        return HERALD_ERR_NOMEM;
    crypto_b64url((const uint8_t *)up->chunk, up->chunk_len, text);
    struct chunk_tx t = {up->id, up->seq, text};
    int rc = store_run_tx(up->mi->st, chunk_tx, &t);
    free(text);
    if (!rc) {
        up->seq++;
        up->chunk_len = 0;
    }
    return rc;
}

enum herald_err mail_import_write(struct mail_import_upload *up, const char *data, size_t len,
                                  struct herald_error *err)
{
    if (!up->failed)
        csv_feed(up->csv, data, len, on_upload_record, up);
    if (up->failed) {
        *err = up->problem;
        return up->failed;
    }
    up->bytes += (int64_t)len;
    while (len) {
        size_t n = MAIL_IMPORT_CHUNK - up->chunk_len;
        if (n > len)
            n = len;
        memcpy(up->chunk + up->chunk_len, data, n);
        up->chunk_len += n;
        data += n;
        len -= n;
        int rc = up->chunk_len == MAIL_IMPORT_CHUNK ? flush_chunk(up) : HERALD_OK;
        if (rc)
            return herald_error_set(err, rc, NULL, NULL);
    }
    return HERALD_OK;
}

/* ---------------- an upload's life ---------------- */

struct begin_tx {
    const char *id;
    const int64_t *lists;
    size_t nlists;
    int64_t missing; /* a list that does not exist, or 0 */
};

static int begin_tx(struct store_conn *c, void *arg)
{
    struct begin_tx *t = arg;
    char optin[8];
    t->missing = 0;
    for (size_t i = 0; i < t->nlists; i++) {
        int rc = store_import_list_optin(c, t->lists[i], optin);
        if (rc == HERALD_ERR_NOT_FOUND) {
            t->missing = t->lists[i];
            return rc;
        }
        if (rc)
            return rc;
    }
    int64_t now = clock_now_ms(), swept = 0;
    int rc = store_import_sweep(c, now - IMPORT_ABANDONED_MS, &swept);
    return rc ? rc : store_import_create(c, t->id, (int64_t)MAIL_IMPORT_CHUNK, now);
}

/* The job's params as far as the request gives them. */
static json_t *request_params(const char *id, const struct mail_import_request *rq)
{
    json_t *lists = json_array();
    for (size_t i = 0; lists && i < rq->nlists; i++)
        json_array_append_new(lists, json_integer((json_int_t)rq->lists[i]));
    return json_pack("{s:s, s:o*, s:s, s:s*, s:s*, s:I}", "upload", id, "lists", lists, "mode",
                     rq->skip_existing ? "skip" : "upsert", "consentText", rq->consent_text,
                     "consentIp", rq->consent_ip, "consentAtMs", (json_int_t)clock_now_ms());
}

static int new_upload_id(char id[40])
{
    uint8_t r[16];
    int rc = crypto_random(r, sizeof(r));
    if (!rc)
        crypto_hex(r, sizeof(r), id);
    return rc;
}

enum herald_err mail_import_begin(struct mail_import *mi, const struct mail_import_request *rq,
                                  struct mail_import_upload **out, struct herald_error *err)
{
    *out = NULL;
    if (rq->nlists > MAIL_IMPORT_MAX_LISTS)
        return herald_error_set(err, HERALD_ERR_INVALID, "lists", "at most %d lists",
                                MAIL_IMPORT_MAX_LISTS);
    const char *text = rq->consent_text;
    if (text &&
        (strlen(text) > MAIL_IMPORT_CONSENT_TEXT_MAX || !mail_text_ok(text, strlen(text), true)))
        return herald_error_set(err, HERALD_ERR_INVALID, "consentText",
                                "consentText must be UTF-8 text of at most %d bytes",
                                MAIL_IMPORT_CONSENT_TEXT_MAX);
    struct mail_import_upload *up = calloc(1, sizeof(*up));
    if (!up)
        return herald_error_set(err, HERALD_ERR_NOMEM, NULL, NULL);
    up->mi = mi;
    struct csv_opts co;
    mail_import_csv_opts(&co);
    int rc = new_upload_id(up->id);
    up->chunk = malloc(MAIL_IMPORT_CHUNK);
    up->csv = csv_new(&co, 0, 1);
    up->params = request_params(up->id, rq);
    if (!rc && (!up->chunk || !up->csv || !up->params))
        rc = HERALD_ERR_NOMEM;
    struct begin_tx t = {up->id, rq->lists, rq->nlists, 0};
    if (!rc)
        rc = store_run_tx(mi->st, begin_tx, &t);
    if (rc) {
        up->submitted = true; /* nothing stored */
        mail_import_upload_free(up);
        if (t.missing)
            return herald_error_set(err, HERALD_ERR_INVALID, "lists", "list %lld does not exist",
                                    (long long)t.missing);
        return herald_error_set(err, rc, NULL, NULL);
    }
    *out = up;
    return HERALD_OK;
}

struct uploaded_tx {
    const struct mail_import_upload *up;
};

static int uploaded_tx(struct store_conn *c, void *arg)
{
    const struct mail_import_upload *up = ((struct uploaded_tx *)arg)->up;
    return store_import_uploaded(c, up->id, up->seq, up->bytes, up->data_offset, up->data_line,
                                 clock_now_ms());
}

struct set_job_tx {
    const char *id, *job_id;
};

static int set_job_tx(struct store_conn *c, void *arg)
{
    struct set_job_tx *t = arg;
    return store_import_set_job(c, t->id, t->job_id);
}

/* Submits the job; the upload is its from then on. */
static int submit(struct mail_import_upload *up, char job_id[40], struct herald_error *err)
{
    json_object_set(up->params, "columns", up->columns);
    json_object_set_new(up->params, "rows", json_integer((json_int_t)up->rows));
    json_object_set_new(up->params, "bytes", json_integer((json_int_t)up->bytes));
    struct jobs_problem problem;
    int rc = jobs_submit(up->mi->jobs, MAIL_IMPORT_KIND, up->params, job_id, &problem);
    if (rc)
        return herald_error_set(err, rc, problem.field[0] ? problem.field : NULL, "%s",
                                problem.message[0] ? problem.message : herald_strerror(rc));
    up->submitted = true;
    struct set_job_tx t = {up->id, job_id};
    rc = store_run_tx(up->mi->st, set_job_tx, &t);
    if (rc) /* the job records it itself when it starts */
        log_warn("cannot link an import upload to its job",
                 json_pack("{s:s, s:s, s:s}", "upload", up->id, "job_id", job_id, "error",
                           herald_strerror(rc)));
    return HERALD_OK;
}

enum herald_err mail_import_finish(struct mail_import_upload *up, char job_id[40], int64_t *rows,
                                   struct herald_error *err)
{
    if (!up->failed)
        csv_finish(up->csv, on_upload_record, up);
    if (!up->failed && !up->columns)
        up->failed = herald_error_set(&up->problem, HERALD_ERR_INVALID, "body",
                                      up->bytes ? "the body has no header row"
                                                : "the body is empty: send the CSV file");
    if (up->failed) {
        *err = up->problem;
        return up->failed;
    }
    int rc = flush_chunk(up);
    struct uploaded_tx t = {up};
    if (!rc)
        rc = store_run_tx(up->mi->st, uploaded_tx, &t);
    if (rc)
        return herald_error_set(err, rc, NULL, NULL);
    *rows = up->rows;
    return submit(up, job_id, err);
}

static int delete_tx(struct store_conn *c, void *arg)
{
    return store_import_delete(c, arg, true);
}

const char *mail_import_upload_id(const struct mail_import_upload *up)
{
    return up->id;
}

void mail_import_upload_free(struct mail_import_upload *up)
{
    if (!up)
        return;
    if (!up->submitted && store_run_tx(up->mi->st, delete_tx, up->id))
        log_warn("cannot delete an abandoned import upload (swept later)",
                 json_pack("{s:s}", "upload", up->id));
    csv_free(up->csv);
    free(up->chunk);
    json_decref(up->params);
    json_decref(up->columns);
    free(up);
}

/* ---------------- the kind ---------------- */

enum herald_err mail_import_register(struct jobs *j, struct store *st,
                                     const struct mail_import_opts *opts, struct mail_import **out)
{
    struct mail_import *mi = calloc(1, sizeof(*mi));
    if (!mi)
        return HERALD_ERR_NOMEM;
    mi->st = st;
    mi->jobs = j;
    mi->opts = *opts;
    int rc = jobs_register(j, &mail_import_kind, mi);
    if (rc) {
        free(mi);
        return rc;
    }
    *out = mi;
    return HERALD_OK;
}

void mail_import_free(struct mail_import *mi)
{
    free(mi);
}

enum herald_err mail_import_status(struct mail_import *mi, const char *job_id,
                                   struct jobs_info *out)
{
    int rc = jobs_get(mi->jobs, job_id, out);
    if (!rc && strcmp(out->kind, MAIL_IMPORT_KIND) != 0) {
        jobs_info_clear(out);
        rc = HERALD_ERR_NOT_FOUND;
    }
    return rc;
}
