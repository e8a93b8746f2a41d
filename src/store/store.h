/* The store: the only header the rest of Herald includes for persistence. One interface,
 * two backends (sqlite/, postgres/) behind a function-pointer table (internal.h). Operations
 * run on a connection borrowed from the pool, normally inside store_run_tx().
 *
 * Errors: HERALD_ERR_DB_SOFT means "try again" (busy, serialization failure, lost connection)
 * and is retried by store_run_tx(); HERALD_ERR_DUPLICATE is a unique-key clash;
 * HERALD_ERR_NOT_FOUND an update or lookup that matched nothing; HERALD_ERR_DB anything else. */
#ifndef HERALD_STORE_STORE_H
#define HERALD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct store;
struct store_conn;

struct store_opts {
    const char *url; /* "sqlite:PATH" or "postgres://..." */
    int pool_min;
    int pool_max;
    bool sqlite_sync_full;
};

/* Opens the backend the URL names and fills the pool to pool_min. */
enum herald_err store_open(const struct store_opts *opts, struct store **out);
void store_close(struct store *st);
/* "sqlite" or "postgres". */
const char *store_backend_name(const struct store *st);

typedef int (*store_fn)(struct store_conn *conn, void *arg);
/* Runs fn inside a transaction on a pooled connection: commits when it returns 0, rolls back
 * otherwise. Soft failures (HERALD_ERR_DB_SOFT) are retried with backoff, so fn may run more
 * than once and must not have effects outside the transaction. */
enum herald_err store_run_tx(struct store *st, store_fn fn, void *arg);
/* Same, for a transaction that only reads (SQLite takes no write lock). */
enum herald_err store_run_read(struct store *st, store_fn fn, void *arg);
/* Runs fn on a pooled connection outside any transaction (VACUUM needs this). No retry. */
enum herald_err store_run_plain(struct store *st, store_fn fn, void *arg);

/* ---- pool and timing statistics ---- */
struct store_stats {
    int pool_active, pool_idle, pool_max, pool_waiting;
    uint64_t select_count, select_ns;
    uint64_t write_count, write_ns;
    uint64_t slow_queries; /* took over 100 ms */
    uint64_t soft_retries;
};
void store_get_stats(struct store *st, struct store_stats *out);
struct store_stmt_timing {
    int id;          /* the statement's id in the registry */
    const char *sql; /* its text for this backend (static) */
    uint64_t count, avg_ns, max_ns;
};
/* The statements run so far, longest single run first, at most `max` of them in out. */
size_t store_slowest_statements(struct store *st, struct store_stmt_timing *out, size_t max);

/* ---- API keys ---- */
struct store_key {
    char id[40];
    char name[129];
    char prefix[24];
    char secret_hash[65];
    char scopes[256];
    char rate_limit[32]; /* "" for the server default */
    int64_t created_at_ms;
    int64_t revoked_at_ms; /* 0 while active */
    int64_t rotated_at_ms; /* 0 when never rotated */
};
enum herald_err store_key_insert(struct store_conn *c, const struct store_key *key);
enum herald_err store_key_find_by_hash(struct store_conn *c, const char *secret_hash,
                                       struct store_key *out);
enum herald_err store_key_find_by_id(struct store_conn *c, const char *id, struct store_key *out);
/* Allocates *out (free() it). */
enum herald_err store_key_list(struct store_conn *c, struct store_key **out, size_t *count);
/* Up to `limit` keys after (after_ms, after_id) in (created_at_ms, id) order; after_ms -1 (and
 * after_id "") from the first. Allocates *out (free() it). */
enum herald_err store_key_page(struct store_conn *c, int64_t after_ms, const char *after_id,
                               int limit, struct store_key **out, size_t *count);
enum herald_err store_key_revoke(struct store_conn *c, const char *id, int64_t now_ms);
enum herald_err store_key_rotate(struct store_conn *c, const char *id, const char *secret_hash,
                                 const char *prefix, int64_t now_ms);
