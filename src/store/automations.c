/* The store's stay-triggered automations (store/automations.h): block
 * STMT_AUTOMATIONS__BASE..STMT_AUTOMATIONS__END of the registry, the automations and
 * automation_sends rows, and the hand-over of a due send to the campaigns' sending queue. */
#include "store/automations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/campaigns.h"
#include "store/feedback_sql.h"
#include "store/internal.h"

#define S(id) [STMT_##id - STMT_AUTOMATIONS__BASE]
#define AUTO_COLS                                                                                  \
    "id, name, trigger_on, offset_days, template_id, kind, lists, hotel_codes, from_email, "       \
    "from_name, reply_to, tracking, enabled, created_at_ms, updated_at_ms"
#define SEND_COLS                                                                                  \
    "a.id, a.automation_id, a.reservation_id, a.revision_id, a.contact_id, a.hotel_code, "         \
    "a.status, a.due_at_ms, a.campaign_id, a.reason, a.created_at_ms, a.updated_at_ms"

const struct store_stmt_def
    store_automations_stmts[STMT_AUTOMATIONS__END - STMT_AUTOMATIONS__BASE] = {
        [0] = {NULL, NULL, false}, /* the block marker */
        S(AUTOMATION_INSERT) = {"INSERT INTO automations (name, trigger_on, offset_days, "
                                "template_id, kind, lists, hotel_codes, from_email, from_name, "
                                "reply_to, tracking, enabled, created_at_ms, updated_at_ms) "
                                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                                "$13) RETURNING id",
                                NULL, true},
        S(AUTOMATION_GET) = {"SELECT " AUTO_COLS " FROM automations WHERE id = $1", NULL, false},
        S(AUTOMATION_LIST) = {"SELECT " AUTO_COLS " FROM automations WHERE id > $1 AND ($2 = 0 "
                              "OR enabled = 1) ORDER BY id LIMIT $3",
                              NULL, false},
        S(AUTOMATION_UPDATE) = {"UPDATE automations SET name = $2, trigger_on = $3, offset_days "
                                "= $4, template_id = $5, kind = $6, lists = $7, hotel_codes = $8, "
                                "from_email = $9, from_name = $10, reply_to = $11, tracking = "
                                "$12, enabled = $13, updated_at_ms = $14 WHERE id = $1",
                                NULL, true},
        S(AUTOMATION_DELETE) = {"DELETE FROM automations WHERE id = $1", NULL, true},
        S(AUTOMATION_SENDS_OF) = {"SELECT " SEND_COLS " FROM automation_sends a WHERE "
                                  "a.automation_id = $1 AND a.reservation_id = $2 ORDER BY a.id "
                                  "LIMIT 32",
                                  NULL, false},
        S(AUTOMATION_SEND_INSERT) = {"INSERT INTO automation_sends (automation_id, "
                                     "reservation_id, revision_id, contact_id, hotel_code, "
                                     "status, due_at_ms, reason, created_at_ms, updated_at_ms) "
                                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON "
                                     "CONFLICT (automation_id, revision_id) DO NOTHING "
                                     "RETURNING id",
                                     NULL, true},
        S(AUTOMATION_SEND_RESCHEDULE) = {"UPDATE automation_sends SET revision_id = $2, "
                                         "contact_id = $3, due_at_ms = $4, updated_at_ms = $5 "
                                         "WHERE id = $1 AND status = 'scheduled'",
                                         NULL, true},
        S(AUTOMATION_SEND_CLOSE) = {"UPDATE automation_sends SET status = $2, reason = $3, "
                                    "updated_at_ms = $4 WHERE id = $1 AND status = 'scheduled'",
                                    NULL, true},
        S(AUTOMATION_SENDS_DUE) = {"SELECT " SEND_COLS " FROM automation_sends a WHERE a.status "
                                   "= 'scheduled' AND a.due_at_ms <= $1 AND a.automation_id IN "
                                   "(SELECT id FROM automations WHERE enabled = 1) ORDER BY "
                                   "a.due_at_ms, a.id LIMIT $2",
                                   "SELECT " SEND_COLS " FROM automation_sends a WHERE a.status "
                                   "= 'scheduled' AND a.due_at_ms <= $1 AND a.automation_id IN "
                                   "(SELECT id FROM automations WHERE enabled = 1) ORDER BY "
                                   "a.due_at_ms, a.id LIMIT $2 FOR UPDATE OF a SKIP LOCKED",
                                   false},
        S(AUTOMATION_SENDS_LIST) = {"SELECT " SEND_COLS ", q.status, q.sent_at_ms FROM "
                                    "automation_sends a LEFT JOIN send_queue q ON q.campaign_id = "
                                    "a.campaign_id AND q.contact_id = a.contact_id WHERE "
                                    "a.automation_id = $1 AND ($2 = 0 OR a.id < $2) ORDER BY a.id "
                                    "DESC LIMIT $3",
                                    NULL, false},
        S(AUTOMATION_SEND_QUEUED) = {"UPDATE automation_sends SET status = 'queued', campaign_id "
                                     "= $2, updated_at_ms = $3 WHERE id = $1 AND status = "
                                     "'scheduled'",
                                     NULL, true},
        S(AUTOMATION_SEND_CAMPAIGN) = {"UPDATE automation_sends SET campaign_id = $2 WHERE id "
                                       "= $1",
                                       NULL, true},
        S(AUTOMATION_CONTACT) = {"SELECT email, status, delivery, unsubscribed_at_ms FROM "
                                 "contacts WHERE id = $1",
                                 NULL, false},
        S(AUTOMATION_CONFIRMED_LIST) = {"SELECT MIN(list_id) FROM subscriptions WHERE contact_id "
                                        "= $1 AND status = 'confirmed' AND list_id IN (SELECT "
                                        "value FROM json_each($2))",
                                        "SELECT MIN(list_id) FROM subscriptions WHERE contact_id "
                                        "= $1 AND status = 'confirmed' AND list_id IN (SELECT "
                                        "CAST(jsonb_array_elements_text(CAST($2 AS jsonb)) AS "
                                        "BIGINT))",
                                        false},
        S(AUTOMATION_CAMPAIGN_MARK) = {"UPDATE campaigns SET automation_id = $2, service = $3, "
                                       "recipients = 1 WHERE id = $1",
                                       NULL, true},
        S(AUTOMATION_QUEUE_INSERT) = {"INSERT INTO send_queue (campaign_id, contact_id, list_id, "
                                      "status, updated_at_ms) VALUES ($1, $2, $3, 'pending', $4)",
                                      NULL, true},
        S(AUTOMATION_FB_COUNTS) = {FEEDBACK_COUNTS(OF_AUTOMATION " AND"), NULL, false},
        S(AUTOMATION_QUEUE_STATS) = {QUEUE_STATS("WHERE " OF_AUTOMATION), NULL, false},
};

