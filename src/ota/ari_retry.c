/* Owns sending failed outbox rows again (POST /api/ota/updates/retry): which rows may come back
 * without breaking the order per key, and waking their channels out of any backoff. */
#include <stdlib.h>

#include "base/clock.h"
#include "ota/ari.h"

struct retry {
    struct ota_updates *u;
    struct store_ari_pick pick;
    int64_t now_ms;
    struct ota_retry_result *out;
};

/* The channel is tried now: whoever asked for a retry has just fixed something (credentials, an
 * endpoint, the hotel's data), so the backoff that guarded against a broken channel is over. A
 * job is queued even when one waits for the old retry time: the lease keeps it to one sender. */
static int wake(struct store_conn *c, struct retry *rt, struct store_ari_state *st)
{
    st->retry_at_ms = 0;
    st->kicked_at_ms = rt->now_ms;
    int rc = store_ari_state_save(c, st, rt->now_ms);
    json_t *params = json_pack("{s:I}", "channelId", (json_int_t)st->channel_id);
    char job[40];
    struct jobs_problem problem = {0};
    if (!rc)
        rc = params ? jobs_submit_tx(rt->u->jobs, c, "ota_deliver", params, 0, job, &problem)
                    : HERALD_ERR_NOMEM;
    json_decref(params);
    return rc;
}

static int retry_tx(struct store_conn *c, void *arg)
{
    struct retry *rt = arg;
    int64_t *chans = NULL;
    size_t n = 0;
    int rc = store_ari_failed_channels(c, &rt->pick, &chans, &n);
    if (!rc && rt->pick.channel_id && n == 0) { /* nothing failed: still wake the channel */
        chans = malloc(sizeof(*chans));
        rc = chans ? HERALD_OK : HERALD_ERR_NOMEM;
        if (chans)
            chans[n++] = rt->pick.channel_id;
    }
    /* The channels' state rows first, in id order, as fan-out and delivery lock them. */
    struct store_ari_state *st = n ? calloc(n, sizeof(*st)) : NULL;
    if (!rc && n && !st)
        rc = HERALD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++)
        rc = store_ari_state_lock(c, chans[i], rt->now_ms, &st[i]);
    int64_t requeued = 0, left = 0;
    if (!rc)
        rc = store_ari_requeue(c, &rt->pick, rt->now_ms, &requeued, &left);
    for (size_t i = 0; !rc && i < n; i++)
        rc = wake(c, rt, &st[i]);
    free(st);
    free(chans);
    rt->out->requeued = requeued;
    rt->out->left = left;
    return rc;
}

enum herald_err ota_updates_retry(struct ota_updates *u, int64_t channel_id, const char *ids,
                                  struct ota_retry_result *out)
{
    *out = (struct ota_retry_result){0};
    if (channel_id) {
        struct ota_channel ch;
        struct herald_error err = {0};
        int rc = ota_channels_get(u->chs, channel_id, &ch, &err);
        if (rc)
            return rc;
        ota_channel_wipe(&ch);
    }
    struct retry rt = {.u = u, .pick = {channel_id, ids}, .now_ms = clock_now_ms(), .out = out};
    int rc = store_run_tx(u->st, retry_tx, &rt);
    if (!rc)
        jobs_notify(u->jobs);
    return rc;
}
