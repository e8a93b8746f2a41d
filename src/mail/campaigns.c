/* Campaigns (campaigns.h): create, read, patch, delete, the life cycle (send, pause, resume,
 * cancel) and test sends. Validation is in campaign_input.c, the start job in
 * campaign_start.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "mail/campaigns_internal.h"
#include "mail/sender.h"
#include "mail/smtp.h"
#include "mail/transport.h"

static char *dup_str(const char *s, int *failed)
{
    char *d = strdup(s ? s : "");
    if (!d)
        *failed = 1;
    return d;
}

enum herald_err mail_campaigns_new(const struct mail_campaigns_opts *opts,
                                   struct mail_campaigns **out)
{
    struct mail_campaigns *m = calloc(1, sizeof(*m));
    if (!m)
        return HERALD_ERR_NOMEM;
    int failed = 0;
    m->o = *opts;
    m->public_url = dup_str(opts->public_url, &failed);
    m->postal_address = dup_str(opts->postal_address, &failed);
    m->smtp_url = dup_str(opts->smtp_url, &failed);
    m->bounce_domain = dup_str(opts->bounce_domain, &failed);
    m->mail_from = dup_str(opts->mail_from, &failed);
    if (failed) {
        mail_campaigns_free(m);
        return HERALD_ERR_NOMEM;
    }
    size_t n = strlen(m->public_url);
    while (n > 0 && m->public_url[n - 1] == '/')
        m->public_url[--n] = '\0';
    m->render = (struct mail_render_opts){opts->keys, m->public_url, m->postal_address,
                                          m->bounce_domain, opts->transport};
    *out = m;
    return HERALD_OK;
}

void mail_campaigns_free(struct mail_campaigns *m)
{
    if (!m)
        return;
    free(m->public_url);
    free(m->postal_address);
    free(m->smtp_url);
    free(m->bounce_domain);
    free(m->mail_from);
    free(m);
}

/* ---------------- the JSON view ---------------- */

static json_t *time_or_null(int64_t ms)
{
    if (!ms)
        return json_null();
    char iso[40];
    clock_format_iso_ms(ms, iso, sizeof(iso));
    return json_string(iso);
}

static json_t *lists_json(const struct store_campaign *cp)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < cp->nlists; i++)
        json_array_append_new(a, json_integer(cp->lists[i]));
    return a;
}

static json_t *base_view(const struct store_campaign *cp, bool bodies)
{
    json_t *v = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:b, s:o, s:I, s:o, s:o, s:o, s:o}", "id",
        (json_int_t)cp->id, "name", cp->name, "subject", cp->subject, "fromEmail", cp->from_email,
        "fromName", cp->from_name, "replyTo", cp->reply_to, "templateId",
        cp->template_id ? json_integer(cp->template_id) : json_null(), "lists", lists_json(cp),
        "status", cp->status, "tracking", cp->tracking, "sendAt", time_or_null(cp->send_at_ms),
        "recipients", (json_int_t)cp->recipients, "startedAt", time_or_null(cp->started_at_ms),
        "finishedAt", time_or_null(cp->finished_at_ms), "createdAt",
        time_or_null(cp->created_at_ms), "updatedAt", time_or_null(cp->updated_at_ms));
    if (v && bodies) {
        json_object_set_new(v, "html", cp->html ? json_string(cp->html) : json_null());
        json_object_set_new(v, "text", cp->text ? json_string(cp->text) : json_null());
    }
    return v;
}

