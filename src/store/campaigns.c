/* The store's campaigns statements (block STMT_CAMPAIGNS__BASE..STMT_CAMPAIGNS__END of the
 * registry) and the campaign operations over them; the send queue is in campaign_queue.c. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/campaigns.h"
#include "store/campaigns_internal.h"

#define CAMP_COLS                                                                                  \
    "id, name, subject, from_email, from_name, reply_to, template_id, html, text, status, "        \
    "tracking, send_at_ms, recipients, start_job_id, started_at_ms, finished_at_ms, "              \
    "created_at_ms, updated_at_ms"
/* MAILABLE (SPEC): q is the send_queue row, c its contact (LEFT JOIN: a deleted contact is
 * not mailable). A service campaign (an automation's service mail about a stay, migration
 * 0016) needs no list subscription; everything else still holds. */
#define MAILABLE                                                                                   \
    "(CASE WHEN c.id IS NOT NULL AND c.status = 'enabled' AND c.delivery = 'ok' AND "              \
    "c.unsubscribed_at_ms IS NULL AND (EXISTS (SELECT 1 FROM campaigns k WHERE k.id = "            \
    "q.campaign_id AND k.service = 1) OR EXISTS (SELECT 1 FROM subscriptions s JOIN "              \
    "campaign_lists cl ON cl.list_id = s.list_id AND cl.campaign_id = q.campaign_id WHERE "        \
    "s.contact_id = q.contact_id AND s.status = 'confirmed')) THEN 1 ELSE 0 END)"
#define FILL_FROM                                                                                  \
    " FROM subscriptions s JOIN campaign_lists cl ON cl.list_id = s.list_id AND "                  \
    "cl.campaign_id = $1 JOIN contacts c ON c.id = s.contact_id WHERE s.status = 'confirmed' "     \
    "AND c.status = 'enabled' AND c.delivery = 'ok' AND c.unsubscribed_at_ms IS NULL "
#define IDS_SQLITE "(SELECT value FROM json_each($1))"
/* $1 is a list of ids: "[1,2]" (JSON) for SQLite, "{1,2}" (an array) for PostgreSQL, whose
   planner looks an array up in the primary key where it would scan for a function's rows. */
#define IDS_PG "(SELECT unnest(CAST($1 AS BIGINT[])))"
#define RESULTS_SET                                                                                \
    "status = CASE WHEN v.st IN ('retry', 'release') THEN send_queue.status ELSE v.st END, "       \
    "attempts = send_queue.attempts + v.inc, message_id = COALESCE(v.mid, "                        \
    "send_queue.message_id), last_error = COALESCE(v.err, send_queue.last_error), "                \
    "run_after_ms = CASE WHEN v.st IN ('retry', 'release') THEN v.ra ELSE "                        \
    "send_queue.run_after_ms END, sent_at_ms = CASE WHEN v.st = 'sent' THEN $3 ELSE "              \
    "send_queue.sent_at_ms END, locked_by = NULL, lease_until_ms = NULL, updated_at_ms = $3 "

