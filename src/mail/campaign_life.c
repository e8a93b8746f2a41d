/* A campaign's life cycle (campaigns.h): send (a campaign_start job, now or at sendAt), pause,
 * resume, cancel, and test sends rendered like the real thing but outside the queue. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "mail/campaigns_internal.h"
#include "mail/mime.h"
#include "mail/sender.h"
#include "mail/smtp.h"
#include "mail/transport.h"

#define TEST_MAX 10

static bool sending_configured(const struct mail_campaigns *m)
{
    return *m->smtp_url && *m->postal_address && mail_transport_configured(m->o.transport);
}

static int not_configured(const struct mail_campaigns *m, struct herald_error *err)
{
    return herald_error_set(err, HERALD_ERR_SENDING_NOT_CONFIGURED,
                            *m->postal_address ? "HERALD_SMTP_URL" : "HERALD_POSTAL_ADDRESS",
                            "sending needs HERALD_SMTP_URL and HERALD_POSTAL_ADDRESS");
}

struct send_tx {
    struct mail_campaigns *m;
    int64_t id;
    struct herald_error *err;
    char job[40];
};

static int send_tx(struct store_conn *c, void *arg)
{
    struct send_tx *t = arg;
    struct store_campaign cp;
    int rc = store_campaign_get(c, t->id, &cp);
    if (rc)
        return rc;
    int64_t at = cp.send_at_ms > clock_now_ms() ? cp.send_at_ms : 0;
    bool draft = strcmp(cp.status, "draft") == 0;
    if (!draft)
        rc = herald_error_set(t->err, HERALD_ERR_CONFLICT, "status", "a %s campaign cannot be sent",
                              cp.status);
    store_campaign_clear(&cp);
    if (rc)
        return rc;
    json_t *raw = json_pack("{s:I}", "campaignId", (json_int_t)t->id);
    struct jobs_problem problem;
    rc = jobs_submit_tx(t->m->o.jobs, c, "campaign_start", raw, at, t->job, &problem);
    json_decref(raw);
    return rc ? rc
              : store_campaign_transition(c, t->id, "draft", "scheduled", t->job, clock_now_ms());
}

enum herald_err mail_campaign_send(struct mail_campaigns *m, int64_t id, json_t **out,
                                   struct herald_error *err)
{
    if (!sending_configured(m))
        return not_configured(m, err);
    struct send_tx t = {m, id, err, ""};
    int rc = store_run_tx(m->o.store, send_tx, &t);
    if (rc)
        return rc;
    jobs_notify(m->o.jobs);
    rc = mail_campaign_get(m, id, out);
    if (!rc)
        json_object_set_new(*out, "jobId", json_string(t.job));
    return rc;
}

struct move_tx {
    int64_t id;
    const char *from, *to;
    bool cancel_rows;
    char job[40];
};

static int move_tx(struct store_conn *c, void *arg)
{
    struct move_tx *t = arg;
    struct store_campaign cp;
    int rc = store_campaign_get(c, t->id, &cp);
    if (rc)
        return rc;
    snprintf(t->job, sizeof(t->job), "%s",
             strcmp(cp.status, "scheduled") == 0 ? cp.start_job_id : "");
    store_campaign_clear(&cp);
    int64_t now = clock_now_ms();
    rc = store_campaign_transition(c, t->id, t->from, t->to, NULL, now);
    if (!rc && t->cancel_rows)
        rc = store_send_queue_cancel(c, t->id, now);
    return rc;
}

static int move(struct mail_campaigns *m, int64_t id, const char *from, const char *to,
                struct herald_error *err)
{
    struct move_tx t = {id, from, to, strcmp(to, "cancelled") == 0, ""};
    int rc = store_run_tx(m->o.store, move_tx, &t);
    if (rc == HERALD_ERR_CONFLICT)
        return herald_error_set(err, rc, "status", "only a campaign that is %s can become %s", from,
                                to);
    if (!rc && t.job[0]) {
        bool now;
        (void)jobs_cancel(m->o.jobs, t.job, &now); /* a start job still to come */
    }
    if (!rc && strcmp(to, "running") == 0)
        mail_sender_wake(m->o.sender);
    return rc;
}

