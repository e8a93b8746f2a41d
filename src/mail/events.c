/* Sending-side events (events.h): their names, keys and the insert inside a transaction. */
#include "mail/events.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "events/key.h"

static const char *const type_names[] = {
    [MAIL_EV_SENT] = "emailsSent",
    [MAIL_EV_FAILED] = "emailsFailed",
    [MAIL_EV_OPENED] = "emailsOpened",
    [MAIL_EV_CLICKED] = "emailsClicked",
    [MAIL_EV_BOUNCED] = "emailsBounced",
    [MAIL_EV_COMPLAINED] = "emailsComplained",
    [MAIL_EV_UNSUBSCRIBED] = "emailsUnsubscribed",
};

const char *mail_event_type_name(enum mail_event_type type)
{
    return type_names[type];
}

/* The normalised fields and key of one event; false when they do not validate. */
struct keyed {
    struct evkey_fields f;
    char key[EVKEY_MAX_LEN];
};

static bool key_event(const struct mail_event *e, struct keyed *out)
{
    char campaign[24];
    snprintf(campaign, sizeof(campaign), "%" PRId64, e->campaign_id);
    struct evkey_input in = {"herald", campaign, type_names[e->type], e->email, e->source_id,
                             NULL,     NULL};
    struct evkey_problem problem;
    if (evkey_validate(&in, &out->f, &problem))
        return false;
    /* The key stays the occurrence's identity (source id), not its time: a retried
       transaction or a re-delivered bounce report yields the same key. The time is kept. */
    out->f.has_occurred_at = true;
    out->f.occurred_at_ms = e->occurred_ms;
    struct evkey_fields keyf = out->f;
    keyf.has_occurred_at = false;
    evkey_compute(&keyf, out->key);
    return true;
}

enum herald_err mail_events_insert(struct store_conn *c, const struct mail_event *evs, size_t n,
                                   int64_t now_ms)
{
    if (n == 0)
        return HERALD_OK;
    struct keyed *k = calloc(n, sizeof(*k));
    struct store_event *rows = calloc(n, sizeof(*rows));
    const struct store_event **ptrs = calloc(n, sizeof(*ptrs));
    bool *created = calloc(n, sizeof(*created));
    enum herald_err rc = (k && rows && ptrs && created) ? HERALD_OK : HERALD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        if (!key_event(&evs[i], &k[i])) {
            rc = HERALD_ERR_INVALID;
            break;
        }
        rows[i] = (struct store_event){
            .event_key = k[i].key,
            .platform = k[i].f.platform,
            .campaign_id = k[i].f.campaign_id,
            .event_type = k[i].f.event_type,
            .email = k[i].f.email,
            .source_id = k[i].f.has_source_id ? k[i].f.source_id : NULL,
            .payload = (char *)evs[i].payload,
            .has_occurred_at = true,
            .occurred_at_ms = evs[i].occurred_ms,
            .created_at_ms = now_ms,
        };
        ptrs[i] = &rows[i];
    }
    if (!rc)
        rc = store_event_insert_many(c, ptrs, n, created, NULL);
    free(k);
    free(rows);
    free(ptrs);
    free(created);
    return rc;
}
