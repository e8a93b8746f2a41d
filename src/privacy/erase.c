/* Erasure: the request (suppression + audit + job in one transaction) and the privacy_erase
 * job kind walking the table of sources, then Mixpanel's deletion, then the report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "mail/contacts.h"
#include "privacy/internal.h"
#include "sync/mixpanel_batch.h"

struct submit_tx {
    struct privacy *p;
    const char *email;
    const struct privacy_audit *who;
    int64_t id;
    char job_id[40];
};

static int submit_tx(struct store_conn *c, void *arg)
{
    struct submit_tx *t = arg;
    char salt[STORE_PRIVACY_HASH_LEN], h[STORE_PRIVACY_HASH_LEN];
    int64_t now = clock_now_ms();
    int rc = store_privacy_salt(c, salt);
    if (rc)
        return rc;
    store_privacy_hash(salt, t->email, h);
    rc = store_erasure_insert(c, t->email, h, now, &t->id);
    rc = rc ? rc : store_suppression_add(c, h, "erasure", now);
    char detail[64];
    snprintf(detail, sizeof(detail), "{\"erasureId\":%lld}", (long long)t->id);
    struct store_audit a = {.at_ms = now,
                            .actor = (char *)t->who->actor,
                            .action = "privacy.erase",
                            .status = t->who->status,
                            .ip = (char *)t->who->ip,
                            .request_id = (char *)t->who->request_id,
                            .subject = (char *)t->email,
                            .detail = detail};
    rc = rc ? rc : store_audit_insert(c, &a);
    json_t *params = json_pack("{s:I}", "erasureId", (json_int_t)t->id);
    struct jobs_problem problem;
    rc = rc ? rc : jobs_submit_tx(t->p->o.jobs, c, "privacy_erase", params, 0, t->job_id, &problem);
    json_decref(params);
    return rc ? rc : store_erasure_set_job(c, t->id, t->job_id);
}

enum herald_err privacy_erase_submit(struct privacy *p, const char *email,
                                     const struct privacy_audit *who, int64_t *erasure_id,
                                     char job_id[40])
{
    char norm[MAIL_EMAIL_MAX];
    int rc = mail_email_normalize(email, norm);
    if (rc)
        return rc;
    struct submit_tx t = {.p = p, .email = norm, .who = who};
    rc = store_run_tx(p->o.st, submit_tx, &t);
    if (rc)
        return rc;
    /* This node's event writers see the new entry at their next batch anyway; the refresh also
       makes the writer's recent-key lookup see it at once (best effort: a failure waits for
       the next refresh). */
    store_suppression_refresh_read(p->o.st, 0);
    jobs_notify(p->o.jobs);
    *erasure_id = t.id;
    snprintf(job_id, 40, "%s", t.job_id);
    return HERALD_OK;
}

struct get_tx {
    int64_t id;
    struct store_erasure *out;
};

static int get_tx(struct store_conn *c, void *arg)
{
    struct get_tx *t = arg;
    store_erasure_clear(t->out);
    return store_erasure_get(c, t->id, t->out);
}

enum herald_err privacy_erasure_get(struct store *st, int64_t id, struct store_erasure *out)
{
    memset(out, 0, sizeof(*out));
    struct get_tx t = {id, out};
    return store_run_read(st, get_tx, &t);
}

/* ---- the job kind ---- */
static int erase_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem)
{
    (void)arg;
    json_t *id = json_object_get(raw, "erasureId");
    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        snprintf(problem->field, sizeof(problem->field), "erasureId");
        snprintf(problem->message, sizeof(problem->message), "a positive erasure id");
        return HERALD_ERR_INVALID;
    }
    *out = json_pack("{s:I}", "erasureId", json_integer_value(id));
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

struct run {
    struct privacy *p;
    struct jobs_ctx *ctx;
    json_t *progress; /* borrowed: {step, contactId, removed{}, mixpanel{}} */
    struct store_erasure er;
    int64_t contact_id;
    const struct privacy_source *src;
    int64_t n;
};

/* First step: the contact's id and the distinct_ids Mixpanel received, kept before any row
 * changes (a resumed run reads them back). */
static int collect_tx(struct store_conn *c, void *arg)
{
    struct run *r = arg;
    int rc = store_privacy_contact_id(c, r->er.email, &r->contact_id);
    bool forwarded = false;
    rc = rc ? rc : store_privacy_forwarded(c, r->er.email, &forwarded);
    json_t *ids = json_array();
    char hashed[65];
    if (!rc && forwarded && r->p->o.hash_emails && *r->p->o.hash_secret)
        rc = mixpanel_hashed_id(r->p->o.hash_secret, r->er.email, hashed);
    if (!rc && forwarded)
        json_array_append_new(ids, json_string(r->p->o.hash_emails ? hashed : r->er.email));
    char *text = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    rc = rc ? rc : text ? store_erasure_set_ids(c, r->er.id, text) : HERALD_ERR_NOMEM;
    free(text);
    return rc;
}

static int step_tx(struct store_conn *c, void *arg)
{
    struct run *r = arg;
    char salt[STORE_PRIVACY_HASH_LEN];
    int rc = store_privacy_salt(c, salt);
    return rc ? rc
              : store_privacy_erase_step(c, r->src->src, r->er.email, r->contact_id, salt,
                                         r->er.addr_hash, PRIVACY_ERASE_BATCH, &r->n);
}

static void count(json_t *progress, const char *table, int64_t n)
{
    json_t *removed = json_object_get(progress, "removed");
    json_int_t was = json_integer_value(json_object_get(removed, table));
    json_object_set_new(removed, table, json_integer(was + n));
}