static char *dup_cell(const struct store_res *r, int row, int col, int *failed)
{
    const char *s = store_res_text(r, row, col);
    char *d = strdup(s ? s : "");
    if (!d)
        *failed = 1;
    return d;
}

static void copy_cell(const struct store_res *r, int row, int col, char *out, size_t size)
{
    const char *s = store_res_text(r, row, col);
    snprintf(out, size, "%s", s ? s : "");
}

static int exec(struct store_conn *c, enum store_stmt id, const struct store_val *p, int n,
                int64_t *changes)
{
    struct store_res r = {0};
    int rc = store_query(c, id, p, n, &r);
    if (changes)
        *changes = rc ? 0 : r.changes;
    store_res_free(&r);
    return rc;
}

static int insert_id(struct store_conn *c, enum store_stmt id, const struct store_val *p, int n,
                     int64_t *out)
{
    struct store_res r = {0};
    int rc = store_query(c, id, p, n, &r);
    *out = !rc && r.nrows > 0 ? store_res_i64(&r, 0, 0) : 0;
    store_res_free(&r);
    return rc;
}

/* ---------------- automations ---------------- */

void store_automation_clear(struct store_automation *a)
{
    free(a->name);
    free(a->lists);
    free(a->hotel_codes);
    free(a->from_email);
    free(a->from_name);
    free(a->reply_to);
    a->name = a->lists = a->hotel_codes = a->from_email = a->from_name = a->reply_to = NULL;
}

void store_automations_free(struct store_automation *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++)
        store_automation_clear(&rows[i]);
    free(rows);
}