static void add_counts(json_t *v, const struct store_campaign *cp,
                       const struct store_campaign_counts *k)
{
    int64_t done = k->sent + k->failed + k->bounced - k->bounced_after_send + k->skipped;
    double progress = cp->recipients > 0 ? 100.0 * (double)done / (double)cp->recipients
                      : strcmp(cp->status, "finished") == 0 ? 100.0
                                                            : 0.0;
    if (progress > 100.0)
        progress = 100.0;
    json_object_set_new(v, "sent", json_integer(k->sent));
    json_object_set_new(v, "failed", json_integer(k->failed));
    json_object_set_new(v, "bounced", json_integer(k->bounced));
    json_object_set_new(v, "skipped", json_integer(k->skipped));
    json_object_set_new(v, "pending", json_integer(k->pending));
    json_object_set_new(v, "cancelledRecipients", json_integer(k->cancelled));
    json_object_set_new(v, "opened", json_integer(k->opened));
    json_object_set_new(v, "clicked", json_integer(k->clicked));
    json_object_set_new(v, "unsubscribed", json_integer(k->unsubscribed));
    json_object_set_new(v, "progress", json_real((double)(int64_t)(progress * 10.0) / 10.0));
    json_object_set_new(v, "ratePerMinute", json_integer(k->sent_last_minute));
}

struct view_tx {
    int64_t id;
    json_t *out;
};

static int view_tx(struct store_conn *c, void *arg)
{
    struct view_tx *t = arg;
    struct store_campaign cp;
    struct store_campaign_counts k;
    json_decref(t->out);
    t->out = NULL;
    int rc = store_campaign_get(c, t->id, &cp);
    if (rc)
        return rc;
    rc = store_campaign_counts(c, t->id, clock_now_ms(), &k);
    if (!rc && !(t->out = base_view(&cp, true)))
        rc = HERALD_ERR_NOMEM;
    if (!rc)
        add_counts(t->out, &cp, &k);
    store_campaign_clear(&cp);
    return rc;
}

enum herald_err mail_campaign_get(struct mail_campaigns *m, int64_t id, json_t **out)
{
    struct view_tx t = {id, NULL};
    int rc = store_run_read(m->o.store, view_tx, &t);
    if (rc) {
        json_decref(t.out);
        return rc;
    }
    *out = t.out;
    return HERALD_OK;
}

struct list_tx {
    int64_t before;
    int limit;
    json_t *arr;
    int64_t next;
};

static int list_tx(struct store_conn *c, void *arg)
{
    struct list_tx *t = arg;
    struct store_campaign *rows;
    size_t n;
    json_array_clear(t->arr);
    int rc = store_campaign_list(c, t->before, t->limit, &rows, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        struct store_campaign_counts k;
        json_t *v = base_view(&rows[i], false);
        rc = v ? store_campaign_counts(c, rows[i].id, clock_now_ms(), &k) : HERALD_ERR_NOMEM;
        if (!rc)
            add_counts(v, &rows[i], &k);
        json_array_append_new(t->arr, v);
    }
    t->next = !rc && n == (size_t)t->limit && n > 0 ? rows[n - 1].id : 0;
    if (!rc || rows)
        store_campaigns_free(rows, n);
    return rc;
}

enum herald_err mail_campaign_list(struct mail_campaigns *m, int64_t before_id, int limit,
                                   json_t **out, int64_t *next_before)
{
    struct list_tx t = {before_id, limit, json_array(), 0};
    if (!t.arr)
        return HERALD_ERR_NOMEM;
    int rc = store_run_read(m->o.store, list_tx, &t);
    if (rc) {
        json_decref(t.arr);
        return rc;
    }
    *out = t.arr;
    *next_before = t.next;
    return HERALD_OK;
}

/* ---------------- create, patch, delete ---------------- */

struct write_tx {
    struct mail_campaigns *m;
    struct store_campaign *cp;
    struct herald_error *err;
    bool create;
    char old_job[40]; /* patch/delete: a start job to cancel after the commit */
    char new_job[40];
};

/* A scheduled campaign that is patched gets a new start job at its (new) sendAt. */
static int reschedule(struct store_conn *c, struct write_tx *t)
{
    json_t *raw = json_pack("{s:I}", "campaignId", (json_int_t)t->cp->id);
    struct jobs_problem problem;
    int64_t at = t->cp->send_at_ms > clock_now_ms() ? t->cp->send_at_ms : 0;
    int rc = jobs_submit_tx(t->m->o.jobs, c, "campaign_start", raw, at, t->new_job, &problem);
    json_decref(raw);
    if (!rc)
        rc = store_campaign_transition(c, t->cp->id, "scheduled", "scheduled", t->new_job,
                                       clock_now_ms());
    return rc;
}