/* The source at step i: the table's order, with the contact row itself last of all. */
static const struct privacy_source *source_at(size_t i)
{
    size_t k = 0;
    for (size_t j = 0; j < privacy_source_count; j++) {
        if (privacy_sources[j].src == STORE_PSRC_CONTACT)
            continue;
        if (k++ == i)
            return &privacy_sources[j];
    }
    for (size_t j = 0; j < privacy_source_count; j++)
        if (privacy_sources[j].src == STORE_PSRC_CONTACT && i == privacy_source_count - 1)
            return &privacy_sources[j];
    return NULL;
}

static int erase_sources(struct run *r)
{
    size_t step = (size_t)json_integer_value(json_object_get(r->progress, "step"));
    for (; step < privacy_source_count; step++) {
        r->src = source_at(step);
        do {
            int rc = store_run_tx(r->p->o.st, step_tx, r);
            if (rc)
                return rc;
            count(r->progress, r->src->table, r->n);
            if ((rc = jobs_ctx_checkpoint(r->ctx, false)))
                return rc;
        } while (r->src->batched && r->n >= PRIVACY_ERASE_BATCH);
        json_object_set_new(r->progress, "step", json_integer((json_int_t)step + 1));
        int rc = jobs_ctx_checkpoint(r->ctx, true);
        if (rc)
            return rc;
    }
    return HERALD_OK;
}

static bool mixpanel_configured(const struct privacy_opts *o)
{
    return *o->mixpanel_gdpr_token && *o->mixpanel_token && *o->mixpanel_gdpr_base_url;
}

static int mixpanel_step(struct run *r)
{
    if (json_object_get(r->progress, "mixpanel"))
        return HERALD_OK;
    json_t *ids = r->er.mixpanel_ids ? json_loads(r->er.mixpanel_ids, 0, NULL) : json_array();
    json_t *res = NULL;
    int rc = HERALD_OK;
    if (!json_array_size(ids))
        res = json_pack("{s:s}", "status", "nothing_forwarded");
    else if (!mixpanel_configured(&r->p->o))
        res = json_pack("{s:s, s:I}", "status", "not_configured", "distinctIds",
                        (json_int_t)json_array_size(ids));
    else
        rc = privacy_mixpanel_delete(&r->p->o, ids, &res);
    json_decref(ids);
    if (rc) {
        jobs_ctx_fail(r->ctx, false, "Mixpanel's deletion request failed; retried later");
        return rc;
    }
    json_object_set_new(r->progress, "mixpanel", res);
    return jobs_ctx_checkpoint(r->ctx, true);
}

static int finish_tx(struct store_conn *c, void *arg)
{
    struct run *r = arg;
    json_t *report =
        json_pack("{s:O, s:b, s:O}", "tables", json_object_get(r->progress, "removed"),
                  "suppressed", 1, "mixpanel", json_object_get(r->progress, "mixpanel"));
    char *text = report ? json_dumps(report, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(report);
    int rc = text ? store_erasure_finish(c, r->er.id, text, clock_now_ms()) : HERALD_ERR_NOMEM;
    free(text);
    return rc;
}

static int load_tx(struct store_conn *c, void *arg)
{
    struct run *r = arg;
    int64_t id = r->er.id;
    store_erasure_clear(&r->er);
    return store_erasure_get(c, id, &r->er);
}

static int erase_steps(struct run *r)
{
    int rc = store_run_read(r->p->o.st, load_tx, r);
    if (rc || strcmp(r->er.status, "done") == 0 || !r->er.email)
        return rc;
    if (!json_object_get(r->progress, "removed"))
        json_object_set_new(r->progress, "removed", json_object());
    json_t *cid = json_object_get(r->progress, "contactId");
    if (!cid) {
        if ((rc = store_run_tx(r->p->o.st, collect_tx, r)) ||
            (rc = store_run_read(r->p->o.st, load_tx, r)))
            return rc;
        json_object_set_new(r->progress, "contactId", json_integer(r->contact_id));
        if ((rc = jobs_ctx_checkpoint(r->ctx, true)))
            return rc;
    } else {
        r->contact_id = json_integer_value(cid);
    }
    rc = erase_sources(r);
    rc = rc ? rc : mixpanel_step(r);
    return rc ? rc : store_run_tx(r->p->o.st, finish_tx, r);
}

static int erase_run(struct jobs_ctx *ctx)
{
    struct run r = {.p = jobs_ctx_arg(ctx), .ctx = ctx, .progress = jobs_ctx_progress(ctx)};
    int64_t id = json_integer_value(json_object_get(jobs_ctx_params(ctx), "erasureId"));
    r.er.id = id;
    int rc = erase_steps(&r);
    if (rc == HERALD_ERR_NOT_FOUND)
        jobs_ctx_fail(ctx, true, "no erasure request %lld", (long long)id);
    if (!rc)
        log_emit(LOG_INFO, "erasure done",
                 json_pack("{s:I, s:s}", "erasure_id", (json_int_t)id, "job_id", jobs_ctx_id(ctx)));
    store_erasure_clear(&r.er);
    return rc;
}

/* The public view: the counts so far, never an address. */
static json_t *erase_progress(json_t *saved)
{
    return json_pack("{s:O?, s:O?}", "removed", json_object_get(saved, "removed"), "mixpanel",
                     json_object_get(saved, "mixpanel"));
}

const struct jobs_kind privacy_erase_kind = {
    .name = "privacy_erase",
    .validate = erase_validate,
    .run = erase_run,
    .progress = erase_progress,
};