enum herald_err mail_campaign_pause(struct mail_campaigns *m, int64_t id, struct herald_error *err)
{
    return move(m, id, "running", "paused", err);
}

enum herald_err mail_campaign_resume(struct mail_campaigns *m, int64_t id, struct herald_error *err)
{
    return move(m, id, "paused", "running", err);
}

enum herald_err mail_campaign_cancel(struct mail_campaigns *m, int64_t id, struct herald_error *err)
{
    return move(m, id, "draft,scheduled,running,paused", "cancelled", err);
}

/* ---------------- test sends ---------------- */

struct contact_tx {
    const char *email;
    struct store_send_row *row;
};

static int contact_tx(struct store_conn *c, void *arg)
{
    struct contact_tx *t = arg;
    store_send_rows_free_one(t->row);
    int rc = store_campaign_contact_by_email(c, t->email, t->row);
    return rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc;
}

static int smtp_error(const struct smtp_result *r, struct herald_error *err)
{
    return herald_error_set(err, HERALD_ERR_SMTP, "emails", "%s (%s, %s %d): %s",
                            r->status == SMTP_PERMANENT ? "refused" : "not delivered",
                            mail_smtp_status_name(r->status), mail_smtp_stage_name(r->stage),
                            r->code, r->error);
}

static int send_test(struct mail_campaigns *m, const struct mail_campaign_content *content,
                     const char *email, struct mail_render_bufs *b, struct herald_error *err)
{
    char lower[321];
    size_t n = 0;
    for (; email[n] && n < sizeof(lower) - 1; n++)
        lower[n] = (char)tolower((unsigned char)email[n]);
    lower[n] = '\0';
    struct store_send_row row = {0};
    struct contact_tx t = {lower, &row};
    int rc = store_run_read(m->o.store, contact_tx, &t);
    struct mail_recipient r = {row.contact_id, 0, email, row.name, row.attributes};
    if (!rc)
        rc = mail_render_message(&m->render, content, &r, true, b, err);
    struct smtp_pool *pool = mail_transport_pool(m->o.transport);
    struct smtp_conn *conn = NULL;
    if (!rc)
        rc = mail_smtp_acquire(pool, 10000, &conn);
    struct smtp_result sr = {0};
    if (!rc) {
        rc = mail_smtp_send(conn, b->envelope_from, email, b->msg.data, b->msg.len, 10000, &sr);
        mail_smtp_release(pool, conn);
    }
    if (!rc && sr.status != SMTP_OK)
        rc = smtp_error(&sr, err);
    store_send_rows_free_one(&row);
    return rc;
}

enum herald_err mail_campaign_test(struct mail_campaigns *m, int64_t id, const char *const *emails,
                                   size_t n, struct herald_error *err)
{
    if (n == 0 || n > TEST_MAX)
        return herald_error_set(err, HERALD_ERR_INVALID, "emails", "1 to %d addresses", TEST_MAX);
    for (size_t i = 0; i < n; i++)
        if (!mail_mime_address_ok(emails[i]))
            return herald_error_set(err, HERALD_ERR_INVALID, "emails",
                                    "emails[%zu] is not an email address", i);
    if (!sending_configured(m))
        return not_configured(m, err);
    struct mail_campaign_content *content;
    int rc = mail_campaign_content_load(m->o.store, id, &content, err);
    if (rc)
        return rc;
    struct mail_render_bufs b;
    mail_render_bufs_init(&b);
    for (size_t i = 0; !rc && i < n; i++)
        rc = send_test(m, content, emails[i], &b, err);
    mail_render_bufs_free(&b);
    mail_campaign_content_free(content);
    return rc;
}