enum herald_err store_key_count_active(struct store_conn *c, int64_t *count);

/* ---- events ---- */
struct store_event {
    int64_t id;
    char *event_key;
    char *platform;
    char *campaign_id;
    char *event_type;
    char *email;
    char *source_id;  /* may be NULL */
    char *namespace_; /* may be NULL */
    char *payload;    /* JSON text, may be NULL */
    bool has_occurred_at;
    int64_t occurred_at_ms;
    int64_t created_at_ms;
};
/* Inserts unless the event key exists; *created tells which. */
enum herald_err store_event_insert(struct store_conn *c, const struct store_event *ev,
                                   bool *created);

/* Inserts n events in one statement where the backend allows, skipping keys that exist;
 * created[i] tells which were new (of repeats within the batch, only the first). Events whose
 * address is on the suppression list (erased: store/privacy.h, checked against this process's
 * copy, refreshed at the start of each call) are dropped: created[i] false and, when
 * `suppressed` is not NULL, suppressed[i] true. */
enum herald_err store_event_insert_many(struct store_conn *c, const struct store_event *const *evs,
                                        size_t n, bool *created, bool *suppressed);

struct store_event_filter {
    const char *platform, *campaign_id, *event_type, *email, *namespace_; /* NULL = any */
    bool has_from, has_to, has_before_id;
    int64_t from_ms, to_ms; /* event time (occurred, else stored): from inclusive, to exclusive */
    int64_t before_id;      /* paging cursor: only ids below it */
    int limit;
};
/* Newest first. Allocates *out, the rows and their strings in one block: release it with
 * store_events_free(), never a field on its own. */
enum herald_err store_event_list(struct store_conn *c, const struct store_event_filter *f,
                                 struct store_event **out, size_t *count);
void store_events_free(struct store_event *rows, size_t count);
/* Oldest first: events with id > after_id stored at or before created_before_ms. */
enum herald_err store_events_after(struct store_conn *c, int64_t after_id,
                                   int64_t created_before_ms, int limit, struct store_event **out,
                                   size_t *count);
/* How many events lie beyond after_id, and when the oldest of them was stored (0: none). */
enum herald_err store_events_lag(struct store_conn *c, int64_t after_id, int64_t *events,
                                 int64_t *oldest_created_ms);

/* ---- forwarding cursors: one row per forwarder holds its position and its leader ---- */
/* Becomes (or stays) the holder until lease_until_ms and reads the position;
 * HERALD_ERR_CONFLICT while another holder's lease runs. */
enum herald_err store_forward_acquire(struct store_conn *c, const char *name, const char *holder,
                                      int64_t now_ms, int64_t lease_until_ms, int64_t *last_id);
/* Moves the position from from_id to to_id; HERALD_ERR_CONFLICT when no longer the holder or
 * the position moved meanwhile. */
enum herald_err store_forward_advance(struct store_conn *c, const char *name, const char *holder,
                                      int64_t from_id, int64_t to_id, int64_t now_ms);
enum herald_err store_forward_state(struct store_conn *c, const char *name, int64_t *last_id,
                                    int64_t *last_forwarded_ms);

/* ---- jobs (jobs.c): the durable queue every kind of background work goes through ---- */
struct store_job {
    char id[40];
    char kind[16];
    char status[16]; /* pending, running, completed, failed, cancelled */
    char *params;    /* JSON */
    char *progress;  /* JSON */
    char *error;     /* NULL when none */
    int attempts;
    char locked_by[40];
    bool cancel_requested;
    int64_t run_after_ms, lease_until_ms, created_at_ms, started_at_ms,
        finished_at_ms; /* 0: none */
};
void store_job_clear(struct store_job *job);
void store_jobs_free(struct store_job *jobs, size_t count);
enum herald_err store_job_insert(struct store_conn *c, const char *id, const char *kind,
                                 const char *params, const char *progress, int64_t now_ms);