static int write_tx(struct store_conn *c, void *arg)
{
    struct write_tx *t = arg;
    int rc = campaign_check_refs(c, t->cp, t->err);
    if (rc)
        return rc;
    if (t->create)
        return store_campaign_insert(c, t->cp, clock_now_ms(), &t->cp->id);
    rc = store_campaign_update(c, t->cp, clock_now_ms());
    if (!rc && strcmp(t->cp->status, "scheduled") == 0) {
        snprintf(t->old_job, sizeof(t->old_job), "%s", t->cp->start_job_id);
        rc = reschedule(c, t);
    }
    return rc;
}

static void cancel_job(struct mail_campaigns *m, const char *job_id)
{
    bool now = false;
    if (job_id && *job_id)
        (void)jobs_cancel(m->o.jobs, job_id, &now); /* finished already: nothing to do */
}

enum herald_err mail_campaign_create(struct mail_campaigns *m, json_t *body, json_t **out,
                                     struct herald_error *err)
{
    struct store_campaign cp = {.tracking = true};
    snprintf(cp.status, sizeof(cp.status), "draft");
    int rc = campaign_apply_body(m, body, true, &cp, err);
    struct write_tx t = {m, &cp, err, true, "", ""};
    if (!rc)
        rc = store_run_tx(m->o.store, write_tx, &t);
    if (!rc)
        rc = mail_campaign_get(m, cp.id, out);
    store_campaign_clear(&cp);
    return rc;
}

struct read_tx {
    int64_t id;
    struct store_campaign *cp;
};

static int read_tx(struct store_conn *c, void *arg)
{
    struct read_tx *t = arg;
    store_campaign_clear(t->cp);
    return store_campaign_get(c, t->id, t->cp);
}

enum herald_err mail_campaign_update(struct mail_campaigns *m, int64_t id, json_t *body,
                                     json_t **out, struct herald_error *err)
{
    struct store_campaign cp = {0};
    struct read_tx r = {id, &cp};
    int rc = store_run_read(m->o.store, read_tx, &r);
    if (!rc && strcmp(cp.status, "draft") != 0 && strcmp(cp.status, "scheduled") != 0)
        rc = herald_error_set(err, HERALD_ERR_CONFLICT, "status", "a %s campaign cannot be changed",
                              cp.status);
    if (!rc)
        rc = campaign_apply_body(m, body, false, &cp, err);
    struct write_tx t = {m, &cp, err, false, "", ""};
    if (!rc)
        rc = store_run_tx(m->o.store, write_tx, &t);
    if (!rc) {
        cancel_job(m, t.old_job);
        jobs_notify(m->o.jobs);
        rc = mail_campaign_get(m, id, out);
    }
    store_campaign_clear(&cp);
    return rc;
}

struct delete_tx {
    int64_t id;
    char job[40];
};

static int delete_tx(struct store_conn *c, void *arg)
{
    struct delete_tx *t = arg;
    struct store_campaign cp;
    int rc = store_campaign_get(c, t->id, &cp);
    if (rc)
        return rc;
    snprintf(t->job, sizeof(t->job), "%s", cp.start_job_id);
    store_campaign_clear(&cp);
    return store_campaign_delete(c, t->id);
}

enum herald_err mail_campaign_delete(struct mail_campaigns *m, int64_t id, struct herald_error *err)
{
    struct delete_tx t = {id, ""};
    int rc = store_run_tx(m->o.store, delete_tx, &t);
    if (rc == HERALD_ERR_CONFLICT)
        return herald_error_set(err, rc, "status",
                                "only a draft or scheduled campaign can be deleted");
    if (!rc)
        cancel_job(m, t.job);
    return rc;
}
