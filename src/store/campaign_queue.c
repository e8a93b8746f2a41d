/* The send queue's operations over the campaigns statement block (store/campaigns.h): the
 * idempotent fill, leased claims, the re-check, renewals, batch outcomes, feedback rows. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "store/campaigns_internal.h"

enum herald_err store_campaign_contact_by_email(struct store_conn *c, const char *email,
                                                struct store_send_row *out)
{
    struct store_val p[] = {SV_STR(email)};
    struct store_res r = {0};
    int failed = 0;
    memset(out, 0, sizeof(*out));
    int rc = store_query(c, STMT_CAMPAIGN_CONTACT_BY_EMAIL, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc) {
        out->contact_id = store_res_i64(&r, 0, 0);
        out->email = store_campaign_dup_text(&r, 0, 1, false, &failed);
        out->name = store_campaign_dup_text(&r, 0, 2, false, &failed);
        out->attributes = store_campaign_dup_text(&r, 0, 3, false, &failed);
        out->mailable = true;
        if (failed) {
            store_send_rows_free_one(out);
            rc = HERALD_ERR_NOMEM;
        }
    }
    store_res_free(&r);
    return rc;
}

/* ---------------- the send queue ---------------- */

enum herald_err store_send_queue_fill(struct store_conn *c, int64_t campaign_id,
                                      int64_t after_contact_id, int limit, int64_t now_ms,
                                      int64_t *inserted, int64_t *last_contact_id)
{
    struct store_val b[] = {SV_I64(campaign_id), SV_I64(after_contact_id), SV_I64(limit)};
    int64_t bound = 0;
    *inserted = 0;
    *last_contact_id = after_contact_id;
    int rc = store_campaign_scalar(c, STMT_SENDQ_FILL_BOUND, b, 3, &bound);
    if (rc || bound <= after_contact_id)
        return rc;
    struct store_val p[] = {SV_I64(campaign_id), SV_I64(after_contact_id), SV_I64(bound),
                            SV_I64(now_ms)};
    rc = store_campaign_exec(c, STMT_SENDQ_FILL, p, 4, inserted);
    if (!rc)
        *last_contact_id = bound;
    return rc;
}

enum herald_err store_send_queue_count(struct store_conn *c, int64_t campaign_id, int64_t *n)
{
    struct store_val p[] = {SV_I64(campaign_id)};
    return store_campaign_scalar(c, STMT_SENDQ_COUNT, p, 1, n);
}

void store_send_rows_free_one(struct store_send_row *row)
{
    free(row->email);
    free(row->name);
    free(row->attributes);
    row->email = row->name = row->attributes = NULL;
}

void store_send_rows_free(struct store_send_row *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++)
        store_send_rows_free_one(&rows[i]);
    free(rows);
}

static int send_row_from(const struct store_res *r, int i, struct store_send_row *row)
{
    int failed = 0;
    row->id = store_res_i64(r, i, 0);
    row->campaign_id = store_res_i64(r, i, 1);
    row->contact_id = store_res_i64(r, i, 2);
    row->list_id = store_res_i64(r, i, 3);
    row->attempts = (int)store_res_i64(r, i, 4);
    row->email = store_campaign_dup_text(r, i, 5, false, &failed);
    row->name = store_campaign_dup_text(r, i, 6, false, &failed);
    row->attributes = store_campaign_dup_text(r, i, 7, false, &failed);
    row->mailable = store_res_i64(r, i, 8) != 0;
    return failed ? HERALD_ERR_NOMEM : HERALD_OK;
}

/* Where the i-th id of a list is: a claim's result, a batch's rows or a batch's outcomes. */
struct id_src {
    const struct store_res *res;
    const struct store_send_row *rows;
    const struct store_send_result *results;
};

static int64_t id_at(const struct id_src *s, size_t i)
{
    if (s->rows)
        return s->rows[i].id;
    if (s->results)
        return s->results[i].id;
    return store_res_i64(s->res, (int)i, 0);
}

