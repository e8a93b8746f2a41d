/* The store's feedback statements (block STMT_FEEDBACK__BASE..STMT_FEEDBACK__END of the registry)
 * and the operations over them (store/feedback.h): unsubscribes, bounces, complaints, stats. */
#include "store/feedback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/feedback_sql.h"
#include "store/internal.h"

#define FB(id) [STMT_##id - STMT_FEEDBACK__BASE]
#define CONTACT_COLS "id, email, status, delivery, soft_bounces, unsubscribed_at_ms"
#define ONE_CAMPAIGN "campaign_id = $1 AND"
/* $1 is unused but bound, so both variants take the same parameters. */
#define ALL_CAMPAIGNS "CAST($1 AS BIGINT) IS NOT NULL AND"

const struct store_stmt_def store_feedback_stmts[STMT_FEEDBACK__END - STMT_FEEDBACK__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
    FB(FB_CONTACT_GET) = {"SELECT " CONTACT_COLS " FROM contacts WHERE id = $1", NULL, false},
    FB(FB_CONTACT_BY_EMAIL) = {"SELECT " CONTACT_COLS " FROM contacts WHERE email = $1", NULL,
                               false},
    FB(FB_SUBS) = {"SELECT s.list_id, l.name, l.description, s.status FROM subscriptions s "
                   "JOIN mail_lists l ON l.id = s.list_id WHERE s.contact_id = $1 "
                   "ORDER BY l.name, s.list_id",
                   NULL, false},
    FB(FB_LIST_NAME) = {"SELECT name FROM mail_lists WHERE id = $1", NULL, false},
    FB(FB_SUB_UNSUBSCRIBE) = {"UPDATE subscriptions SET status = 'unsubscribed', "
                              "unsubscribed_at_ms = $3, updated_at_ms = $3 WHERE contact_id = $1 "
                              "AND list_id = $2 AND status <> 'unsubscribed'",
                              NULL, true},
    FB(FB_SUB_RESUBSCRIBE) = {"UPDATE subscriptions SET status = 'confirmed', consent_method = "
                              "'form', consent_at_ms = $3, consent_ip = NULL, consent_text = $4, "
                              "confirmed_at_ms = $3, unsubscribed_at_ms = NULL, updated_at_ms = $3 "
                              "WHERE contact_id = $1 AND list_id = $2 AND status = 'unsubscribed'",
                              NULL, true},
    FB(FB_GLOBAL_SET) = {"UPDATE contacts SET unsubscribed_at_ms = $2, updated_at_ms = $2 "
                         "WHERE id = $1 AND unsubscribed_at_ms IS NULL",
                         NULL, true},
    FB(FB_GLOBAL_CLEAR) = {"UPDATE contacts SET unsubscribed_at_ms = NULL, updated_at_ms = $2 "
                           "WHERE id = $1 AND unsubscribed_at_ms IS NOT NULL",
                           NULL, true},
    FB(FB_QUEUE_ROW) = {"SELECT id, status FROM send_queue WHERE campaign_id = $1 AND "
                        "contact_id = $2",
                        NULL, false},
    FB(FB_QUEUE_BOUNCED) = {"UPDATE send_queue SET status = 'bounced', last_error = $2, "
                            "updated_at_ms = $3 WHERE id = $1 AND status = 'sent'",
                            NULL, true},
    FB(FB_DELIVERY_BOUNCED) = {"UPDATE contacts SET delivery = 'bounced', updated_at_ms = $2 "
                               "WHERE id = $1 AND delivery = 'ok'",
                               NULL, true},
    FB(FB_DELIVERY_COMPLAINED) = {"UPDATE contacts SET delivery = 'complained', updated_at_ms = "
                                  "$2 WHERE id = $1 AND delivery <> 'complained'",
                                  NULL, true},
    /* An open or click since the previous soft bounce proves a delivery: the row restarts. */
    FB(FB_SOFT_BOUNCE) = {"UPDATE contacts SET soft_bounces = CASE WHEN EXISTS (SELECT 1 FROM "
                          "mail_feedback f WHERE f.contact_id = $1 AND f.kind IN ('open', 'click') "
                          "AND f.created_at_ms >= (SELECT COALESCE(MAX(g.created_at_ms), 0) FROM "
                          "mail_feedback g WHERE g.contact_id = $1 AND g.kind = 'bounce_soft')) "
                          "THEN 1 ELSE soft_bounces + 1 END, updated_at_ms = $2 WHERE id = $1 "
                          "RETURNING soft_bounces",
                          NULL, true},
    FB(FB_INSERT) = {"INSERT INTO mail_feedback (campaign_id, contact_id, queue_id, kind, url, "
                     "detail, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                     NULL, true},
    FB(FB_CLAIM_REPORT) = {"INSERT INTO mail_feedback_reports (report_key, kind, contact_id, "
                           "campaign_id, created_at_ms) VALUES ($1, $2, $3, $4, $5) "
                           "ON CONFLICT (report_key) DO NOTHING",
                           NULL, true},
    FB(FB_COUNTS) = {FEEDBACK_COUNTS(ONE_CAMPAIGN), NULL, false},
    FB(FB_COUNTS_ALL) = {FEEDBACK_COUNTS(ALL_CAMPAIGNS), NULL, false},
    FB(FB_QUEUE_STATS) = {QUEUE_STATS("WHERE campaign_id = $1"), NULL, false},
    FB(FB_QUEUE_STATS_ALL) = {QUEUE_STATS("WHERE CAST($1 AS BIGINT) IS NOT NULL"), NULL, false},
    /* The contact's subscriptions to the token's list and to every list of its campaign. */
    FB(FB_TOKEN_SUBS) = {"SELECT s.list_id, l.name, l.description, s.status FROM subscriptions s "
                         "JOIN mail_lists l ON l.id = s.list_id WHERE s.contact_id = $1 AND "
                         "(s.list_id = $3 OR s.list_id IN (SELECT cl.list_id FROM campaign_lists "
                         "cl WHERE cl.campaign_id = $2)) ORDER BY l.name, s.list_id",
                         NULL, false},
};

static void copy_cell(const struct store_res *r, int row, int col, char *out, size_t size)
{
    const char *s = store_res_text(r, row, col);
    snprintf(out, size, "%s", s ? s : "");
}

static enum herald_err contact_query(struct store_conn *c, enum store_stmt id, struct store_val v,
                                     struct store_fb_contact *out)
{
    struct store_res r = {0};
    int rc = store_query(c, id, &v, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc) {
        memset(out, 0, sizeof(*out));
        out->id = store_res_i64(&r, 0, 0);
        copy_cell(&r, 0, 1, out->email, sizeof(out->email));
        copy_cell(&r, 0, 2, out->status, sizeof(out->status));
        copy_cell(&r, 0, 3, out->delivery, sizeof(out->delivery));
        out->soft_bounces = store_res_i64(&r, 0, 4);
        out->unsubscribed_at_ms = store_res_i64(&r, 0, 5);
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_feedback_contact_get(struct store_conn *c, int64_t id,
                                           struct store_fb_contact *out)
{
    return contact_query(c, STMT_FB_CONTACT_GET, SV_I64(id), out);
}

enum herald_err store_feedback_contact_by_email(struct store_conn *c, const char *email,
                                                struct store_fb_contact *out)
{
    return contact_query(c, STMT_FB_CONTACT_BY_EMAIL, SV_STR(email), out);
}

void store_feedback_subs_free(struct store_fb_sub *subs, size_t count)
{
    for (size_t i = 0; subs && i < count; i++) {
        free(subs[i].name);
        free(subs[i].description);
    }
    free(subs);
}

/* Reads rows (list_id, name, description, status) of statement id into *out. */
static enum herald_err subs_query(struct store_conn *c, enum store_stmt id,
                                  const struct store_val *p, int np, struct store_fb_sub **out,
                                  size_t *count)
{
    struct store_res r = {0};
    *out = NULL;
    *count = 0;
    int rc = store_query(c, id, p, np, &r);
    struct store_fb_sub *subs = NULL;
    if (!rc && r.nrows > 0 && !(subs = calloc((size_t)r.nrows, sizeof(*subs))))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++) {
        const char *name = store_res_text(&r, i, 1), *desc = store_res_text(&r, i, 2);
        subs[i].list_id = store_res_i64(&r, i, 0);
        subs[i].name = strdup(name ? name : "");
        subs[i].description = strdup(desc ? desc : "");
        copy_cell(&r, i, 3, subs[i].status, sizeof(subs[i].status));
        if (!subs[i].name || !subs[i].description)
            rc = HERALD_ERR_NOMEM;
    }
    if (rc)
        store_feedback_subs_free(subs, (size_t)r.nrows);
    else {
        *out = subs;
        *count = (size_t)r.nrows;
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_feedback_subscriptions(struct store_conn *c, int64_t contact_id,
                                             struct store_fb_sub **out, size_t *count)
{
    struct store_val p[] = {SV_I64(contact_id)};
    return subs_query(c, STMT_FB_SUBS, p, 1, out, count);
}

enum herald_err store_feedback_token_subscriptions(struct store_conn *c, int64_t contact_id,
                                                   int64_t campaign_id, int64_t list_id,
                                                   struct store_fb_sub **out, size_t *count)
{
    struct store_val p[] = {SV_I64(contact_id), SV_I64(campaign_id), SV_I64(list_id)};
    return subs_query(c, STMT_FB_TOKEN_SUBS, p, 3, out, count);
}

enum herald_err store_feedback_list_name(struct store_conn *c, int64_t list_id, char *out,
                                         size_t out_size)
{
    struct store_val p[] = {SV_I64(list_id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_FB_LIST_NAME, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        copy_cell(&r, 0, 0, out, out_size);
    store_res_free(&r);
    return rc;
}

/* Runs a write; *changed (may be NULL) says whether it touched a row. */
static enum herald_err write_stmt(struct store_conn *c, enum store_stmt id,
                                  const struct store_val *p, int n, bool *changed)
{
    struct store_res r = {0};
    int rc = store_query(c, id, p, n, &r);
    if (!rc && changed)
        *changed = r.changes > 0;
    store_res_free(&r);
    return rc;
}

enum herald_err store_feedback_unsubscribe_list(struct store_conn *c, int64_t contact_id,
                                                int64_t list_id, int64_t now_ms, bool *changed)
{
    struct store_val p[] = {SV_I64(contact_id), SV_I64(list_id), SV_I64(now_ms)};
    return write_stmt(c, STMT_FB_SUB_UNSUBSCRIBE, p, 3, changed);
}

enum herald_err store_feedback_resubscribe_list(struct store_conn *c, int64_t contact_id,
                                                int64_t list_id, const char *consent_text,
                                                int64_t now_ms, bool *changed)
{
    struct store_val p[] = {SV_I64(contact_id), SV_I64(list_id), SV_I64(now_ms),
                            SV_STR(consent_text)};
    return write_stmt(c, STMT_FB_SUB_RESUBSCRIBE, p, 4, changed);
}

enum herald_err store_feedback_set_global_unsubscribe(struct store_conn *c, int64_t contact_id,
                                                      bool all, int64_t now_ms, bool *changed)
{
    struct store_val p[] = {SV_I64(contact_id), SV_I64(now_ms)};
    return write_stmt(c, all ? STMT_FB_GLOBAL_SET : STMT_FB_GLOBAL_CLEAR, p, 2, changed);
}

enum herald_err store_feedback_queue_row(struct store_conn *c, int64_t campaign_id,
                                         int64_t contact_id, int64_t *queue_id, char status[16])
{
    struct store_val p[] = {SV_I64(campaign_id), SV_I64(contact_id)};
    struct store_res r = {0};
    *queue_id = 0;
    status[0] = '\0';
    int rc = campaign_id > 0 ? store_query(c, STMT_FB_QUEUE_ROW, p, 2, &r) : HERALD_OK;
    if (!rc && r.nrows > 0) {
        *queue_id = store_res_i64(&r, 0, 0);
        copy_cell(&r, 0, 1, status, 16);
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_feedback_queue_bounced(struct store_conn *c, int64_t queue_id,
                                             const char *detail, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(queue_id), SV_STR(detail), SV_I64(now_ms)};
    return write_stmt(c, STMT_FB_QUEUE_BOUNCED, p, 3, NULL);
}

enum herald_err store_feedback_set_delivery(struct store_conn *c, int64_t contact_id,
                                            const char *delivery, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(contact_id), SV_I64(now_ms)};
    bool complained = strcmp(delivery, "complained") == 0;
    if (!complained && strcmp(delivery, "bounced") != 0)
        return HERALD_ERR_INVALID;
    return write_stmt(c, complained ? STMT_FB_DELIVERY_COMPLAINED : STMT_FB_DELIVERY_BOUNCED, p, 2,
                      NULL);
}

enum herald_err store_feedback_soft_bounce(struct store_conn *c, int64_t contact_id, int64_t now_ms,
                                           int64_t *count)
{
    struct store_val p[] = {SV_I64(contact_id), SV_I64(now_ms)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_FB_SOFT_BOUNCE, p, 2, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        *count = store_res_i64(&r, 0, 0);
    store_res_free(&r);
    return rc;
}

enum herald_err store_feedback_insert(struct store_conn *c, int64_t campaign_id, int64_t contact_id,
                                      int64_t queue_id, const char *kind, const char *url,
                                      const char *detail, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(campaign_id), SV_I64(contact_id), SV_I64(queue_id), SV_STR(kind),
                            SV_STR(url),         SV_STR(detail),     SV_I64(now_ms)};
    return write_stmt(c, STMT_FB_INSERT, p, 7, NULL);
}

enum herald_err store_feedback_claim_report(struct store_conn *c, const char *report_key,
                                            const char *kind, int64_t contact_id,
                                            int64_t campaign_id, int64_t now_ms, bool *fresh)
{
    struct store_val p[] = {SV_STR(report_key), SV_STR(kind), SV_I64(contact_id),
                            SV_I64(campaign_id), SV_I64(now_ms)};
    return write_stmt(c, STMT_FB_CLAIM_REPORT, p, 5, fresh);
}

/* Feedback counts of statement `stmt` (per campaign, all, or per automation: `id`) within
   [from, to). */
static enum herald_err counts_stmt(struct store_conn *c, enum store_stmt stmt, int64_t id,
                                   int64_t from_ms, int64_t to_ms,
                                   struct store_feedback_counts *out)
{
    struct store_val p[] = {SV_I64(id), SV_I64(from_ms), SV_I64(to_ms)};
    struct store_res r = {0};
    memset(out, 0, sizeof(*out));
    int rc = store_query(c, stmt, p, 3, &r);
    for (int i = 0; !rc && i < r.nrows; i++) {
        const char *kind = store_res_text(&r, i, 0);
        int64_t rows = store_res_i64(&r, i, 1), pairs = store_res_i64(&r, i, 2);
        if (!kind)
            continue;
        if (strcmp(kind, "open") == 0) {
            out->opened = rows;
            out->unique_opened = pairs;
        } else if (strcmp(kind, "click") == 0) {
            out->clicked = rows;
            out->unique_clicked = pairs;
        } else if (strcmp(kind, "unsubscribe") == 0)
            out->unsubscribed = pairs;
        else if (strcmp(kind, "complaint") == 0)
            out->complained = pairs;
        else if (strcmp(kind, "bounce_hard") == 0)
            out->bounced = pairs;
        else if (strcmp(kind, "bounce_soft") == 0)
            out->soft_bounced = pairs;
    }
    store_res_free(&r);
    return rc;
}

/* Feedback counts of campaign `campaign_id` (< 0: all) within [from, to). */
static enum herald_err counts_query(struct store_conn *c, int64_t campaign_id, int64_t from_ms,
                                    int64_t to_ms, struct store_feedback_counts *out)
{
    return counts_stmt(c, campaign_id < 0 ? STMT_FB_COUNTS_ALL : STMT_FB_COUNTS, campaign_id,
                       from_ms, to_ms, out);
}

enum herald_err store_feedback_counts(struct store_conn *c, int64_t campaign_id,
                                      struct store_feedback_counts *out)
{
    return counts_query(c, campaign_id < 0 ? 0 : campaign_id, INT64_MIN, INT64_MAX, out);
}

enum herald_err store_email_stats(struct store_conn *c, const struct store_stats_filter *f,
                                  struct store_email_stats *out)
{
    memset(out, 0, sizeof(*out));
    bool automation = f->automation_id > 0;
    int64_t campaign = automation ? f->automation_id : f->campaign_id > 0 ? f->campaign_id : -1;
    int rc = automation ? counts_stmt(c, STMT_AUTOMATION_FB_COUNTS, campaign, f->from_ms, f->to_ms,
                                      &out->fb)
                        : counts_query(c, campaign, f->from_ms, f->to_ms, &out->fb);
    if (rc)
        return rc;
    struct store_val p[] = {SV_I64(campaign), SV_I64(f->from_ms), SV_I64(f->to_ms),
                            SV_I64(f->now_ms - 60000), SV_I64(f->now_ms)};
    struct store_res r = {0};
    enum store_stmt q = automation     ? STMT_AUTOMATION_QUEUE_STATS
                        : campaign > 0 ? STMT_FB_QUEUE_STATS
                                       : STMT_FB_QUEUE_STATS_ALL;
    rc = store_query(c, q, p, 5, &r);
    if (!rc && r.nrows == 1) {
        out->sent = store_res_i64(&r, 0, 0);
        out->bounced_after_sent = store_res_i64(&r, 0, 1);
        out->failed = store_res_i64(&r, 0, 2);
        out->bounced = store_res_i64(&r, 0, 3);
        out->queue_length = store_res_i64(&r, 0, 4);
        out->sent_last_minute = store_res_i64(&r, 0, 5);
    }
    store_res_free(&r);
    if (rc || f->campaign_id > 0 || automation)
        return rc;
    /* Hard bounces recorded for no campaign (a webhook naming only an address) bounced no
       queued message but still count. */
    struct store_feedback_counts none;
    rc = counts_query(c, 0, f->from_ms, f->to_ms, &none);
    if (!rc)
        out->bounced += none.bounced;
    return rc;
}