static int automation_from(const struct store_res *r, int i, struct store_automation *a)
{
    int failed = 0;
    memset(a, 0, sizeof(*a));
    a->id = store_res_i64(r, i, 0);
    a->name = dup_cell(r, i, 1, &failed);
    copy_cell(r, i, 2, a->trigger, sizeof(a->trigger));
    a->offset_days = (int)store_res_i64(r, i, 3);
    a->template_id = store_res_i64(r, i, 4);
    copy_cell(r, i, 5, a->kind, sizeof(a->kind));
    a->lists = dup_cell(r, i, 6, &failed);
    a->hotel_codes = dup_cell(r, i, 7, &failed);
    a->from_email = dup_cell(r, i, 8, &failed);
    a->from_name = dup_cell(r, i, 9, &failed);
    a->reply_to = dup_cell(r, i, 10, &failed);
    a->tracking = store_res_i64(r, i, 11) != 0;
    a->enabled = store_res_i64(r, i, 12) != 0;
    a->created_at_ms = store_res_i64(r, i, 13);
    a->updated_at_ms = store_res_i64(r, i, 14);
    if (failed) {
        store_automation_clear(a);
        return HERALD_ERR_NOMEM;
    }
    return HERALD_OK;
}

static void automation_params(const struct store_automation *a, struct store_val p[12])
{
    p[0] = SV_STR(a->name);
    p[1] = SV_STR(a->trigger);
    p[2] = SV_I64(a->offset_days);
    p[3] = SV_I64(a->template_id);
    p[4] = SV_STR(a->kind);
    p[5] = SV_STR(a->lists ? a->lists : "[]");
    p[6] = SV_STR(a->hotel_codes ? a->hotel_codes : "[]");
    p[7] = SV_STR(a->from_email ? a->from_email : "");
    p[8] = SV_STR(a->from_name ? a->from_name : "");
    p[9] = SV_STR(a->reply_to ? a->reply_to : "");
    p[10] = SV_I64(a->tracking ? 1 : 0);
    p[11] = SV_I64(a->enabled ? 1 : 0);
}

enum herald_err store_automation_insert(struct store_conn *c, const struct store_automation *a,
                                        int64_t now_ms, int64_t *id)
{
    struct store_val p[13];
    automation_params(a, p);
    p[12] = SV_I64(now_ms);
    return insert_id(c, STMT_AUTOMATION_INSERT, p, 13, id);
}

enum herald_err store_automation_get(struct store_conn *c, int64_t id, struct store_automation *out)
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_AUTOMATION_GET, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        rc = automation_from(&r, 0, out);
    store_res_free(&r);
    return rc;
}

enum herald_err store_automation_list(struct store_conn *c, int64_t after_id, int limit,
                                      bool enabled_only, struct store_automation **out,
                                      size_t *count)
{
    struct store_val p[] = {SV_I64(after_id), SV_I64(enabled_only ? 1 : 0), SV_I64(limit)};
    struct store_res r = {0};
    *out = NULL;
    *count = 0;
    int rc = store_query(c, STMT_AUTOMATION_LIST, p, 3, &r);
    if (!rc && r.nrows > 0 && !(*out = calloc((size_t)r.nrows, sizeof(**out))))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++) {
        rc = automation_from(&r, i, &(*out)[i]);
        if (!rc)
            (*count)++;
    }
    store_res_free(&r);
    if (rc) {
        store_automations_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

enum herald_err store_automation_update(struct store_conn *c, const struct store_automation *a,
                                        int64_t now_ms)
{
    struct store_val p[14];
    p[0] = SV_I64(a->id);
    automation_params(a, p + 1);
    p[13] = SV_I64(now_ms);
    int64_t n = 0;
    int rc = exec(c, STMT_AUTOMATION_UPDATE, p, 14, &n);
    return rc ? rc : n == 0 ? HERALD_ERR_NOT_FOUND : HERALD_OK;
}

enum herald_err store_automation_delete(struct store_conn *c, int64_t id)
{
    struct store_val p[] = {SV_I64(id)};
    int64_t n = 0;
    int rc = exec(c, STMT_AUTOMATION_DELETE, p, 1, &n);
    return rc ? rc : n == 0 ? HERALD_ERR_NOT_FOUND : HERALD_OK;
}

/* ---------------- sends ---------------- */

static void send_from(const struct store_res *r, int i, struct store_automation_send *s)
{
    memset(s, 0, sizeof(*s));
    s->id = store_res_i64(r, i, 0);
    s->automation_id = store_res_i64(r, i, 1);
    s->reservation_id = store_res_i64(r, i, 2);
    s->revision_id = store_res_i64(r, i, 3);
    s->contact_id = store_res_i64(r, i, 4);
    copy_cell(r, i, 5, s->hotel_code, sizeof(s->hotel_code));
    copy_cell(r, i, 6, s->status, sizeof(s->status));
    s->due_at_ms = store_res_i64(r, i, 7);
    s->campaign_id = store_res_i64(r, i, 8);
    copy_cell(r, i, 9, s->reason, sizeof(s->reason));
    s->created_at_ms = store_res_i64(r, i, 10);
    s->updated_at_ms = store_res_i64(r, i, 11);
    if (r->ncols > 12) {
        copy_cell(r, i, 12, s->delivery, sizeof(s->delivery));
        s->sent_at_ms = store_res_i64(r, i, 13);
    }
}

static int sends_query(struct store_conn *c, enum store_stmt id, const struct store_val *p, int n,
                       struct store_automation_send **out, size_t *count)
{
    struct store_res r = {0};
    *out = NULL;
    *count = 0;
    int rc = store_query(c, id, p, n, &r);
    if (!rc && r.nrows > 0 && !(*out = calloc((size_t)r.nrows, sizeof(**out))))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++)
        send_from(&r, i, &(*out)[(*count)++]);
    store_res_free(&r);
    return rc;
}