/* n ids as one parameter: "[1,2]" for SQLite's json_each, "{1,2}" for a PostgreSQL array. */
static char *ids_param(const struct store_conn *c, const struct id_src *src, size_t n)
{
    bool pg = c->st->be->dialect == DIALECT_POSTGRES;
    struct buf b;
    buf_init(&b, 1 << 20);
    int rc = buf_append_str(&b, pg ? "{" : "[");
    for (size_t i = 0; !rc && i < n; i++)
        rc = buf_printf(&b, "%s%lld", i ? "," : "", (long long)id_at(src, i));
    char *out = NULL;
    if (!rc && !(rc = buf_append_str(&b, pg ? "}" : "]")))
        buf_steal(&b, &out, NULL);
    buf_free(&b);
    return out;
}

static int read_claimed(struct store_conn *c, const char *ids, struct store_send_row **out,
                        size_t *count)
{
    struct store_val q[] = {SV_STR(ids)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_SENDQ_CLAIMED, q, 1, &r);
    if (!rc && r.nrows > 0 && !(*out = calloc((size_t)r.nrows, sizeof(**out))))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++) {
        rc = send_row_from(&r, i, &(*out)[i]);
        (*count)++;
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_send_queue_claim(struct store_conn *c, const char *node, int limit,
                                       int64_t now_ms, int64_t lease_until_ms,
                                       struct store_send_row **out, size_t *count)
{
    struct store_val p[] = {SV_STR(node), SV_I64(now_ms), SV_I64(lease_until_ms), SV_I64(limit)};
    struct store_res r = {0};
    *out = NULL;
    *count = 0;
    int rc = store_query(c, STMT_SENDQ_CLAIM, p, 4, &r);
    struct id_src src = {&r, NULL, NULL};
    char *ids = !rc && r.nrows > 0 ? ids_param(c, &src, (size_t)r.nrows) : NULL;
    if (!rc && r.nrows > 0 && !ids)
        rc = HERALD_ERR_NOMEM;
    store_res_free(&r);
    if (!rc && ids)
        rc = read_claimed(c, ids, out, count);
    free(ids);
    if (rc) {
        store_send_rows_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

enum herald_err store_send_queue_recheck(struct store_conn *c, const struct store_send_row *rows,
                                         size_t nrows, int64_t *unmailable, size_t *n)
{
    struct id_src src = {NULL, rows, NULL};
    char *ids = ids_param(c, &src, nrows);
    if (!ids)
        return HERALD_ERR_NOMEM;
    struct store_val p[] = {SV_STR(ids)};
    struct store_res r = {0};
    *n = 0;
    int rc = store_query(c, STMT_SENDQ_RECHECK, p, 1, &r);
    for (int i = 0; !rc && i < r.nrows && *n < nrows; i++)
        unmailable[(*n)++] = store_res_i64(&r, i, 0);
    store_res_free(&r);
    free(ids);
    return rc;
}

/* Marks owned[i] for every row of rows[0..n) whose id is in the statement's result. */
static void mark_owned(const struct store_res *r, const struct id_src *src, size_t n, bool *owned)
{
    for (size_t i = 0; i < n; i++)
        owned[i] = false;
    for (int k = 0; k < r->nrows; k++) {
        int64_t id = store_res_i64(r, k, 0);
        for (size_t i = 0; i < n; i++)
            if (id_at(src, i) == id)
                owned[i] = true;
    }
}

enum herald_err store_send_queue_renew(struct store_conn *c, const char *node,
                                       const struct store_send_row *rows, size_t nrows,
                                       int64_t new_lease_until_ms, bool *owned)
{
    struct id_src src = {NULL, rows, NULL};
    char *ids = ids_param(c, &src, nrows);
    if (!ids)
        return HERALD_ERR_NOMEM;
    struct store_val p[] = {SV_STR(ids), SV_STR(node), SV_I64(new_lease_until_ms)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_SENDQ_RENEW, p, 3, &r);
    if (!rc)
        mark_owned(&r, &src, nrows, owned);
    store_res_free(&r);
    free(ids);
    return rc;
}

static const char *outcome_name(enum store_send_outcome o)
{
    static const char *const names[] = {"sent", "failed", "bounced", "skipped", "retry", "release"};
    return names[o];
}

static json_t *results_json(const struct store_send_result *res, size_t n, int64_t now_ms)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        const struct store_send_result *x = &res[i];
        int inc = x->outcome == STORE_SEND_RELEASE || x->outcome == STORE_SEND_SKIPPED ? 0 : 1;
        int64_t ra = x->run_after_ms > 0 ? x->run_after_ms : now_ms;
        if (json_array_append_new(arr, json_pack("{s:I, s:s, s:s?, s:s?, s:I, s:i}", "id",
                                                 (json_int_t)x->id, "st", outcome_name(x->outcome),
                                                 "mid", x->message_id, "err", x->error, "ra",
                                                 (json_int_t)ra, "inc", inc))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int record_bounces(struct store_conn *c, const struct store_send_result *res, size_t n,
                          int64_t now_ms, const bool *applied)
{
    int rc = HERALD_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        if (res[i].outcome != STORE_SEND_BOUNCED || !applied[i])
            continue;
        struct store_val p[] = {SV_I64(res[i].contact_id), SV_I64(now_ms)};
        rc = store_campaign_exec(c, STMT_SENDQ_CONTACT_BOUNCED, p, 2, NULL);
        if (!rc)
            rc = store_mail_feedback_insert(c, res[i].campaign_id, res[i].contact_id, res[i].id,
                                            "bounce_hard", NULL, res[i].error, now_ms);
    }
    return rc;
}

enum herald_err store_send_queue_record(struct store_conn *c, const char *node,
                                        const struct store_send_result *res, size_t n,
                                        int64_t now_ms, bool *applied)
{
    if (n == 0)
        return HERALD_OK;
    json_t *arr = results_json(res, n, now_ms);
    char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!text)
        return HERALD_ERR_NOMEM;
    struct id_src src = {NULL, NULL, res};
    char *ids = ids_param(c, &src, n);
    struct store_val p[] = {SV_STR(text), SV_STR(node), SV_I64(now_ms), SV_STR(ids)};
    bool pg = c->st->be->dialect == DIALECT_POSTGRES; /* only its statement takes the ids */
    struct store_res r = {0};
    int rc = ids ? store_query(c, STMT_SENDQ_RESULTS, p, pg ? 4 : 3, &r) : HERALD_ERR_NOMEM;
    if (!rc)
        mark_owned(&r, &src, n, applied);
    store_res_free(&r);
    free(text);
    free(ids);
    return rc ? rc : record_bounces(c, res, n, now_ms, applied);
}

enum herald_err store_send_queue_cancel(struct store_conn *c, int64_t campaign_id, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(campaign_id), SV_I64(now_ms)};
    return store_campaign_exec(c, STMT_SENDQ_CANCEL, p, 2, NULL);
}

enum herald_err store_send_queue_depth(struct store_conn *c, int64_t *pending)
{
    return store_campaign_scalar(c, STMT_SENDQ_DEPTH, NULL, 0, pending);
}

enum herald_err store_mail_feedback_insert(struct store_conn *c, int64_t campaign_id,
                                           int64_t contact_id, int64_t queue_id, const char *kind,
                                           const char *url, const char *detail, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(campaign_id), SV_I64(contact_id), SV_I64(queue_id), SV_STR(kind),
                            SV_STR(url),         SV_STR(detail),     SV_I64(now_ms)};
    return store_campaign_exec(c, STMT_MAIL_FEEDBACK_INSERT, p, 7, NULL);
}

enum herald_err store_send_queue_find(struct store_conn *c, int64_t campaign_id, int64_t contact_id,
                                      int64_t *queue_id, char **email)
{
    struct store_val p[] = {SV_I64(campaign_id), SV_I64(contact_id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_SENDQ_FIND, p, 2, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc) {
        *queue_id = store_res_i64(&r, 0, 0);
        if (!(*email = strdup(store_res_text(&r, 0, 1))))
            rc = HERALD_ERR_NOMEM;
    }
    store_res_free(&r);
    return rc;
}