const struct store_stmt_def store_campaigns_stmts[STMT_CAMPAIGNS__END - STMT_CAMPAIGNS__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
#define S(id) [id - STMT_CAMPAIGNS__BASE]
    S(STMT_CAMPAIGN_INSERT) = {"INSERT INTO campaigns (name, subject, from_email, from_name, "
                               "reply_to, template_id, html, text, status, tracking, send_at_ms, "
                               "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                               "$8, $9, $10, $11, $12, $12) RETURNING id",
                               NULL, true},
    S(STMT_CAMPAIGN_LIST_ADD) = {"INSERT INTO campaign_lists (campaign_id, list_id) VALUES ($1, "
                                 "$2) ON CONFLICT DO NOTHING",
                                 NULL, true},
    S(STMT_CAMPAIGN_LISTS_DELETE) = {"DELETE FROM campaign_lists WHERE campaign_id = $1", NULL,
                                     true},
    S(STMT_CAMPAIGN_GET) = {"SELECT " CAMP_COLS " FROM campaigns WHERE id = $1", NULL, false},
    S(STMT_CAMPAIGN_LISTS_GET) = {"SELECT list_id FROM campaign_lists WHERE campaign_id = $1 "
                                  "ORDER BY list_id",
                                  NULL, false},
    /* an automation's per-send campaigns are listed under their automation, not here */
    S(STMT_CAMPAIGN_LIST) = {"SELECT " CAMP_COLS " FROM campaigns WHERE ($1 = 0 OR id < $1) "
                             "AND automation_id IS NULL ORDER BY id DESC LIMIT $2",
                             NULL, false},
    S(STMT_CAMPAIGN_UPDATE) = {"UPDATE campaigns SET name = $2, subject = $3, from_email = $4, "
                               "from_name = $5, reply_to = $6, template_id = $7, html = $8, text "
                               "= $9, tracking = $10, send_at_ms = $11, updated_at_ms = $12 WHERE "
                               "id = $1 AND status IN ('draft', 'scheduled')",
                               NULL, true},
    S(STMT_CAMPAIGN_DELETE) = {"DELETE FROM campaigns WHERE id = $1 AND status IN ('draft', "
                               "'scheduled')",
                               NULL, true},
    S(STMT_CAMPAIGN_QUEUE_DELETE) = {"DELETE FROM send_queue WHERE campaign_id = $1", NULL, true},
    S(STMT_CAMPAIGN_TRANSITION) = {"UPDATE campaigns SET status = $3, started_at_ms = CASE WHEN "
                                   "$3 = 'running' AND started_at_ms IS NULL THEN $4 ELSE "
                                   "started_at_ms END, finished_at_ms = CASE WHEN $3 IN "
                                   "('finished', 'cancelled') THEN $4 ELSE finished_at_ms END, "
                                   "start_job_id = COALESCE($5, start_job_id), updated_at_ms = $4 "
                                   "WHERE id = $1 AND (',' || $2 || ',') LIKE ('%,' || status || "
                                   "',%')",
                                   "UPDATE campaigns SET status = $3, started_at_ms = CASE WHEN "
                                   "$3 = 'running' AND started_at_ms IS NULL THEN $4 ELSE "
                                   "started_at_ms END, finished_at_ms = CASE WHEN $3 IN "
                                   "('finished', 'cancelled') THEN $4 ELSE finished_at_ms END, "
                                   "start_job_id = COALESCE(CAST($5 AS TEXT), start_job_id), "
                                   "updated_at_ms = $4 WHERE id = $1 AND (',' || CAST($2 AS TEXT) "
                                   "|| ',') LIKE ('%,' || status || ',%')",
                                   true},
    S(STMT_CAMPAIGN_SET_RECIPIENTS) = {"UPDATE campaigns SET recipients = $2, updated_at_ms = $3 "
                                       "WHERE id = $1",
                                       NULL, true},
    S(STMT_CAMPAIGN_STATUS) = {"SELECT status FROM campaigns WHERE id = $1", NULL, false},
    S(STMT_CAMPAIGN_FINISH_IF_DONE) = {"UPDATE campaigns SET status = 'finished', finished_at_ms "
                                       "= $2, updated_at_ms = $2 WHERE id = $1 AND status = "
                                       "'running' AND NOT EXISTS (SELECT 1 FROM send_queue q "
                                       "WHERE q.campaign_id = $1 AND q.status = 'pending')",
                                       NULL, true},
    S(STMT_CAMPAIGN_FINISH_ALL_DONE) = {"UPDATE campaigns SET status = 'finished', "
                                        "finished_at_ms = $1, updated_at_ms = $1 WHERE status = "
                                        "'running' AND NOT EXISTS (SELECT 1 FROM send_queue q "
                                        "WHERE q.campaign_id = campaigns.id AND q.status = "
                                        "'pending')",
                                        NULL, true},
    S(STMT_CAMPAIGN_LIST_EXISTS) = {"SELECT id FROM mail_lists WHERE id = $1", NULL, false},
    /* per status: rows, and rows that were handed to the relay (a DSN moves sent → bounced) */
    S(STMT_CAMPAIGN_QUEUE_COUNTS) = {"SELECT status, COUNT(*), SUM(CASE WHEN sent_at_ms IS NOT "
                                     "NULL THEN 1 ELSE 0 END) FROM send_queue WHERE campaign_id "
                                     "= $1 GROUP BY status",
                                     NULL, false},
    S(STMT_CAMPAIGN_FEEDBACK_COUNTS) = {"SELECT kind, COUNT(DISTINCT contact_id) FROM "
                                        "mail_feedback WHERE campaign_id = $1 AND kind IN "
                                        "('open', 'click', 'unsubscribe') GROUP BY kind",
                                        NULL, false},
    S(STMT_CAMPAIGN_SENT_SINCE) = {"SELECT COUNT(*) FROM send_queue WHERE campaign_id = $1 AND "
                                   "status IN ('sent', 'bounced') AND sent_at_ms >= $2",
                                   NULL, false},
    S(STMT_CAMPAIGN_TEMPLATE_GET) = {"SELECT subject, html, text FROM mail_templates WHERE id = "
                                     "$1",
                                     NULL, false},
    S(STMT_SENDQ_FILL_BOUND) = {"SELECT MAX(contact_id) FROM (SELECT DISTINCT s.contact_id FROM "
                                "subscriptions s JOIN campaign_lists cl ON cl.list_id = "
                                "s.list_id AND cl.campaign_id = $1 WHERE s.status = 'confirmed' "
                                "AND s.contact_id > $2 ORDER "
                                "BY s.contact_id LIMIT $3) t",
                                NULL, false},
    S(STMT_SENDQ_FILL) =
        {"INSERT INTO send_queue (campaign_id, contact_id, list_id, status, "
         "updated_at_ms) SELECT $1, s.contact_id, MIN(s.list_id), 'pending', $4" FILL_FROM
         "AND s.contact_id > $2 AND s.contact_id <= $3 GROUP BY s.contact_id ON "
         "CONFLICT (campaign_id, contact_id) DO NOTHING",
         "INSERT INTO send_queue (campaign_id, contact_id, list_id, status, "
         "updated_at_ms) SELECT CAST($1 AS BIGINT), s.contact_id, MIN(s.list_id), "
         "'pending', CAST($4 AS BIGINT)" FILL_FROM
         "AND s.contact_id > $2 AND s.contact_id <= $3 GROUP BY s.contact_id ON "
         "CONFLICT (campaign_id, contact_id) DO NOTHING",
         true},
    S(STMT_SENDQ_COUNT) = {"SELECT COUNT(*) FROM send_queue WHERE campaign_id = $1", NULL, false},
    S(STMT_SENDQ_CLAIM) = {"UPDATE send_queue SET locked_by = $1, lease_until_ms = $3, "
                           "run_after_ms = $3, updated_at_ms = $2 WHERE id IN (SELECT q.id FROM "
                           "send_queue q WHERE q.status = 'pending' AND q.run_after_ms <= $2 AND "
                           "q.campaign_id IN (SELECT id FROM campaigns WHERE status = 'running') "
                           "LIMIT $4) RETURNING id",
                           /* each running campaign's due rows through the partial index, in
                              run_after order, locked rows skipped */
                           "UPDATE send_queue SET locked_by = $1, lease_until_ms = $3, "
                           "run_after_ms = $3, updated_at_ms = $2 WHERE id IN (SELECT x.id FROM "
                           "campaigns c CROSS JOIN LATERAL (SELECT q.id FROM send_queue q WHERE "
                           "q.campaign_id = c.id AND q.status = 'pending' AND q.run_after_ms <= "
                           "$2 ORDER BY q.run_after_ms LIMIT $4 FOR UPDATE OF q SKIP LOCKED) x "
                           "WHERE c.status = 'running' LIMIT $4) RETURNING id",
                           true},
    /* The rows of a batch by id ($1: a JSON array of ids), so no statement scans the queue
       for this node's leases. */
    S(STMT_SENDQ_CLAIMED) = {"SELECT q.id, q.campaign_id, q.contact_id, q.list_id, q.attempts, "
                             "c.email, c.name, c.attributes, " MAILABLE
                             " FROM send_queue q LEFT JOIN contacts c ON c.id = q.contact_id "
                             "WHERE q.id IN " IDS_SQLITE " ORDER BY q.id",
                             "SELECT q.id, q.campaign_id, q.contact_id, q.list_id, q.attempts, "
                             "c.email, c.name, c.attributes, " MAILABLE
                             " FROM send_queue q LEFT JOIN contacts c ON c.id = q.contact_id "
                             "WHERE q.id IN " IDS_PG " ORDER BY q.id",
                             false},
    S(STMT_SENDQ_RECHECK) = {"SELECT q.id FROM send_queue q LEFT JOIN contacts c ON c.id = "
                             "q.contact_id WHERE q.id IN " IDS_SQLITE " AND q.status = 'pending' "
                             "AND " MAILABLE " = 0",
                             "SELECT q.id FROM send_queue q LEFT JOIN contacts c ON c.id = "
                             "q.contact_id WHERE q.id IN " IDS_PG
                             " AND q.status = 'pending' AND " MAILABLE " = 0",
                             false},
    S(STMT_SENDQ_RENEW) = {"UPDATE send_queue SET lease_until_ms = $3, run_after_ms = $3 WHERE "
                           "id IN " IDS_SQLITE
                           " AND locked_by = $2 AND status = 'pending' RETURNING id",
                           "UPDATE send_queue SET lease_until_ms = $3, run_after_ms = $3 WHERE "
                           "id IN " IDS_PG " AND locked_by = $2 AND status = 'pending' "
                           "RETURNING id",
                           true},
    S(STMT_SENDQ_RESULTS) = {"UPDATE send_queue SET " RESULTS_SET
                             "FROM (SELECT json_extract(value, '$.id') AS id, "
                             "json_extract(value, '$.st') AS st, json_extract(value, '$.mid') AS "
                             "mid, json_extract(value, '$.err') AS err, json_extract(value, "
                             "'$.ra') AS ra, json_extract(value, '$.inc') AS inc FROM "
                             "json_each($1)) AS v WHERE send_queue.id = v.id AND "
                             "send_queue.locked_by = $2 "
                             "RETURNING id",
                             "UPDATE send_queue SET " RESULTS_SET
                             "FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS v(id BIGINT, st TEXT, "
                             "mid TEXT, err TEXT, ra BIGINT, inc INTEGER) WHERE send_queue.id = "
                             "v.id AND send_queue.id = ANY(CAST($4 AS BIGINT[])) AND "
                             "send_queue.locked_by = $2 "
                             "RETURNING send_queue.id",
                             true},
    S(STMT_SENDQ_CANCEL) = {"UPDATE send_queue SET status = 'cancelled', updated_at_ms = $2 "
                            "WHERE campaign_id = $1 AND status = 'pending'",
                            NULL, true},
    S(STMT_SENDQ_DEPTH) = {"SELECT COUNT(*) FROM send_queue q JOIN campaigns c ON c.id = "
                           "q.campaign_id WHERE q.status = 'pending' AND c.status = 'running'",
                           NULL, false},
    S(STMT_SENDQ_FIND) = {"SELECT q.id, c.email FROM send_queue q JOIN contacts c ON c.id = "
                          "q.contact_id WHERE q.campaign_id = $1 AND q.contact_id = $2",
                          NULL, false},
    S(STMT_SENDQ_CONTACT_BOUNCED) = {"UPDATE contacts SET delivery = 'bounced', updated_at_ms = "
                                     "$2 WHERE id = $1",
                                     NULL, true},
    S(STMT_MAIL_FEEDBACK_INSERT) = {"INSERT INTO mail_feedback (campaign_id, contact_id, "
                                    "queue_id, kind, url, detail, created_at_ms) VALUES ($1, $2, "
                                    "$3, $4, $5, $6, $7)",
                                    NULL, true},
    S(STMT_CAMPAIGN_CONTACT_BY_EMAIL) = {"SELECT id, email, name, attributes FROM contacts WHERE "
                                         "email = $1",
                                         NULL, false},
    /* A template campaign's content is copied into the campaign once, when sending starts:
       every node renders the same message whatever happens to the template later. */
    S(STMT_CAMPAIGN_SNAPSHOT) = {"UPDATE campaigns SET subject = CASE WHEN campaigns.subject = "
                                 "'' THEN t.subject ELSE campaigns.subject END, html = t.html, "
                                 "text = t.text, updated_at_ms = $2 FROM mail_templates t WHERE "
                                 "campaigns.id = $1 AND t.id = campaigns.template_id AND "
                                 "campaigns.html IS NULL AND campaigns.text IS NULL",
                                 NULL, true},