enum herald_err store_automation_sends_of(struct store_conn *c, int64_t automation_id,
                                          int64_t reservation_id,
                                          struct store_automation_send **out, size_t *count)
{
    struct store_val p[] = {SV_I64(automation_id), SV_I64(reservation_id)};
    return sends_query(c, STMT_AUTOMATION_SENDS_OF, p, 2, out, count);
}

enum herald_err store_automation_send_insert(struct store_conn *c,
                                             const struct store_automation_send *s, int64_t now_ms,
                                             int64_t *id)
{
    struct store_val p[] = {SV_I64(s->automation_id),
                            SV_I64(s->reservation_id),
                            SV_I64(s->revision_id),
                            SV_I64(s->contact_id),
                            SV_STR(s->hotel_code),
                            SV_STR(s->status),
                            SV_I64(s->due_at_ms),
                            SV_STR(s->reason[0] ? s->reason : NULL),
                            SV_I64(now_ms)};
    return insert_id(c, STMT_AUTOMATION_SEND_INSERT, p, 9, id);
}

enum herald_err store_automation_send_reschedule(struct store_conn *c, int64_t id,
                                                 int64_t revision_id, int64_t contact_id,
                                                 int64_t due_at_ms, int64_t now_ms, bool *changed)
{
    struct store_val p[] = {SV_I64(id), SV_I64(revision_id), SV_I64(contact_id), SV_I64(due_at_ms),
                            SV_I64(now_ms)};
    int64_t n = 0;
    int rc = exec(c, STMT_AUTOMATION_SEND_RESCHEDULE, p, 5, &n);
    *changed = !rc && n > 0;
    return rc;
}

enum herald_err store_automation_send_close(struct store_conn *c, int64_t id, const char *status,
                                            const char *reason, int64_t now_ms, bool *changed)
{
    struct store_val p[] = {SV_I64(id), SV_STR(status), SV_STR(reason), SV_I64(now_ms)};
    int64_t n = 0;
    int rc = exec(c, STMT_AUTOMATION_SEND_CLOSE, p, 4, &n);
    *changed = !rc && n > 0;
    return rc;
}

enum herald_err store_automation_sends_due(struct store_conn *c, int64_t now_ms, int limit,
                                           struct store_automation_send **out, size_t *count)
{
    struct store_val p[] = {SV_I64(now_ms), SV_I64(limit)};
    return sends_query(c, STMT_AUTOMATION_SENDS_DUE, p, 2, out, count);
}

enum herald_err store_automation_sends_list(struct store_conn *c, int64_t automation_id,
                                            int64_t before_id, int limit,
                                            struct store_automation_send **out, size_t *count)
{
    struct store_val p[] = {SV_I64(automation_id), SV_I64(before_id), SV_I64(limit)};
    return sends_query(c, STMT_AUTOMATION_SENDS_LIST, p, 3, out, count);
}

/* The ids as a JSON array ("[3,5]"), read by both dialects' statements. */
static void ids_json(const int64_t *ids, size_t n, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "[");
    for (size_t i = 0; i < n && used + 24 < size; i++)
        used +=
            (size_t)snprintf(out + used, size - used, "%s%lld", i ? "," : "", (long long)ids[i]);
    snprintf(out + used, size - used, "]");
}