/* The same, due at run_after_ms instead of at once (a scheduled campaign's start). */
enum herald_err store_job_insert_at(struct store_conn *c, const char *id, const char *kind,
                                    const char *params, const char *progress, int64_t now_ms,
                                    int64_t run_after_ms);
enum herald_err store_job_get(struct store_conn *c, const char *id, struct store_job *out);
/* Newest first; status NULL for all; paging after (created_at_ms, id) when after_id is set. */
enum herald_err store_job_list(struct store_conn *c, const char *status, int64_t after_created_ms,
                               const char *after_id, int limit, struct store_job **out,
                               size_t *count);
/* Takes the oldest runnable job (pending and due, or running with an expired lease) of one of
 * `kinds` (comma-separated names) for `node` until `lease_until_ms`. HERALD_ERR_NOT_FOUND when
 * there is none. */
enum herald_err store_job_claim(struct store_conn *c, const char *node, const char *kinds,
                                int64_t now_ms, int64_t lease_until_ms, struct store_job *out);
/* Saves progress and renews the lease; *cancel tells whether a cancel was requested.
 * HERALD_ERR_NOT_FOUND when the job is no longer this node's. */
enum herald_err store_job_progress(struct store_conn *c, const char *id, const char *node,
                                   const char *progress, int64_t lease_until_ms, bool *cancel);
/* Renews the lease inside the caller's transaction, so work written in it commits only while
 * the claim is still the caller's. HERALD_ERR_NOT_FOUND when it is not. */
enum herald_err store_job_fence(struct store_conn *c, const char *id, const char *owner,
                                int64_t lease_until_ms);
/* Final status; progress NULL keeps the saved one. */
enum herald_err store_job_finish(struct store_conn *c, const char *id, const char *node,
                                 const char *status, const char *error, const char *progress,
                                 int64_t now_ms);
enum herald_err store_job_retry_later(struct store_conn *c, const char *id, const char *node,
                                      const char *error, const char *progress,
                                      int64_t run_after_ms);
/* Pending jobs are cancelled at once (*now_cancelled); running ones are flagged for their
 * worker. HERALD_ERR_CONFLICT when the job has already finished. */
enum herald_err store_job_cancel(struct store_conn *c, const char *id, int64_t now_ms,
                                 bool *now_cancelled);
/* Puts a failed job back to pending with its attempts reset and its progress kept.
 * HERALD_ERR_CONFLICT when the job has not failed. */
enum herald_err store_job_requeue(struct store_conn *c, const char *id, int64_t now_ms);
struct store_queue_stats {
    int64_t pending, running;
    int64_t oldest_pending_ms; /* created_at of the oldest pending job, 0 when none */
};
enum herald_err store_job_queue_stats(struct store_conn *c, struct store_queue_stats *out);

struct store_dead_letter {
    int64_t id;
    char *job_id, *kind, *reason, *request, *payload; /* request/payload/job_id may be NULL */
    int64_t created_at_ms, retried_at_ms;
};
enum herald_err store_dead_letter_insert(struct store_conn *c, const char *job_id, const char *kind,
                                         const char *reason, const char *request,
                                         const char *payload, int64_t now_ms);
enum herald_err store_dead_letter_list(struct store_conn *c, int64_t before_id, int limit,
                                       struct store_dead_letter **out, size_t *count);
enum herald_err store_dead_letter_get(struct store_conn *c, int64_t id,
                                      struct store_dead_letter *out);
enum herald_err store_dead_letter_mark_retried(struct store_conn *c, int64_t id, int64_t now_ms);
/* Frees one row's strings (a row filled by store_dead_letter_get()). */
void store_dead_letter_clear(struct store_dead_letter *d);
void store_dead_letters_free(struct store_dead_letter *rows, size_t count);

/* Schedules: one row per periodic task, its next due time the compare-and-set token. */
struct store_schedule {
    int64_t next_run_ms, last_run_ms; /* 0: never */
    char last_job_id[40];
};
/* Creates the row, or changes its expression (then next_run_ms is reset). */
enum herald_err store_schedule_upsert(struct store_conn *c, const char *name, const char *expr,
                                      int64_t next_run_ms, int64_t now_ms);