#undef S
};

char *store_campaign_dup_text(const struct store_res *r, int row, int col, bool keep_null,
                              int *failed)
{
    const char *s = store_res_text(r, row, col);
    if (!s && keep_null)
        return NULL;
    char *d = strdup(s ? s : "");
    if (!d)
        *failed = 1;
    return d;
}

static int campaign_from_row(const struct store_res *r, int row, struct store_campaign *cp)
{
    int failed = 0;
    memset(cp, 0, sizeof(*cp));
    cp->id = store_res_i64(r, row, 0);
    cp->name = store_campaign_dup_text(r, row, 1, false, &failed);
    cp->subject = store_campaign_dup_text(r, row, 2, false, &failed);
    cp->from_email = store_campaign_dup_text(r, row, 3, false, &failed);
    cp->from_name = store_campaign_dup_text(r, row, 4, false, &failed);
    cp->reply_to = store_campaign_dup_text(r, row, 5, false, &failed);
    cp->template_id = store_res_i64(r, row, 6);
    cp->html = store_campaign_dup_text(r, row, 7, true, &failed);
    cp->text = store_campaign_dup_text(r, row, 8, true, &failed);
    snprintf(cp->status, sizeof(cp->status), "%s", store_res_text(r, row, 9));
    cp->tracking = store_res_i64(r, row, 10) != 0;
    cp->send_at_ms = store_res_i64(r, row, 11);
    cp->recipients = store_res_i64(r, row, 12);
    const char *job = store_res_text(r, row, 13);
    snprintf(cp->start_job_id, sizeof(cp->start_job_id), "%s", job ? job : "");
    cp->started_at_ms = store_res_i64(r, row, 14);
    cp->finished_at_ms = store_res_i64(r, row, 15);
    cp->created_at_ms = store_res_i64(r, row, 16);
    cp->updated_at_ms = store_res_i64(r, row, 17);
    if (failed) {
        store_campaign_clear(cp);
        return HERALD_ERR_NOMEM;
    }
    return HERALD_OK;
}

