/* The event writer: its bounded queue, the one writer thread with its group commits, and the
 * two-generation cache of recently stored keys. */
#include "events/ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/text.h"
#include "store/privacy.h"

/* Two generations of open-addressed string sets: when the young one fills, the old one is
 * dropped. Memory stays bounded and a key is remembered for at least `limit` insertions. */
struct slot {
    uint64_t hash;
    char *key; /* NULL: empty */
};

struct keyset {
    struct slot *slots;
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
    pthread_cond_t room; /* signalled when the writer takes a batch: back-pressured submitters */
    struct ingest_item *head, *tail;
    size_t queued;
    bool stopping;
    pthread_mutex_t cache_mu; /* the writer adds, request threads look up */
    struct keycache cache;
    atomic_uint_fast64_t stored, duplicates, cache_hits, batches, failures, suppressed;
};

/* Keys from evkey_compute() end in "_" and 16 hex digits of SHA-256: those digits are the
 * cache's hash, so the key is not hashed again. Other keys get FNV-1a. */
static uint64_t key_hash(const char *key)
{
    size_t n = strlen(key);
    uint64_t h = 0;
    if (n > 16 && key[n - 17] == '_') {
        const char *p = key + n - 16;
        for (; *p; p++) {
            int v = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
            if (v < 0)
                break;
            h = h << 4 | (uint64_t)v;
        }
        if (!*p)
            return h;
    }
    return text_hash(key);
}

static uint64_t item_hash(struct ingest_item *it)
{
    if (!it->hashed) {
        it->hash = key_hash(it->ev.event_key);
        it->hashed = true;
    }
    return it->hash;
}

static int keyset_init(struct keyset *ks, size_t limit)
{
    size_t cap = 16;
    while (cap < limit * 2)
        cap *= 2;
    ks->slots = calloc(cap, sizeof(*ks->slots));
    ks->mask = cap - 1;
    ks->n = 0;
    return ks->slots ? HERALD_OK : HERALD_ERR_NOMEM;
}

static void keyset_clear(struct keyset *ks)
{
    for (size_t i = 0; i <= ks->mask; i++) {
        free(ks->slots[i].key);
        ks->slots[i] = (struct slot){0, NULL};
    }
    ks->n = 0;
}

/* The slot holding `key`, or the empty one where it would go. Hashes are compared first, so
 * probing past other keys touches no strings. */
static struct slot *keyset_slot(const struct keyset *ks, const char *key, uint64_t hash,
                                bool *found)
{
    size_t i = (size_t)hash & ks->mask;
    while (ks->slots[i].key) {
        if (ks->slots[i].hash == hash && strcmp(ks->slots[i].key, key) == 0) {
            *found = true;
            return &ks->slots[i];
        }
        i = (i + 1) & ks->mask;
    }
    *found = false;
    return &ks->slots[i];
}

static bool cache_has(const struct keycache *c, const char *key, uint64_t hash)
{
    bool found = false;
    for (int g = 0; c->limit && g < 2 && !found; g++)
        keyset_slot(&c->gen[c->young ^ g], key, hash, &found);
    return found;
}

/* Remembers a stored key in the young generation; when that is full the old one is emptied
 * and becomes the young one. */
static void cache_add(struct keycache *c, const char *key, uint64_t hash)
{
    if (!c->limit)
        return;
    struct keyset *young = &c->gen[c->young];
    if (young->n >= c->limit) {
        c->young ^= 1;
        young = &c->gen[c->young];
        keyset_clear(young);
    }
    bool found;
    struct slot *slot = keyset_slot(young, key, hash, &found);
    if (found)
        return;
    slot->key = strdup(key);
    if (!slot->key)
        return; /* the cache is an optimisation: skipping it is safe */
    slot->hash = hash;
    young->n++;
}

struct batch_ctx {
    struct ingest_item *items;
    size_t n;
    const struct store_event **evs; /* n pointers into items, for the store */
    bool *created, *suppressed;
};

static int insert_batch_tx(struct store_conn *c, void *arg)
{
    struct batch_ctx *ctx = arg;
    int rc = store_event_insert_many(c, ctx->evs, ctx->n, ctx->created, ctx->suppressed);
    if (rc)
        return rc;
    size_t i = 0;
    for (struct ingest_item *it = ctx->items; it; it = it->next, i++) {
        it->created = ctx->created[i];
        it->suppressed = ctx->suppressed[i];
    }
    return HERALD_OK;
}

