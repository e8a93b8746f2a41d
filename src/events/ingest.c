#include "events/ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

/* Two generations of open-addressed string sets: when the young one fills, the old one is
 * dropped. Memory stays bounded and a key is remembered for at least `limit` insertions. */
struct keyset {
    char **slots;
    size_t mask;
    size_t n;
};

struct keycache {
    struct keyset gen[2];
    int young;
    size_t limit;
};

struct ingest {
    struct store *st;
    struct ingest_opts opts;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct ingest_item *head, *tail;
    size_t queued;
    bool stopping;
    pthread_mutex_t cache_mu; /* the writer adds, request threads look up */
    struct keycache cache;
    atomic_uint_fast64_t stored, duplicates, cache_hits, batches, failures;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int keyset_init(struct keyset *ks, size_t limit)
{
    size_t cap = 16;
    while (cap < limit * 2)
        cap *= 2;
    ks->slots = calloc(cap, sizeof(char *));
    ks->mask = cap - 1;
    ks->n = 0;
    return ks->slots ? HERALD_OK : HERALD_ERR_NOMEM;
}

static void keyset_clear(struct keyset *ks)
{
    for (size_t i = 0; i <= ks->mask; i++) {
        free(ks->slots[i]);
        ks->slots[i] = NULL;
    }
    ks->n = 0;
}

static size_t keyset_slot(const struct keyset *ks, const char *key, bool *found)
{
    size_t i = hash_str(key) & ks->mask;
    while (ks->slots[i]) {
        if (strcmp(ks->slots[i], key) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & ks->mask;
    }
    *found = false;
    return i;
}

static bool cache_has(struct keycache *c, const char *key)
{
    if (!c->limit)
        return false;
    bool found;
    for (int g = 0; g < 2; g++) {
        keyset_slot(&c->gen[g], key, &found);
        if (found)
            return true;
    }
    return false;
}

static void cache_add(struct keycache *c, const char *key)
{
    if (!c->limit || cache_has(c, key))
        return;
    struct keyset *young = &c->gen[c->young];
    if (young->n >= c->limit) {
        c->young ^= 1;
        young = &c->gen[c->young];
        keyset_clear(young);
    }
    bool found;
    size_t slot = keyset_slot(young, key, &found);
    char *copy = strdup(key);
    if (!copy)
        return; /* the cache is an optimisation: skipping it is safe */
    young->slots[slot] = copy;
    young->n++;
}

struct batch_ctx {
    struct ingest_item *items;
    size_t n;
    const struct store_event **evs; /* n pointers into items, for the store */
    bool *created;
};

static int insert_batch_tx(struct store_conn *c, void *arg)
{
    struct batch_ctx *ctx = arg;
    int rc = store_event_insert_many(c, ctx->evs, ctx->n, ctx->created);
    if (rc)
        return rc;
    size_t i = 0;
    for (struct ingest_item *it = ctx->items; it; it = it->next)
        it->created = ctx->created[i++];
    return HERALD_OK;
}

/* Runs the batch `items` (a list of n) in one transaction. */
static int insert_batch(struct ingest *ing, struct ingest_item *items, size_t n)
{
    struct batch_ctx ctx = {items, n, malloc(n * sizeof(*ctx.evs)), malloc(n * sizeof(bool))};
    int rc = HERALD_ERR_NOMEM;
    if (ctx.evs && ctx.created) {
        size_t i = 0;
        for (struct ingest_item *it = items; it; it = it->next)
            ctx.evs[i++] = &it->ev;
        rc = store_run_tx(ing->st, insert_batch_tx, &ctx);
    }
    free(ctx.evs);
    free(ctx.created);
    return rc;
}

static void complete(struct ingest_item *it)
{
    struct ingest_ticket *t = it->ticket;
    if (it->rc && !t->rc)
        t->rc = it->rc;
    if (--t->pending == 0 && t->done)
        t->done(t->arg);
}

static void write_batch(struct ingest *ing, struct ingest_item *batch)
{
    /* Repeats of recently stored keys are answered from memory. */
    struct ingest_item *to_write = NULL, **tail = &to_write, *answered = NULL;
    size_t n_write = 0;
    pthread_mutex_lock(&ing->cache_mu);
    for (struct ingest_item *it = batch, *next; it; it = next) {
        next = it->next;
        it->next = NULL;
        it->created = false;
        it->rc = 0;
        if (cache_has(&ing->cache, it->ev.event_key)) {
            atomic_fetch_add(&ing->cache_hits, 1);
            atomic_fetch_add(&ing->duplicates, 1);
            it->next = answered;
            answered = it;
        } else {
            *tail = it;
            tail = &it->next;
            n_write++;
        }
    }
    pthread_mutex_unlock(&ing->cache_mu);
    if (to_write) {
        int rc = insert_batch(ing, to_write, n_write);
        atomic_fetch_add(&ing->batches, 1);
        if (rc && rc != HERALD_ERR_DB_SOFT) {
            /* One bad row must not sink its neighbours: retry them one by one. */
            for (struct ingest_item *it = to_write; it; it = it->next) {
                struct ingest_item *saved = it->next;
                it->next = NULL;
                it->rc = insert_batch(ing, it, 1);
                it->next = saved;
            }
        } else if (rc) {
            for (struct ingest_item *it = to_write; it; it = it->next)
                it->rc = rc;
        }
        pthread_mutex_lock(&ing->cache_mu);
        for (struct ingest_item *it = to_write; it; it = it->next) {
            if (it->rc) {
                atomic_fetch_add(&ing->failures, 1);
                continue;
            }
            atomic_fetch_add(it->created ? &ing->stored : &ing->duplicates, 1);
            cache_add(&ing->cache, it->ev.event_key);
        }
        pthread_mutex_unlock(&ing->cache_mu);
    }
    for (struct ingest_item *it = answered, *next; it; it = next) {
        next = it->next;
        complete(it);
    }
    for (struct ingest_item *it = to_write, *next; it; it = next) {
        next = it->next;
        complete(it);
    }
}

static void *writer_main(void *arg)
{
    struct ingest *ing = arg;
    pthread_setname_np(pthread_self(), "herald-writer");
    pthread_mutex_lock(&ing->mu);
    for (;;) {
        while (!ing->head && !ing->stopping)
            pthread_cond_wait(&ing->wake, &ing->mu);
        if (!ing->head && ing->stopping)
            break;
        if (ing->opts.flush_ms > 0 && ing->queued < (size_t)ing->opts.batch_max && !ing->stopping) {
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_nsec += (long)ing->opts.flush_ms * 1000000L;
            deadline.tv_sec += deadline.tv_nsec / 1000000000L;
            deadline.tv_nsec %= 1000000000L;
            while (ing->queued < (size_t)ing->opts.batch_max && !ing->stopping)
                if (pthread_cond_timedwait(&ing->wake, &ing->mu, &deadline) == ETIMEDOUT)
                    break;
        }
        struct ingest_item *batch = ing->head, *last = batch;
        size_t n = 1;
        while (last->next && n < (size_t)ing->opts.batch_max) {
            last = last->next;
            n++;
        }
        ing->head = last->next;
        if (!ing->head)
            ing->tail = NULL;
        last->next = NULL;
        ing->queued -= n;
        pthread_mutex_unlock(&ing->mu);
        write_batch(ing, batch);
        pthread_mutex_lock(&ing->mu);
    }
    pthread_mutex_unlock(&ing->mu);
    return NULL;
}

void ingest_item_fill(struct ingest_item *it, const struct evkey_fields *f, const char *key,
                      const char *payload, int64_t now_ms)
{
    struct store_event *ev = &it->ev;
    ev->event_key = (char *)key;
    ev->platform = (char *)f->platform;
    ev->campaign_id = (char *)f->campaign_id;
    ev->event_type = (char *)f->event_type;
    ev->email = (char *)f->email;
    ev->source_id = f->has_source_id ? (char *)f->source_id : NULL;
    ev->namespace_ = f->has_namespace ? (char *)f->namespace_ : NULL;
    ev->payload = (char *)payload;
    ev->has_occurred_at = f->has_occurred_at;
    ev->occurred_at_ms = f->occurred_at_ms;
    ev->created_at_ms = now_ms;
}

int ingest_start(struct store *st, const struct ingest_opts *opts, struct ingest **out)
{
    struct ingest *ing = calloc(1, sizeof(*ing));
    if (!ing)
        return HERALD_ERR_NOMEM;
    ing->st = st;
    ing->opts = *opts;
    if (ing->opts.batch_max < 1)
        ing->opts.batch_max = 1;
    ing->cache.limit = opts->cache_keys > 0 ? (size_t)(opts->cache_keys + 1) / 2 : 0;
    if (ing->cache.limit && (keyset_init(&ing->cache.gen[0], ing->cache.limit) ||
                             keyset_init(&ing->cache.gen[1], ing->cache.limit))) {
        free(ing->cache.gen[0].slots);
        free(ing->cache.gen[1].slots);
        free(ing);
        return HERALD_ERR_NOMEM;
    }
    pthread_mutex_init(&ing->mu, NULL);
    pthread_mutex_init(&ing->cache_mu, NULL);
    pthread_cond_init(&ing->wake, NULL);
    if (pthread_create(&ing->thread, NULL, writer_main, ing) != 0) {
        ing->stopping = true;
        ingest_stop(ing);
        return HERALD_ERR_INTERNAL;
    }
    *out = ing;
    return HERALD_OK;
}

int ingest_submit(struct ingest *ing, struct ingest_item *items, size_t n,
                  struct ingest_ticket *ticket, ingest_done_fn done, void *arg)
{
    ticket->pending = n;
    ticket->rc = 0;
    ticket->done = done;
    ticket->arg = arg;
    if (n == 0) {
        done(arg);
        return HERALD_OK;
    }
    for (size_t i = 0; i < n; i++) {
        items[i].ticket = ticket;
        items[i].next = i + 1 < n ? &items[i + 1] : NULL;
    }
    pthread_mutex_lock(&ing->mu);
    if (ing->stopping) {
        pthread_mutex_unlock(&ing->mu);
        return HERALD_ERR_SHUTTING_DOWN;
    }
    if (ing->tail)
        ing->tail->next = &items[0];
    else
        ing->head = &items[0];
    ing->tail = &items[n - 1];
    size_t before = ing->queued;
    ing->queued += n;
    /* Wake the writer when work appears, and again when a batch fills during its wait. */
    if (before == 0 || ing->queued >= (size_t)ing->opts.batch_max)
        pthread_cond_signal(&ing->wake);
    pthread_mutex_unlock(&ing->mu);
    return HERALD_OK;
}

struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};

static void sync_done(void *arg)
{
    struct sync_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int ingest_write(struct ingest *ing, struct ingest_item *items, size_t n)
{
    struct sync_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    struct ingest_ticket ticket;
    int rc = ingest_submit(ing, items, n, &ticket, sync_done, &w);
    if (!rc) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        rc = ticket.rc;
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

void ingest_stop(struct ingest *ing)
{
    if (!ing)
        return;
    pthread_mutex_lock(&ing->mu);
    bool started = !ing->stopping;
    ing->stopping = true;
    pthread_cond_signal(&ing->wake);
    pthread_mutex_unlock(&ing->mu);
    if (started)
        pthread_join(ing->thread, NULL);
    if (ing->cache.limit) {
        keyset_clear(&ing->cache.gen[0]);
        keyset_clear(&ing->cache.gen[1]);
    }
    free(ing->cache.gen[0].slots);
    free(ing->cache.gen[1].slots);
    pthread_mutex_destroy(&ing->mu);
    pthread_mutex_destroy(&ing->cache_mu);
    pthread_cond_destroy(&ing->wake);
    free(ing);
}

bool ingest_known(struct ingest *ing, const char *event_key)
{
    pthread_mutex_lock(&ing->cache_mu);
    bool known = cache_has(&ing->cache, event_key);
    pthread_mutex_unlock(&ing->cache_mu);
    return known;
}

void ingest_count_known(struct ingest *ing, size_t n)
{
    atomic_fetch_add(&ing->cache_hits, n);
    atomic_fetch_add(&ing->duplicates, n);
}

void ingest_get_stats(struct ingest *ing, struct ingest_stats *out)
{
    out->stored = atomic_load(&ing->stored);
    out->duplicates = atomic_load(&ing->duplicates);
    out->cache_hits = atomic_load(&ing->cache_hits);
    out->batches = atomic_load(&ing->batches);
    out->failures = atomic_load(&ing->failures);
    pthread_mutex_lock(&ing->mu);
    out->queue_depth = ing->queued;
    pthread_mutex_unlock(&ing->mu);
}