void store_campaign_clear(struct store_campaign *c)
{
    free(c->name);
    free(c->subject);
    free(c->from_email);
    free(c->from_name);
    free(c->reply_to);
    free(c->html);
    free(c->text);
    free(c->lists);
    c->name = c->subject = c->from_email = c->from_name = c->reply_to = NULL;
    c->html = c->text = NULL;
    c->lists = NULL;
    c->nlists = 0;
}

void store_campaigns_free(struct store_campaign *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++)
        store_campaign_clear(&rows[i]);
    free(rows);
}

int store_campaign_exec(struct store_conn *c, enum store_stmt stmt, const struct store_val *p,
                        int n, int64_t *changes)
{
    struct store_res r = {0};
    int rc = store_query(c, stmt, p, n, &r);
    if (changes)
        *changes = rc ? 0 : r.changes;
    store_res_free(&r);
    return rc;
}

int store_campaign_scalar(struct store_conn *c, enum store_stmt stmt, const struct store_val *p,
                          int n, int64_t *out)
{
    struct store_res r = {0};
    int rc = store_query(c, stmt, p, n, &r);
    *out = !rc && r.nrows > 0 ? store_res_i64(&r, 0, 0) : 0;
    store_res_free(&r);
    return rc;
}

static int write_lists(struct store_conn *c, int64_t id, const int64_t *lists, size_t n)
{
    struct store_val d[] = {SV_I64(id)};
    int rc = store_campaign_exec(c, STMT_CAMPAIGN_LISTS_DELETE, d, 1, NULL);
    for (size_t i = 0; !rc && i < n; i++) {
        struct store_val p[] = {SV_I64(id), SV_I64(lists[i])};
        rc = store_campaign_exec(c, STMT_CAMPAIGN_LIST_ADD, p, 2, NULL);
    }
    return rc;
}

