/* The automation scheduler (ota/automations.h): the "automation_tick" job kind, run on its
 * schedule, handing every due send to the sending queue or recording why it is skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "ota/automations_internal.h"
#include "ota/guests.h"

#define TICK_BATCH 50
#define TICK_MAX_BATCHES 200 /* per run; the next tick takes the rest */
#define RULE_CACHE 16

struct tick_tx {
    struct ota_automations *m;
    int64_t clock_ms, now_ms;
    struct store_automation rules[RULE_CACHE];
    size_t nrules;
    int queued, skipped;
    size_t seen;
};

static void rules_clear(struct tick_tx *t)
{
    for (size_t i = 0; i < t->nrules; i++)
        store_automation_clear(&t->rules[i]);
    t->nrules = 0;
}

/* The send's automation, read once per transaction. */
static int rule_of(struct store_conn *c, struct tick_tx *t, int64_t id,
                   const struct store_automation **out)
{
    for (size_t i = 0; i < t->nrules; i++)
        if (t->rules[i].id == id) {
            *out = &t->rules[i];
            return HERALD_OK;
        }
    if (t->nrules == RULE_CACHE)
        rules_clear(t);
    int rc = store_automation_get(c, id, &t->rules[t->nrules]);
    if (!rc)
        *out = &t->rules[t->nrules++];
    return rc;
}

/* Why the send must not go (NULL: it may), with the list a marketing send goes through. */
static const char *refusal(const struct tick_tx *t, const struct store_automation *a,
                           const struct store_automation_send *s,
                           const struct store_automation_recipient *r)
{
    if (t->clock_ms - s->due_at_ms > OTA_AUTOMATION_LATE_MS)
        return "late";
    if (!r->exists)
        return "contact_deleted";
    if (strcmp(r->status, "enabled") != 0)
        return "blocklisted";
    if (strcmp(r->delivery, "ok") != 0)
        return strcmp(r->delivery, "complained") == 0 ? "complained" : "bounced";
    if (r->unsubscribed)
        return "unsubscribed";
    if (strcmp(a->kind, "marketing") != 0)
        return NULL;
    if (ota_guest_is_relay(t->m->relay_domains, r->email))
        return "relay_address";
    return r->list_id ? NULL : "no_consent";
}

static int skip(struct store_conn *c, struct tick_tx *t, int64_t id, const char *reason)
{
    bool changed;
    int rc = store_automation_send_close(c, id, "skipped", reason, t->now_ms, &changed);
    if (!rc && changed)
        t->skipped++;
    return rc;
}

static int one_send(struct store_conn *c, struct tick_tx *t, const struct store_automation_send *s)
{
    const struct store_automation *a;
    int rc = rule_of(c, t, s->automation_id, &a);
    if (rc)
        return rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc;
    int64_t lists[AUTOMATION_LISTS_MAX];
    size_t n = automation_ids(a->lists, lists, AUTOMATION_LISTS_MAX);
    struct store_automation_recipient r;
    rc = store_automation_recipient(c, s->contact_id, lists, n, &r);
    if (rc)
        return rc;
    const char *why = refusal(t, a, s, &r);
    if (why)
        return skip(c, t, s->id, why);
    bool changed;
    int64_t campaign_id;
    rc = store_automation_send_enqueue(c, a, lists, n, s, r.list_id, t->now_ms, &changed,
                                       &campaign_id);
    if (rc == HERALD_ERR_NOT_FOUND)
        return skip(c, t, s->id, "template_missing");
    if (!rc && changed)
        t->queued++;
    return rc;
}

static int tick_tx(struct store_conn *c, void *arg)
{
    struct tick_tx *t = arg;
    struct store_automation_send *due;
    size_t n;
    t->queued = t->skipped = 0;
    rules_clear(t);
    int rc = store_automation_sends_due(c, t->clock_ms, TICK_BATCH, &due, &n);
    t->seen = rc ? 0 : n;
    for (size_t i = 0; !rc && i < n; i++)
        rc = one_send(c, t, &due[i]);
    free(due);
    return rc;
}

enum herald_err ota_automations_tick(struct ota_automations *m, int64_t clock_ms, int *queued,
                                     int *skipped)
{
    struct tick_tx t = {.m = m, .clock_ms = clock_ms};
    *queued = *skipped = 0;
    int rc = HERALD_OK;
    for (int b = 0; !rc && b < TICK_MAX_BATCHES; b++) {
        t.now_ms = clock_now_ms();
        rc = store_run_tx(m->o.store, tick_tx, &t);
        rules_clear(&t);
        if (rc)
            break;
        *queued += t.queued;
        *skipped += t.skipped;
        if (t.seen < TICK_BATCH)
            break;
    }
    if (*queued && m->o.wake)
        m->o.wake(m->o.wake_arg);
    return rc;
}

static int tick_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem)
{
    (void)arg;
    if (!json_is_object(raw) || json_object_size(raw) != 0) {
        snprintf(problem->message, sizeof(problem->message), "takes no parameters");
        return HERALD_ERR_INVALID;
    }
    *out = json_object();
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

static int tick_run(struct jobs_ctx *ctx)
{
    struct ota_automations *m = jobs_ctx_arg(ctx);
    if (!m->o.sending_configured)
        return HERALD_OK; /* due sends wait, scheduled, until a relay and address are set */
    int queued, skipped;
    int64_t clock_ms = clock_now_ms() + m->o.clock_offset_ms;
    int rc = ota_automations_tick(m, clock_ms, &queued, &skipped);
    json_t *p = jobs_ctx_progress(ctx);
    if (json_is_object(p)) {
        json_object_set_new(p, "queued", json_integer(queued));
        json_object_set_new(p, "skipped", json_integer(skipped));
    }
    if (queued || skipped)
        log_info("automation sends handed to the queue",
                 json_pack("{s:i, s:i}", "queued", queued, "skipped", skipped));
    return rc;
}

const struct jobs_kind automation_tick_kind = {
    .name = OTA_AUTOMATION_TICK_KIND,
    .validate = tick_validate,
    .run = tick_run,
    .routine = true, /* every minute */
};