/* Runs the batch `items` (a list of n) in one transaction. */
static int insert_batch(struct ingest *ing, struct ingest_item *items, size_t n)
{
    struct batch_ctx ctx = {items, n, malloc(n * sizeof(*ctx.evs)), malloc(n * sizeof(bool)),
                            malloc(n * sizeof(bool))};
    int rc = HERALD_ERR_NOMEM;
    if (ctx.evs && ctx.created && ctx.suppressed) {
        size_t i = 0;
        for (struct ingest_item *it = items; it; it = it->next)
            ctx.evs[i++] = &it->ev;
        rc = store_run_tx(ing->st, insert_batch_tx, &ctx);
    }
    free(ctx.evs);
    free(ctx.created);
    free(ctx.suppressed);
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

/* Commits a batch (every row in it needs writing: the cache was consulted on submission),
 * remembers the stored keys and reports back to the submitters. */
static void write_batch(struct ingest *ing, struct ingest_item *batch, size_t n)
{
    int rc = insert_batch(ing, batch, n);
    atomic_fetch_add(&ing->batches, 1);
    for (struct ingest_item *it = batch; it; it = it->next)
        it->rc = rc;
    if (rc && rc != HERALD_ERR_DB_SOFT) {
        /* One bad row must not sink its neighbours: retry them one by one. */
        for (struct ingest_item *it = batch; it; it = it->next) {
            struct ingest_item *saved = it->next;
            it->next = NULL;
            it->rc = insert_batch(ing, it, 1);
            it->next = saved;
        }
    }
    uint64_t stored = 0, duplicates = 0, failures = 0, suppressed = 0;
    pthread_mutex_lock(&ing->cache_mu);
    for (struct ingest_item *it = batch; it; it = it->next) {
        if (it->rc || it->suppressed) { /* a suppressed key stays unknown: nothing was stored */
            *(it->rc ? &failures : &suppressed) += 1;
            continue;
        }
        *(it->created ? &stored : &duplicates) += 1;
        cache_add(&ing->cache, it->ev.event_key, it->hash);
    }
    pthread_mutex_unlock(&ing->cache_mu);
    atomic_fetch_add(&ing->stored, stored);
    atomic_fetch_add(&ing->duplicates, duplicates);
    atomic_fetch_add(&ing->failures, failures);
    atomic_fetch_add(&ing->suppressed, suppressed);
    for (struct ingest_item *it = batch, *next; it; it = next) {
        next = it->next;
        complete(it);
    }
}

/* Waits (with the queue lock held) until there is work: at once when rows keep arriving
 * and flush_ms is 0, else for a full batch or flush_ms. False when stopping with nothing
 * left. */
static bool wait_for_work(struct ingest *ing)
{
    while (!ing->head && !ing->stopping)
        pthread_cond_wait(&ing->wake, &ing->mu);
    if (!ing->head)
        return false;
    if (ing->opts.flush_ms > 0 && ing->queued < (size_t)ing->opts.batch_max && !ing->stopping) {
        struct timespec deadline = clock_deadline_in(ing->opts.flush_ms);
        while (ing->queued < (size_t)ing->opts.batch_max && !ing->stopping)
            if (pthread_cond_timedwait(&ing->wake, &ing->mu, &deadline) == ETIMEDOUT)
                break;
    }
    return true;
}

/* Unlinks up to batch_max rows from the head of the queue (lock held). */
static struct ingest_item *take_batch(struct ingest *ing, size_t *n)
{
    struct ingest_item *batch = ing->head, *last = batch;
    *n = 1;
    while (last->next && *n < (size_t)ing->opts.batch_max) {
        last = last->next;
        (*n)++;
    }
    ing->head = last->next;
    if (!ing->head)
        ing->tail = NULL;
    last->next = NULL;
    ing->queued -= *n;
    return batch;
}

static void *writer_main(void *arg)
{
    struct ingest *ing = arg;
    pthread_setname_np(pthread_self(), "herald-writer");
    pthread_mutex_lock(&ing->mu);
    while (wait_for_work(ing)) {
        size_t n;
        struct ingest_item *batch = take_batch(ing, &n);
        pthread_cond_broadcast(&ing->room);
        pthread_mutex_unlock(&ing->mu);
        write_batch(ing, batch, n);
        pthread_mutex_lock(&ing->mu);
    }
    pthread_mutex_unlock(&ing->mu);
    return NULL;
}

void ingest_item_fill(struct ingest_item *it, const struct evkey_fields *f, const char *key,
                      const char *payload, int64_t now_ms)
{
    memset(it, 0, sizeof(*it));
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

enum herald_err ingest_start(struct store *st, const struct ingest_opts *opts, struct ingest **out)
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
    clock_cond_init(&ing->wake);
    clock_cond_init(&ing->room);
    if (pthread_create(&ing->thread, NULL, writer_main, ing) != 0) {
        ing->stopping = true;
        ingest_stop(ing);
        return HERALD_ERR_INTERNAL;
    }
    *out = ing;
    return HERALD_OK;
}

/* A key stored before its address was erased is no repeat: the writer must see (and drop)
 * it, so that the answer says suppressed. Hashes addresses only when the list is not empty. */
#define LOOKUP_MAX_AGE_MS 1000

static size_t unanswer_suppressed(struct ingest *ing, struct ingest_item *items, size_t n,
                                  size_t found)
{
    size_t undone = 0;
    /* Writer batches refresh the copy; without them, a read at most once a second. */
    if (found == 0 || store_suppression_refresh_read(ing->st, LOOKUP_MAX_AGE_MS) ||
        store_suppression_version(ing->st) <= 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].answered && store_suppression_hit(ing->st, items[i].ev.email)) {
            items[i].answered = false;
            undone++;
        }
    }
    return undone;
}