static void fields_params(const struct store_campaign *cp, struct store_val p[10])
{
    p[0] = SV_STR(cp->name);
    p[1] = SV_STR(cp->subject);
    p[2] = SV_STR(cp->from_email);
    p[3] = SV_STR(cp->from_name ? cp->from_name : "");
    p[4] = SV_STR(cp->reply_to ? cp->reply_to : "");
    p[5] = cp->template_id ? SV_I64(cp->template_id) : SV_NUL;
    p[6] = SV_STR(cp->html);
    p[7] = SV_STR(cp->text);
    p[8] = SV_I64(cp->tracking ? 1 : 0);
    p[9] = cp->send_at_ms ? SV_I64(cp->send_at_ms) : SV_NUL;
}

enum herald_err store_campaign_insert(struct store_conn *c, const struct store_campaign *cp,
                                      int64_t now_ms, int64_t *id)
{
    struct store_val f[10];
    fields_params(cp, f);
    struct store_val p[12] = {
        f[0], f[1], f[2],          f[3], f[4], f[5], f[6], f[7], SV_STR(cp->status),
        f[8], f[9], SV_I64(now_ms)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_CAMPAIGN_INSERT, p, 12, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_DB;
    if (!rc)
        *id = store_res_i64(&r, 0, 0);
    store_res_free(&r);
    return rc ? rc : write_lists(c, *id, cp->lists, cp->nlists);
}

static int read_lists(struct store_conn *c, struct store_campaign *cp)
{
    struct store_val p[] = {SV_I64(cp->id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_CAMPAIGN_LISTS_GET, p, 1, &r);
    if (!rc && r.nrows > 0 && !(cp->lists = calloc((size_t)r.nrows, sizeof(int64_t))))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++)
        cp->lists[cp->nlists++] = store_res_i64(&r, i, 0);
    store_res_free(&r);
    return rc;
}

enum herald_err store_campaign_get(struct store_conn *c, int64_t id, struct store_campaign *out)
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r = {0};
    memset(out, 0, sizeof(*out));
    int rc = store_query(c, STMT_CAMPAIGN_GET, p, 1, &r);
    if (!rc)
        rc = r.nrows ? campaign_from_row(&r, 0, out) : HERALD_ERR_NOT_FOUND;
    store_res_free(&r);
    if (!rc && (rc = read_lists(c, out)))
        store_campaign_clear(out);
    return rc;
}