enum herald_err store_automation_recipient(struct store_conn *c, int64_t contact_id,
                                           const int64_t *lists, size_t nlists,
                                           struct store_automation_recipient *out)
{
    struct store_val p[] = {SV_I64(contact_id)};
    struct store_res r = {0};
    memset(out, 0, sizeof(*out));
    int rc = store_query(c, STMT_AUTOMATION_CONTACT, p, 1, &r);
    if (!rc && r.nrows > 0) {
        out->exists = true;
        copy_cell(&r, 0, 0, out->email, sizeof(out->email));
        copy_cell(&r, 0, 1, out->status, sizeof(out->status));
        copy_cell(&r, 0, 2, out->delivery, sizeof(out->delivery));
        out->unsubscribed = store_res_text(&r, 0, 3) != NULL;
    }
    store_res_free(&r);
    if (rc || !out->exists || nlists == 0)
        return rc;
    char ids[2400];
    ids_json(lists, nlists < 100 ? nlists : 100, ids, sizeof(ids));
    const char *idp = ids;
    struct store_val q[] = {SV_I64(contact_id), SV_STR(idp)};
    rc = store_query(c, STMT_AUTOMATION_CONFIRMED_LIST, q, 2, &r);
    if (!rc && r.nrows > 0)
        out->list_id = store_res_i64(&r, 0, 0);
    store_res_free(&r);
    return rc;
}

/* The send's campaign row: the automation's fields, its template, draft until snapshotted. */
static int insert_campaign(struct store_conn *c, const struct store_automation *a,
                           const int64_t *lists, size_t nlists,
                           const struct store_automation_send *s, int64_t now_ms, int64_t *id)
{
    char name[300];
    snprintf(name, sizeof(name), "%s (automation %lld, send %lld)", a->name, (long long)a->id,
             (long long)s->id);
    struct store_campaign cp = {
        .name = name,
        .subject = "",
        .from_email = a->from_email,
        .from_name = a->from_name,
        .reply_to = a->reply_to,
        .template_id = a->template_id,
        .tracking = a->tracking,
        .lists = (int64_t *)lists,
        .nlists = nlists,
    };
    snprintf(cp.status, sizeof(cp.status), "draft");
    return store_campaign_insert(c, &cp, now_ms, id);
}

enum herald_err store_automation_send_enqueue(struct store_conn *c,
                                              const struct store_automation *a,
                                              const int64_t *lists, size_t nlists,
                                              const struct store_automation_send *s,
                                              int64_t list_id, int64_t now_ms, bool *changed,
                                              int64_t *campaign_id)
{
    char *subject = NULL, *html = NULL, *text = NULL;
    *changed = false;
    *campaign_id = 0;
    int rc = store_campaign_template(c, a->template_id, &subject, &html, &text);
    free(subject);
    free(html);
    free(text);
    struct store_val u[] = {SV_I64(s->id), SV_NUL, SV_I64(now_ms)};
    int64_t n = 0;
    if (!rc)
        rc = exec(c, STMT_AUTOMATION_SEND_QUEUED, u, 3, &n); /* compare-and-set first */
    if (rc || n == 0)
        return rc;
    rc = insert_campaign(c, a, lists, nlists, s, now_ms, campaign_id);
    bool service = strcmp(a->kind, "service") == 0;
    struct store_val m[] = {SV_I64(*campaign_id), SV_I64(a->id), SV_I64(service ? 1 : 0)};
    if (!rc)
        rc = exec(c, STMT_AUTOMATION_CAMPAIGN_MARK, m, 3, NULL);
    if (!rc)
        rc = store_campaign_snapshot(c, *campaign_id, now_ms);
    if (!rc)
        rc = store_campaign_transition(c, *campaign_id, "draft", "running", NULL, now_ms);
    struct store_val q[] = {SV_I64(*campaign_id), SV_I64(s->contact_id), SV_I64(list_id),
                            SV_I64(now_ms)};
    if (!rc)
        rc = exec(c, STMT_AUTOMATION_QUEUE_INSERT, q, 4, NULL);
    struct store_val k[] = {SV_I64(s->id), SV_I64(*campaign_id)};
    if (!rc)
        rc = exec(c, STMT_AUTOMATION_SEND_CAMPAIGN, k, 2, NULL);
    *changed = !rc;
    return rc;
}

enum herald_err store_automation_refs(struct store_conn *c, int64_t template_id,
                                      const int64_t *lists, size_t nlists, bool *template_ok,
                                      int64_t *missing_list)
{
    char *subject = NULL, *html = NULL, *text = NULL;
    int rc = store_campaign_template(c, template_id, &subject, &html, &text);
    free(subject);
    free(html);
    free(text);
    *template_ok = rc == HERALD_OK;
    if (rc && rc != HERALD_ERR_NOT_FOUND)
        return rc;
    *missing_list = 0;
    return nlists ? store_campaign_lists_missing(c, lists, nlists, missing_list) : HERALD_OK;
}