enum herald_err store_schedule_get(struct store_conn *c, const char *name,
                                   struct store_schedule *out);
/* Moves a due schedule (next_run_ms == due_ms) on; HERALD_ERR_CONFLICT when another node
 * already did. */
enum herald_err store_schedule_claim(struct store_conn *c, const char *name, int64_t due_ms,
                                     int64_t next_run_ms, int64_t now_ms, const char *job_id);

/* Incremental-sync watermarks. *out is allocated (free() it); NOT_FOUND when none. */
enum herald_err store_cursor_get(struct store_conn *c, const char *platform, const char *scope,
                                 char **out);
enum herald_err store_cursor_set(struct store_conn *c, const char *platform, const char *scope,
                                 const char *cursor, int64_t now_ms);

/* ---- operations surface ---- */
enum herald_err store_ping(struct store_conn *c);
/* Row count of one of Herald's tables ("event_source", "api_keys", "schema_migrations"). */
/* Runs one named maintenance task: "sync_indexes", "analyze" or "vacuum" (the last needs
 * store_run_plain). HERALD_ERR_INVALID for an unknown name. */
enum herald_err store_optimize(struct store_conn *c, const char *task);

/* Whole-store operations (ops.c), each in its own transaction(s). */
/* The database answers; *pending_migrations says how many migrations are not applied. */
enum herald_err store_check(struct store *st, int *pending_migrations);
/* Every table and index the database holds (from its catalogue, not a list in the code):
 * rows and bytes. Fill with store_catalogue_report(), free with store_catalogue_free(). */
struct store_table_info {
    char name[64];
    int64_t rows, table_bytes, index_bytes; /* table_bytes includes TOAST on PostgreSQL */
};
struct store_index_info {
    char name[64], table[64];
    int64_t bytes;
};
struct store_catalogue {
    struct store_table_info *tables;
    size_t ntables;
    struct store_index_info *indexes;
    size_t nindexes;
};
/* One read transaction. HERALD_ERR_DB when the catalogue cannot be read (SQLite built
 * without the dbstat virtual table). */
enum herald_err store_catalogue_report(struct store *st, struct store_catalogue *out);
void store_catalogue_free(struct store_catalogue *cat);
/* Runs one store_optimize() task outside a transaction. */
enum herald_err store_run_optimize(struct store *st, const char *task);

/* ---- backup and exclusive use ---- */
/* Writes a consistent copy of the live database to `path` (SQLite backup API, pg_dump). */
enum herald_err store_backup(struct store *st, const char *path);
/* Checks that `path` holds a readable backup of this backend. */
enum herald_err store_verify_backup(struct store *st, const char *path);
/* Replaces the database contents with the backup at `path`. Call only while holding the
 * exclusive lock (store_lock_instance(st, true)). */
enum herald_err store_restore(struct store *st, const char *path);
/* Servers hold the shared lock for their lifetime; restore takes the exclusive one.
 * HERALD_ERR_CONFLICT when the other kind is held. Released by store_close(). */
enum herald_err store_lock_instance(struct store *st, bool exclusive);

/* ---- migrations (migrate.c) ---- */
struct store_migration_state {
    int version;
    const char *name;
    bool applied;
    int64_t applied_at_ms;
};
/* Fills up to `max` rows, one per known migration; *count = how many. */
enum herald_err store_migrations(struct store *st, struct store_migration_state *rows, size_t max,
                                 size_t *count);
enum herald_err store_migrations_pending(struct store *st, int *pending);
/* Applies every pending migration, each in its own transaction. */
enum herald_err store_migrate_up(struct store *st, int *applied);
/* Reverts the newest `steps` applied migrations. HERALD_ERR_INVALID if fewer are applied. */
enum herald_err store_migrate_down(struct store *st, int steps, int *reverted);

#endif