enum herald_err store_campaign_list(struct store_conn *c, int64_t before_id, int limit,
                                    struct store_campaign **out, size_t *count)
{
    struct store_val p[] = {SV_I64(before_id > 0 ? before_id : 0), SV_I64(limit)};
    struct store_res r = {0};
    *out = NULL;
    *count = 0;
    int rc = store_query(c, STMT_CAMPAIGN_LIST, p, 2, &r);
    if (!rc && !(*out = calloc(r.nrows ? (size_t)r.nrows : 1, sizeof(**out))))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++) {
        rc = campaign_from_row(&r, i, &(*out)[i]);
        if (!rc) {
            (*count)++;
            rc = read_lists(c, &(*out)[i]);
        }
    }
    store_res_free(&r);
    if (rc) {
        store_campaigns_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

/* NOT_FOUND when the campaign does not exist, CONFLICT when it does (a guard failed). */
static int missing_or_conflict(struct store_conn *c, int64_t id)
{
    char status[16];
    int rc = store_campaign_status(c, id, status);
    return rc ? rc : HERALD_ERR_CONFLICT;
}

enum herald_err store_campaign_update(struct store_conn *c, const struct store_campaign *cp,
                                      int64_t now_ms)
{
    struct store_val f[10];
    fields_params(cp, f);
    struct store_val p[12] = {SV_I64(cp->id), f[0], f[1], f[2], f[3], f[4],
                              f[5],           f[6], f[7], f[8], f[9], SV_I64(now_ms)};
    int64_t changed = 0;
    int rc = store_campaign_exec(c, STMT_CAMPAIGN_UPDATE, p, 12, &changed);
    if (!rc && changed == 0)
        return missing_or_conflict(c, cp->id);
    struct store_val q[] = {SV_I64(cp->id)};
    if (!rc) /* nothing was sent while draft or scheduled: the next start refills */
        rc = store_campaign_exec(c, STMT_CAMPAIGN_QUEUE_DELETE, q, 1, NULL);
    return rc ? rc : write_lists(c, cp->id, cp->lists, cp->nlists);
}

enum herald_err store_campaign_delete(struct store_conn *c, int64_t id)
{
    struct store_val p[] = {SV_I64(id)};
    int64_t changed = 0;
    int rc = store_campaign_exec(c, STMT_CAMPAIGN_DELETE, p, 1, &changed);
    if (!rc && changed == 0)
        return missing_or_conflict(c, id);
    if (!rc)
        rc = store_campaign_exec(c, STMT_CAMPAIGN_LISTS_DELETE, p, 1, NULL);
    return rc ? rc : store_campaign_exec(c, STMT_CAMPAIGN_QUEUE_DELETE, p, 1, NULL);
}

enum herald_err store_campaign_transition(struct store_conn *c, int64_t id, const char *from,
                                          const char *to, const char *start_job_id, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(id), SV_STR(from), SV_STR(to), SV_I64(now_ms),
                            SV_STR(start_job_id)};
    int64_t changed = 0;
    int rc = store_campaign_exec(c, STMT_CAMPAIGN_TRANSITION, p, 5, &changed);
    if (!rc && changed == 0)
        return missing_or_conflict(c, id);
    return rc;
}

