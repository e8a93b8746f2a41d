/* Owns the "contact_import" job kind: reads an upload's chunks from the saved position, parses
 * and validates its rows, and writes them in batches together with the import's progress. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/text.h"
#include "events/key.h"
#include "mail/contacts.h"
#include "mail/import_internal.h"
#include "store/imports.h"
#include "store/privacy.h"

#define BATCH_BYTES ((size_t)8 << 20) /* a batch is written early past this much JSON */
#define EMAIL_MAX 254
#define SEEN_SLOTS 4096 /* > 2 × MAIL_IMPORT_BATCH */

struct import_params {
    const char *upload, *consent_text, *consent_ip;
    char *lists; /* JSON array text, NULL when none */
    bool skip;
    int64_t consent_at_ms, rows, bytes;
    json_t *columns;
    int email_col, name_col; /* -1: none */
};

struct import_run {
    struct jobs_ctx *ctx;
    struct mail_import *mi;
    struct import_params prm;
    struct store_import state; /* as committed */
    json_t *invalid_lines;     /* as committed */
    /* the batch under way */
    struct buf batch;
    size_t nvalid;
    int64_t nread, ninvalid, end_offset, next_line;
    json_t *pending_invalid;
    char (*emails)[EMAIL_MAX + 1];
    int32_t seen[SEEN_SLOTS]; /* index + 1 into emails, 0: free */
    char reason[96];
};

/* ---------------- params ---------------- */

static int problem(struct jobs_problem *p, const char *field, const char *message)
{
    snprintf(p->field, sizeof(p->field), "%s", field);
    snprintf(p->message, sizeof(p->message), "%s", message);
    return HERALD_ERR_INVALID;
}

static bool int_array(json_t *a)
{
    size_t i;
    json_t *v;
    if (!json_is_array(a))
        return false;
    json_array_foreach(a, i, v) if (!json_is_integer(v)) return false;
    return true;
}

