/* The push domain's object: its writer and channel cache, and the store of seen ids (webhook
 * ids, WS-Security nonces) shared by OpenTravel pushes and JSON webhooks. */
#include "ota/push.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "ota/push_internal.h"
#include "store/ota_inbound.h"

#define SWEEP_EVERY 64
#define SWEEP_BATCH 500

#define CACHE_SLOTS 64
#define CACHE_TTL_MS 1000

struct cache_slot {
    bool used;
    int64_t fetched_ms;
    struct ota_channel ch;
};

struct push_cache {
    pthread_mutex_t mu;
    struct cache_slot slots[CACHE_SLOTS];
};

enum herald_err push_cache_new(struct push_cache **out)
{
    struct push_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return HERALD_ERR_NOMEM;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return HERALD_OK;
}

void push_cache_free(struct push_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        ota_channel_wipe(&c->slots[i].ch);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static bool cache_get(struct push_cache *c, int64_t id, int64_t now, struct ota_channel *out)
{
    struct cache_slot *s = &c->slots[(uint64_t)id % CACHE_SLOTS];
    pthread_mutex_lock(&c->mu);
    bool hit =
        s->used && s->ch.id == id && now - s->fetched_ms < CACHE_TTL_MS && now >= s->fetched_ms;
    if (hit)
        *out = s->ch;
    pthread_mutex_unlock(&c->mu);
    return hit;
}

static void cache_put(struct push_cache *c, const struct ota_channel *ch, int64_t now)
{
    struct cache_slot *s = &c->slots[(uint64_t)ch->id % CACHE_SLOTS];
    pthread_mutex_lock(&c->mu);
    ota_channel_wipe(&s->ch);
    s->ch = *ch;
    s->fetched_ms = now;
    s->used = true;
    pthread_mutex_unlock(&c->mu);
}

enum herald_err ota_push_open(const struct ota_push_opts *opts, struct ota_push **out)
{
    if (!opts->store || !opts->channels || !opts->reservations)
        return HERALD_ERR_INTERNAL; /* started before the channels and reservations domains */
    struct ota_push *p = calloc(1, sizeof(*p));
    if (!p)
        return HERALD_ERR_NOMEM;
    p->o = *opts;
    atomic_init(&p->marks, 0);
    enum herald_err rc = push_cache_new(&p->cache);
    if (!rc)
        rc = push_writer_start(opts->reservations, &p->writer);
    if (rc) {
        push_cache_free(p->cache);
        free(p);
        return rc;
    }
    *out = p;
    return HERALD_OK;
}

void ota_push_close(struct ota_push *p)
{
    if (!p)
        return;
    push_writer_stop(p->writer);
    push_cache_free(p->cache);
    free(p);
}

void ota_push_answer_free(struct ota_push_answer *a)
{
    buf_free(&a->body);
}

struct seen_args {
    int64_t channel_id, now_ms, expires_ms;
    const char *kind, *value;
    bool sweep, fresh;
};

static int seen_tx(struct store_conn *c, void *arg)
{
    struct seen_args *a = arg;
    int rc = store_ota_seen_mark(c, a->channel_id, a->kind, a->value, a->now_ms, a->expires_ms,
                                 &a->fresh);
    int64_t deleted = 0;
    if (!rc && a->sweep)
        rc = store_ota_seen_sweep(c, a->now_ms, SWEEP_BATCH, &deleted);
    return rc;
}

enum herald_err push_mark_seen(struct ota_push *p, int64_t channel_id, const char *kind,
                               const char *value, int64_t now_ms, int64_t expires_ms, bool *fresh)
{
    struct seen_args a = {channel_id, now_ms, expires_ms, kind, value, false, false};
    a.sweep = atomic_fetch_add(&p->marks, 1) % SWEEP_EVERY == 0;
    enum herald_err rc = store_run_tx(p->o.store, seen_tx, &a);
    *fresh = a.fresh;
    return rc;
}

enum herald_err push_channel(struct ota_push *p, const char *id_text, struct ota_channel *ch,
                             struct herald_error *err)
{
    char *end = NULL;
    long long id = id_text ? strtoll(id_text, &end, 10) : 0;
    if (!id_text || !*id_text || *end || id <= 0 ||
        strspn(id_text, "0123456789") != strlen(id_text))
        return herald_error_set(err, HERALD_ERR_NOT_FOUND, NULL, "no such channel");
    int64_t now = clock_now_ms();
    if (cache_get(p->cache, id, now, ch))
        return HERALD_OK;
    enum herald_err rc = ota_channels_get(p->o.channels, id, ch, err);
    if (!rc)
        cache_put(p->cache, ch, now);
    return rc;
}