enum herald_err store_campaign_set_recipients(struct store_conn *c, int64_t id, int64_t n,
                                              int64_t now_ms)
{
    struct store_val p[] = {SV_I64(id), SV_I64(n), SV_I64(now_ms)};
    return store_campaign_exec(c, STMT_CAMPAIGN_SET_RECIPIENTS, p, 3, NULL);
}

enum herald_err store_campaign_status(struct store_conn *c, int64_t id, char status[16])
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_CAMPAIGN_STATUS, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        snprintf(status, 16, "%s", store_res_text(&r, 0, 0));
    store_res_free(&r);
    return rc;
}

enum herald_err store_campaign_finish_if_done(struct store_conn *c, int64_t id, int64_t now_ms,
                                              bool *finished)
{
    struct store_val p[] = {SV_I64(id), SV_I64(now_ms)};
    int64_t changed = 0;
    int rc = store_campaign_exec(c, STMT_CAMPAIGN_FINISH_IF_DONE, p, 2, &changed);
    *finished = !rc && changed > 0;
    return rc;
}

enum herald_err store_campaign_finish_all_done(struct store_conn *c, int64_t now_ms,
                                               int64_t *finished)
{
    struct store_val p[] = {SV_I64(now_ms)};
    return store_campaign_exec(c, STMT_CAMPAIGN_FINISH_ALL_DONE, p, 1, finished);
}