static int validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *p)
{
    (void)arg;
    *out = NULL;
    const char *upload = NULL, *mode = NULL, *text = NULL, *ip = NULL;
    json_t *lists = NULL, *columns = NULL;
    json_int_t at = 0, rows = 0, bytes = 0;
    if (!json_is_object(raw) ||
        json_unpack(raw, "{s:s, s:o, s:s, s?s, s?s, s:I, s:o, s:I, s:I}", "upload", &upload,
                    "lists", &lists, "mode", &mode, "consentText", &text, "consentIp", &ip,
                    "consentAtMs", &at, "columns", &columns, "rows", &rows, "bytes", &bytes))
        return problem(p, "params", "an import's params come from POST /api/contacts/import");
    if (strlen(upload) > 39 || !int_array(lists) || !json_is_array(columns))
        return problem(p, "params", "malformed import params");
    if (strcmp(mode, "upsert") != 0 && strcmp(mode, "skip") != 0)
        return problem(p, "mode", "mode must be upsert or skip");
    *out = json_pack("{s:s, s:O, s:s, s:s*, s:s*, s:I, s:O, s:I, s:I}", "upload", upload, "lists",
                     lists, "mode", mode, "consentText", text, "consentIp", ip, "consentAtMs", at,
                     "columns", columns, "rows", rows, "bytes", bytes);
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

static int column_index(json_t *columns, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(columns, i, v) if (strcmp(json_string_value(v), name) == 0) return (int)i;
    return -1;
}

static int load_params(json_t *params, struct import_params *prm)
{
    memset(prm, 0, sizeof(*prm));
    json_t *lists = json_object_get(params, "lists");
    prm->upload = json_string_value(json_object_get(params, "upload"));
    prm->consent_text = json_string_value(json_object_get(params, "consentText"));
    prm->consent_ip = json_string_value(json_object_get(params, "consentIp"));
    prm->skip = strcmp(json_string_value(json_object_get(params, "mode")), "skip") == 0;
    prm->consent_at_ms = json_integer_value(json_object_get(params, "consentAtMs"));
    prm->rows = json_integer_value(json_object_get(params, "rows"));
    prm->bytes = json_integer_value(json_object_get(params, "bytes"));
    prm->columns = json_object_get(params, "columns");
    prm->email_col = column_index(prm->columns, "email");
    prm->name_col = column_index(prm->columns, "name");
    if (json_array_size(lists) > 0 && !(prm->lists = json_dumps(lists, JSON_COMPACT)))
        return HERALD_ERR_NOMEM;
    return prm->upload && prm->email_col >= 0 ? HERALD_OK : HERALD_ERR_INVALID;
}

/* ---------------- one row ---------------- */

/* A trimmed view of a field. */
static void trimmed(const struct csv_field *f, const char **s, size_t *len)
{
    *s = f->data;
    *len = f->len;
    while (*len && isspace((unsigned char)**s))
        (*s)++, (*len)--;
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

static bool row_email(const struct csv_field *f, char out[EMAIL_MAX + 1])
{
    const char *s;
    size_t len;
    trimmed(f, &s, &len);
    if (len == 0 || len > EMAIL_MAX || !mail_text_ok(s, len, false))
        return false;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[len] = '\0';
    return evkey_email_valid(out);
}

/* Checks a row and appends it to the batch JSON; writes the email. NULL, or why it is
 * invalid. */
static const char *row_append(struct import_run *r, const struct csv_record *rec,
                              char email[EMAIL_MAX + 1], struct buf *row)
{
    size_t ncols = json_array_size(r->prm.columns);
    if (rec->error)
        return rec->error;
    if (rec->nfields != ncols) {
        snprintf(r->reason, sizeof(r->reason), "expected %zu fields, found %zu", ncols,
                 rec->nfields);
        return r->reason;
    }
    if (!row_email(&rec->fields[r->prm.email_col], email))
        return "invalid email address";
    buf_append_str(row, "[");
    buf_append_json_string(row, email);
    buf_append_str(row, ",");
    const char *s = "";
    size_t len = 0;
    if (r->prm.name_col >= 0)
        trimmed(&rec->fields[r->prm.name_col], &s, &len);
    if (len > MAIL_IMPORT_NAME_MAX)
        return "name longer than 256 bytes";
    if (!mail_text_ok(s, len, false))
        return "name is not valid UTF-8 text on one line";
    char *name = strndup(s, len);
    buf_append_json_string(row, name ? name : "");
    free(name);
    buf_append_str(row, ",{");
    bool first = true;
    for (size_t i = 0; i < ncols; i++) {
        if ((int)i == r->prm.email_col || (int)i == r->prm.name_col)
            continue;
        trimmed(&rec->fields[i], &s, &len);
        if (len == 0)
            continue;
        if (!mail_text_ok(s, len, true))
            return "a value is not valid UTF-8 text";
        char *v = strndup(s, len);
        buf_append_str(row, first ? "" : ",");
        buf_append_json_string(row, json_string_value(json_array_get(r->prm.columns, i)));
        buf_append_str(row, ":");
        buf_append_json_string(row, v ? v : "");
        free(v);
        first = false;
    }
    return buf_append_str(row, "}]") ? "row too large" : NULL;
}

/* ---------------- the batch ---------------- */

/* True when the email is in the batch already; else remembers it. */
static bool seen_before(struct import_run *r, const char *email)
{
    size_t slot = (size_t)(text_hash(email) % SEEN_SLOTS);
    for (; r->seen[slot]; slot = (slot + 1) % SEEN_SLOTS)
        if (strcmp(r->emails[r->seen[slot] - 1], email) == 0)
            return true;
    snprintf(r->emails[r->nvalid], EMAIL_MAX + 1, "%s", email);
    r->seen[slot] = (int32_t)r->nvalid + 1;
    return false;
}

static void batch_reset(struct import_run *r)
{
    buf_reset(&r->batch);
    r->nvalid = 0;
    r->nread = r->ninvalid = 0;
    memset(r->seen, 0, sizeof(r->seen));
    json_array_clear(r->pending_invalid);
}

/* The invalid lines after this batch: the committed ones and the batch's, up to the cap.
 * A new reference. */
static json_t *invalid_after(const struct import_run *r)
{
    json_t *all = json_copy(r->invalid_lines);
    size_t i;
    json_t *v;
    json_array_foreach(r->pending_invalid, i, v)
    {
        if (json_array_size(all) >= MAIL_IMPORT_INVALID_SHOWN)
            break;
        json_array_append(all, v);
    }
    return all;
}

struct batch_tx {
    struct import_run *r;
    const char *batch; /* NULL when the batch has no valid row */
    bool final;
    struct store_import next; /* the state it commits (counters only; strings borrowed) */
};

static int batch_write(struct store_conn *c, struct batch_tx *t, int64_t now)
{
    struct import_run *r = t->r;
    int64_t upd = 0, ins = 0, sub = 0;
    int rc = HERALD_OK;
    if (t->batch && !r->prm.skip)
        rc = store_import_update(c, t->batch, now, &upd);
    if (!rc && t->batch)
        rc = store_import_insert(c, t->batch, now, &ins);
    /* privacy: suppressed (erased) addresses are never subscribed again */
    char *allowed = NULL;
    int64_t suppressed = 0;
    if (!rc && t->batch && r->prm.lists)
        rc = store_suppression_filter(c, t->batch, &allowed, &suppressed);
    if (!rc && allowed)
        rc = store_import_subscribe(c, allowed, r->prm.lists, r->prm.consent_at_ms,
                                    r->prm.consent_ip, r->prm.consent_text, now, &sub);
    free(allowed);
    int64_t rest = (int64_t)r->nvalid - upd - ins;
    t->next.updated += upd;
    t->next.imported += ins;
    t->next.skipped += rest > 0 ? rest : 0;
    t->next.subscribed += sub;
    return rc;
}

static int batch_tx(struct store_conn *c, void *arg)
{
    struct batch_tx *t = arg;
    struct import_run *r = t->r;
    int64_t now = clock_now_ms();
    char *lines = t->next.invalid_lines;
    t->next = r->state; /* from the committed state, whatever an earlier attempt did */
    t->next.invalid_lines = lines;
    t->next.rows_read += r->nread;
    t->next.invalid += r->ninvalid;
    t->next.next_offset = r->end_offset;
    t->next.next_line = r->next_line;
    t->next.done = t->final;
    /* Rows and progress commit only while this run still holds the job. */
    int rc = jobs_ctx_fence(r->ctx, c);
    if (!rc)
        rc = batch_write(c, t, now);
    if (!rc)
        rc = store_import_save(c, &t->next, now);
    if (!rc && t->final)
        rc = store_import_delete(c, r->state.id, false);
    return rc;
}

static void progress_update(struct import_run *r)
{
    json_t *p = jobs_ctx_progress(r->ctx);
    const struct store_import *s = &r->state;
    json_object_set_new(p, "rows", json_integer(r->prm.rows));
    json_object_set_new(p, "rowsRead", json_integer(s->rows_read));
    json_object_set_new(p, "imported", json_integer(s->imported));
    json_object_set_new(p, "updated", json_integer(s->updated));
    json_object_set_new(p, "skipped", json_integer(s->skipped));
    json_object_set_new(p, "invalid", json_integer(s->invalid));
    json_object_set_new(p, "subscribed", json_integer(s->subscribed));
    json_object_set_new(p, "bytesRead", json_integer(s->done ? r->prm.bytes : s->next_offset));
    json_object_set_new(p, "bytes", json_integer(r->prm.bytes));
    json_object_set(p, "invalidLines", r->invalid_lines);
}

/* Writes the batch with the progress in one transaction, then checkpoints. */
static int flush(struct import_run *r, bool final)
{
    if (!final && r->nread == 0)
        return HERALD_OK;
    int rc = buf_append_str(&r->batch, "]");
    json_t *lines = invalid_after(r);
    struct batch_tx t = {r, r->nvalid ? r->batch.data : NULL, final, {.invalid_lines = NULL}};
    t.next.invalid_lines = lines ? json_dumps(lines, JSON_COMPACT) : NULL;
    if (!rc && !t.next.invalid_lines)
        rc = HERALD_ERR_NOMEM;
    if (!rc)
        rc = store_run_tx(r->mi->st, batch_tx, &t);
    if (!rc) {
        free(r->state.invalid_lines);
        r->state = t.next;
        json_decref(r->invalid_lines);
        r->invalid_lines = json_incref(lines);
        t.next.invalid_lines = NULL;
        progress_update(r);
        batch_reset(r);
        rc = jobs_ctx_checkpoint(r->ctx, final);
    }
    free(t.next.invalid_lines);
    json_decref(lines);
    return rc;
}

static int note_invalid(struct import_run *r, int64_t line, const char *reason)
{
    r->ninvalid++;
    if (json_array_size(r->invalid_lines) + json_array_size(r->pending_invalid) >=
        MAIL_IMPORT_INVALID_SHOWN)
        return HERALD_OK;
    return json_array_append_new(r->pending_invalid, json_pack("{s:I, s:s}", "line",
                                                               (json_int_t)line, "reason", reason))
               ? HERALD_ERR_NOMEM
               : HERALD_OK;
}

/* Adds a valid row (its JSON in `row`) to the batch, writing the batch first when the email
 * is in it already (so the later row applies after the earlier). */
static int add_row(struct import_run *r, const char *email, const struct buf *row)
{
    if (seen_before(r, email)) {
        int rc = flush(r, false);
        if (rc)
            return rc;
        seen_before(r, email);
    }
    int rc = buf_append_str(&r->batch, r->nvalid ? "," : "[");
    if (!rc)
        rc = buf_append(&r->batch, row->data, row->len);
    r->nvalid++;
    return rc;
}

static int on_row(void *arg, const struct csv_record *rec)
{
    struct import_run *r = arg;
    int rc = HERALD_OK;
    if (!mail_import_blank(rec)) {
        char email[EMAIL_MAX + 1];
        struct buf row;
        buf_init(&row, 1 << 20);
        const char *why = row_append(r, rec, email, &row);
        rc = why ? note_invalid(r, rec->line, why) : add_row(r, email, &row);
        buf_free(&row);
        r->nread++;
    }
    r->end_offset = rec->end_offset;
    r->next_line = rec->next_line;
    if (!rc && (r->nread >= MAIL_IMPORT_BATCH || r->batch.len >= BATCH_BYTES))
        rc = flush(r, false);
    return rc;
}

/* ---------------- the run ---------------- */

struct start_tx {
    const char *upload, *job_id;
    struct store_import *state;
};

static int start_tx(struct store_conn *c, void *arg)
{
    struct start_tx *t = arg;
    store_import_clear(t->state);
    int rc = store_import_get(c, t->upload, t->state);
    if (!rc && t->state->job_id[0] == '\0')
        rc = store_import_set_job(c, t->upload, t->job_id);
    return rc;
}

struct chunk_read {
    const char *upload;
    int64_t seq;
    char *text;
};

static int chunk_read_tx(struct store_conn *c, void *arg)
{
    struct chunk_read *t = arg;
    free(t->text);
    return store_import_chunk_get(c, t->upload, t->seq, &t->text);
}

/* Chunk `seq`, decoded into `out` (chunk_size bytes). */
static int chunk_load(struct import_run *r, int64_t seq, uint8_t *out, size_t *len)
{
    struct chunk_read t = {r->prm.upload, seq, NULL};
    int rc = store_run_read(r->mi->st, chunk_read_tx, &t);
    if (!rc && crypto_b64url_decode(t.text, out, (size_t)r->state.chunk_size, len))
        rc = HERALD_ERR_INTERNAL;
    free(t.text);
    if (rc == HERALD_ERR_NOT_FOUND || rc == HERALD_ERR_INTERNAL)
        jobs_ctx_fail(r->ctx, true, "chunk %lld of the upload is missing or damaged",
                      (long long)seq);
    return rc;
}

/* Parses the chunks from the saved position to the end, then writes the last batch. */
static int read_chunks(struct import_run *r)
{
    struct csv_opts co;
    mail_import_csv_opts(&co);
    int64_t size = r->state.chunk_size, from = r->state.next_offset;
    struct csv_parser *p = csv_new(&co, from, r->state.next_line);
    uint8_t *data = malloc((size_t)size);
    int rc = p && data && size > 0 ? HERALD_OK : HERALD_ERR_NOMEM;
    r->end_offset = from;
    r->next_line = r->state.next_line;
    for (int64_t seq = from / size; !rc && seq < r->state.chunks; seq++) {
        size_t len = 0, skip = seq == from / size ? (size_t)(from % size) : 0;
        rc = chunk_load(r, seq, data, &len);
        if (!rc && skip <= len)
            rc = csv_feed(p, (const char *)data + skip, len - skip, on_row, r);
        if (!rc && jobs_ctx_should_stop(r->ctx))
            rc = HERALD_ERR_CANCELLED;
    }
    if (!rc)
        rc = csv_finish(p, on_row, r);
    if (!rc)
        rc = flush(r, true);
    csv_free(p);
    free(data);
    return rc;
}

static void run_free(struct import_run *r)
{
    free(r->prm.lists);
    store_import_clear(&r->state);
    json_decref(r->invalid_lines);
    json_decref(r->pending_invalid);
    buf_free(&r->batch);
    free(r->emails);
}

static int run_start(struct import_run *r)
{
    if (load_params(jobs_ctx_params(r->ctx), &r->prm)) {
        jobs_ctx_fail(r->ctx, true, "malformed import params");
        return HERALD_ERR_INVALID;
    }
    struct start_tx t = {r->prm.upload, jobs_ctx_id(r->ctx), &r->state};
    int rc = store_run_tx(r->mi->st, start_tx, &t);
    if (rc == HERALD_ERR_NOT_FOUND)
        jobs_ctx_fail(r->ctx, true, "the upload is gone (abandoned, or its job finished)");
    if (rc)
        return rc;
    r->invalid_lines = json_loads(r->state.invalid_lines, 0, NULL);
    r->pending_invalid = json_array();
    r->emails = calloc(MAIL_IMPORT_BATCH + 1, sizeof(*r->emails));
    buf_init(&r->batch, 4 * BATCH_BYTES);
    if (!json_is_array(r->invalid_lines) || !r->pending_invalid || !r->emails)
        return HERALD_ERR_NOMEM;
    progress_update(r);
    return HERALD_OK;
}

static int run(struct jobs_ctx *ctx)
{
    struct import_run *r = calloc(1, sizeof(*r));
    if (!r)
        return HERALD_ERR_NOMEM;
    r->ctx = ctx;
    r->mi = jobs_ctx_arg(ctx);
    int rc = run_start(r);
    if (!rc && !r->state.done)
        rc = read_chunks(r);
    if (!rc)
        log_info("contact import done",
                 json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "job_id", jobs_ctx_id(ctx), "rows",
                           (json_int_t)r->state.rows_read, "imported",
                           (json_int_t)r->state.imported, "updated", (json_int_t)r->state.updated,
                           "skipped", (json_int_t)r->state.skipped, "invalid",
                           (json_int_t)r->state.invalid));
    run_free(r);
    free(r);
    return rc;
}

const struct jobs_kind mail_import_kind = {
    .name = MAIL_IMPORT_KIND,
    .validate = validate,
    .run = run,
};