size_t ingest_lookup(struct ingest *ing, struct ingest_item *items, size_t n)
{
    if (!ing->cache.limit)
        return 0;
    size_t found = 0;
    pthread_mutex_lock(&ing->cache_mu);
    for (size_t i = 0; i < n; i++) {
        struct ingest_item *it = &items[i];
        it->answered = cache_has(&ing->cache, it->ev.event_key, item_hash(it));
        if (it->answered) {
            it->created = false;
            it->rc = 0;
            found++;
        }
    }
    pthread_mutex_unlock(&ing->cache_mu);
    found -= unanswer_suppressed(ing, items, n, found);
    atomic_fetch_add(&ing->cache_hits, found);
    atomic_fetch_add(&ing->duplicates, found);
    return found;
}

/* Links the items that need writing into a list; returns its head, sets *tail and *count. */
static struct ingest_item *link_unanswered(struct ingest_item *items, size_t n,
                                           struct ingest_ticket *ticket, struct ingest_item **tail,
                                           size_t *count)
{
    struct ingest_item *head = NULL, **link = &head;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        struct ingest_item *it = &items[i];
        if (it->answered)
            continue;
        item_hash(it); /* computed here, off the writer thread, if lookup did not */
        it->created = it->suppressed = false;
        it->rc = 0;
        it->ticket = ticket;
        it->next = NULL;
        *link = it;
        link = &it->next;
        *tail = it;
        (*count)++;
    }
    return head;
}

/* Whether count more items would take a non-empty queue past its bound (lock held). */
static bool queue_full(const struct ingest *ing, size_t count)
{
    return ing->opts.queue_max > 0 && ing->queued > 0 &&
           ing->queued + count > (size_t)ing->opts.queue_max;
}

/* Appends the list head..tail of count items; with `wait` a full queue is waited out. */
static int enqueue(struct ingest *ing, struct ingest_item *head, struct ingest_item *tail,
                   size_t count, bool wait)
{
    pthread_mutex_lock(&ing->mu);
    while (wait && !ing->stopping && queue_full(ing, count))
        pthread_cond_wait(&ing->room, &ing->mu);
    int rc = ing->stopping            ? HERALD_ERR_SHUTTING_DOWN
             : queue_full(ing, count) ? HERALD_ERR_QUEUE_FULL
                                      : HERALD_OK;
    if (!rc) {
        if (ing->tail)
            ing->tail->next = head;
        else
            ing->head = head;
        ing->tail = tail;
        size_t before = ing->queued;
        ing->queued += count;
        /* Wake the writer when work appears, and again when a batch fills during its wait. */
        if (before == 0 || ing->queued >= (size_t)ing->opts.batch_max)
            pthread_cond_signal(&ing->wake);
    }
    pthread_mutex_unlock(&ing->mu);
    return rc;
}

static int submit(struct ingest *ing, struct ingest_item *items, size_t n,
                  struct ingest_ticket *ticket, ingest_done_fn done, void *arg, bool wait)
{
    struct ingest_item *tail = NULL;
    size_t count;
    struct ingest_item *head = link_unanswered(items, n, ticket, &tail, &count);
    ticket->pending = count;
    ticket->rc = 0;
    ticket->done = done;
    ticket->arg = arg;
    if (count == 0) {
        done(arg);
        return HERALD_OK;
    }
    return enqueue(ing, head, tail, count, wait);
}

enum herald_err ingest_submit(struct ingest *ing, struct ingest_item *items, size_t n,
                              struct ingest_ticket *ticket, ingest_done_fn done, void *arg)
{
    return submit(ing, items, n, ticket, done, arg, false);
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

enum herald_err ingest_write(struct ingest *ing, struct ingest_item *items, size_t n)
{
    struct sync_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    struct ingest_ticket ticket;
    ingest_lookup(ing, items, n);
    int rc = submit(ing, items, n, &ticket, sync_done, &w, true);
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
    pthread_cond_broadcast(&ing->room);
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
    pthread_cond_destroy(&ing->room);
    free(ing);
}

bool ingest_known(struct ingest *ing, const char *event_key)
{
    uint64_t hash = key_hash(event_key);
    pthread_mutex_lock(&ing->cache_mu);
    bool known = cache_has(&ing->cache, event_key, hash);
    pthread_mutex_unlock(&ing->cache_mu);
    return known;
}

void ingest_get_stats(struct ingest *ing, struct ingest_stats *out)
{
    out->stored = atomic_load(&ing->stored);
    out->duplicates = atomic_load(&ing->duplicates);
    out->cache_hits = atomic_load(&ing->cache_hits);
    out->batches = atomic_load(&ing->batches);
    out->failures = atomic_load(&ing->failures);
    out->suppressed = atomic_load(&ing->suppressed);
    pthread_mutex_lock(&ing->mu);
    out->queue_depth = ing->queued;
    pthread_mutex_unlock(&ing->mu);
}
