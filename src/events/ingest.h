/* The event writer: one per process. Callers submit validated events; a single thread
 * commits them in batches (group commit: at most `batch_max` rows, waiting at most
 * `flush_ms` for more while rows keep arriving) and reports back only once each row is
 * durable. Keys stored recently sit in a bounded in-memory set so that repeats cost no write:
 * the submitting thread looks them up once (ingest_lookup), and the writer thread only writes
 * (and remembers what it wrote). Events of an address on the suppression list (erased,
 * store/privacy.h) are dropped by the store in the writer's transaction: the item comes back
 * with suppressed = true, created = false, and is counted in ingest_stats.suppressed. */
#ifndef HERALD_EVENTS_INGEST_H
#define HERALD_EVENTS_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "events/key.h"
#include "store/store.h"

struct ingest;

struct ingest_opts {
    int batch_max;
    int flush_ms;
    int cache_keys; /* 0 disables the cache */
    int queue_max;  /* most items waiting for the writer; 0: unbounded */
};

typedef void (*ingest_done_fn)(void *arg);

/* What a submission carries. The caller owns it (and the event's strings) until `done`. */
struct ingest_ticket {
    size_t pending;
    int rc; /* first error among the items, 0 if all were stored or found */
    ingest_done_fn done;
    void *arg;
};
struct ingest_item {
    struct store_event ev; /* in: event_key and fields set */
    bool created;          /* out */
    bool suppressed;       /* out: not stored, the address is on the suppression list */
    int rc;                /* out */
    bool answered;         /* out of ingest_lookup(): found in the cache, needs no write */
    bool hashed;           /* the key's hash is computed once, on first need */
    uint64_t hash;
    struct ingest_ticket *ticket;
    struct ingest_item *next;
};

/* Resets an item and points its event at validated fields, their key and a payload (all
 * owned by the caller), stored at now_ms. */
void ingest_item_fill(struct ingest_item *it, const struct evkey_fields *f, const char *key,
                      const char *payload, int64_t now_ms);

enum herald_err ingest_start(struct store *st, const struct ingest_opts *opts, struct ingest **out);
/* Looks each item's key up in the cache of recently stored keys, under one lock: an item found
 * is answered there (answered = true, created = false, counted as a duplicate) and needs no
 * write. Returns how many were answered. Thread-safe. */
size_t ingest_lookup(struct ingest *ing, struct ingest_item *items, size_t n);
/* Queues those of the n items ingest_lookup() did not answer. `done(arg)` runs on the writer
 * thread once all of them are durable or failed; it must be quick (the writer waits for it).
 * When none needs writing it runs at once, on the caller's thread.
 * HERALD_ERR_SHUTTING_DOWN once ingest_stop() has begun; HERALD_ERR_QUEUE_FULL (nothing
 * queued, `done` not called) when they would take the queue past queue_max (a submission into
 * an empty queue is always taken, so one larger than the bound still goes through). */
enum herald_err ingest_submit(struct ingest *ing, struct ingest_item *items, size_t n,
                              struct ingest_ticket *ticket, ingest_done_fn done, void *arg);
/* Looks up, submits the rest and waits; returns the ticket's rc. A full queue is waited out
 * (back-pressure for the sync connectors), not refused. */
enum herald_err ingest_write(struct ingest *ing, struct ingest_item *items, size_t n);
/* True when the key was stored recently (it is in the cache). Thread-safe. */
bool ingest_known(struct ingest *ing, const char *event_key);
/* Stops taking work, commits everything queued, joins the thread and frees. */
void ingest_stop(struct ingest *ing);

struct ingest_stats {
    uint64_t stored, duplicates, cache_hits, batches, failures;
    uint64_t suppressed; /* dropped: the address is on the suppression list (erased) */
    uint64_t queue_depth;
};
void ingest_get_stats(struct ingest *ing, struct ingest_stats *out);

#endif