enum herald_err store_campaign_lists_missing(struct store_conn *c, const int64_t *ids, size_t n,
                                             int64_t *missing)
{
    *missing = 0;
    for (size_t i = 0; i < n; i++) {
        struct store_val p[] = {SV_I64(ids[i])};
        int64_t found = 0;
        int rc = store_campaign_scalar(c, STMT_CAMPAIGN_LIST_EXISTS, p, 1, &found);
        if (rc)
            return rc;
        if (!found) {
            *missing = ids[i];
            return HERALD_OK;
        }
    }
    return HERALD_OK;
}

static void count_status(struct store_campaign_counts *o, const char *status, int64_t n)
{
    static const struct {
        const char *name;
        size_t off;
    } map[] = {
        {"pending", offsetof(struct store_campaign_counts, pending)},
        {"sent", offsetof(struct store_campaign_counts, sent)},
        {"failed", offsetof(struct store_campaign_counts, failed)},
        {"bounced", offsetof(struct store_campaign_counts, bounced)},
        {"skipped", offsetof(struct store_campaign_counts, skipped)},
        {"cancelled", offsetof(struct store_campaign_counts, cancelled)},
        {"open", offsetof(struct store_campaign_counts, opened)},
        {"click", offsetof(struct store_campaign_counts, clicked)},
        {"unsubscribe", offsetof(struct store_campaign_counts, unsubscribed)},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].name, status) == 0)
            *(int64_t *)((char *)o + map[i].off) = n;
}

static int add_counts(struct store_conn *c, enum store_stmt stmt, int64_t id,
                      struct store_campaign_counts *out)
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r = {0};
    int rc = store_query(c, stmt, p, 1, &r);
    for (int i = 0; !rc && i < r.nrows; i++) {
        const char *status = store_res_text(&r, i, 0);
        count_status(out, status, store_res_i64(&r, i, 1));
        if (stmt == STMT_CAMPAIGN_QUEUE_COUNTS && strcmp(status, "bounced") == 0)
            out->bounced_after_send = store_res_i64(&r, i, 2);
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_campaign_counts(struct store_conn *c, int64_t id, int64_t now_ms,
                                      struct store_campaign_counts *out)
{
    memset(out, 0, sizeof(*out));
    int rc = add_counts(c, STMT_CAMPAIGN_QUEUE_COUNTS, id, out);
    if (!rc)
        rc = add_counts(c, STMT_CAMPAIGN_FEEDBACK_COUNTS, id, out);
    out->sent += out->bounced_after_send; /* sent = handed to the relay, bounced later or not */
    struct store_val p[] = {SV_I64(id), SV_I64(now_ms - 60000)};
    return rc ? rc
              : store_campaign_scalar(c, STMT_CAMPAIGN_SENT_SINCE, p, 2, &out->sent_last_minute);
}

enum herald_err store_campaign_snapshot(struct store_conn *c, int64_t id, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(id), SV_I64(now_ms)};
    return store_campaign_exec(c, STMT_CAMPAIGN_SNAPSHOT, p, 2, NULL);
}

enum herald_err store_campaign_template(struct store_conn *c, int64_t template_id, char **subject,
                                        char **html, char **text)
{
    struct store_val p[] = {SV_I64(template_id)};
    struct store_res r = {0};
    int failed = 0;
    *subject = *html = *text = NULL;
    int rc = store_query(c, STMT_CAMPAIGN_TEMPLATE_GET, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc) {
        *subject = store_campaign_dup_text(&r, 0, 0, false, &failed);
        *html = store_campaign_dup_text(&r, 0, 1, false, &failed);
        *text = store_campaign_dup_text(&r, 0, 2, false, &failed);
        if (failed) {
            free(*subject);
            free(*html);
            free(*text);
            *subject = *html = *text = NULL;
            rc = HERALD_ERR_NOMEM;
        }
    }
    store_res_free(&r);
    return rc;
}
