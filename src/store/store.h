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
int store_open(const struct store_opts *opts, struct store **out);
void store_close(struct store *st);
/* "sqlite" or "postgres". */
const char *store_backend_name(const struct store *st);

typedef int (*store_fn)(struct store_conn *conn, void *arg);
/* Runs fn inside a transaction on a pooled connection: commits when it returns 0, rolls back
 * otherwise. Soft failures (HERALD_ERR_DB_SOFT) are retried with backoff, so fn may run more
 * than once and must not have effects outside the transaction. */
int store_run_tx(struct store *st, store_fn fn, void *arg);
/* Same, for a transaction that only reads (SQLite takes no write lock). */
int store_run_read(struct store *st, store_fn fn, void *arg);
/* Runs fn on a pooled connection outside any transaction (VACUUM needs this). No retry. */
int store_run_plain(struct store *st, store_fn fn, void *arg);

/* ---- pool and timing statistics ---- */
struct store_stats {
    int pool_active, pool_idle, pool_max, pool_waiting;
    uint64_t select_count, select_ns;
    uint64_t write_count, write_ns;
    uint64_t slow_queries; /* took over 100 ms */
    uint64_t soft_retries;
};
void store_get_stats(struct store *st, struct store_stats *out);

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
int store_key_insert(struct store_conn *c, const struct store_key *key);
int store_key_find_by_hash(struct store_conn *c, const char *secret_hash, struct store_key *out);
int store_key_find_by_id(struct store_conn *c, const char *id, struct store_key *out);
/* Allocates *out (free() it). */
int store_key_list(struct store_conn *c, struct store_key **out, size_t *count);
int store_key_revoke(struct store_conn *c, const char *id, int64_t now_ms);
int store_key_rotate(struct store_conn *c, const char *id, const char *secret_hash,
                     const char *prefix, int64_t now_ms);
int store_key_count_active(struct store_conn *c, int64_t *count);

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
int store_event_insert(struct store_conn *c, const struct store_event *ev, bool *created);

/* Inserts n events in one statement where the backend allows, skipping keys that exist;
 * created[i] tells which were new (of repeats within the batch, only the first). */
int store_event_insert_many(struct store_conn *c, const struct store_event *const *evs, size_t n,
                            bool *created);

struct store_event_filter {
    const char *platform, *campaign_id, *event_type, *email, *namespace_; /* NULL = any */
    bool has_from, has_to, has_before_id;
    int64_t from_ms, to_ms; /* event time (occurred, else stored): from inclusive, to exclusive */
    int64_t before_id;      /* paging cursor: only ids below it */
    int limit;
};
/* Newest first. Allocates *out; release with store_events_free(). */
int store_event_list(struct store_conn *c, const struct store_event_filter *f,
                     struct store_event **out, size_t *count);
void store_events_free(struct store_event *rows, size_t count);

/* ---- operations surface ---- */
int store_ping(struct store_conn *c);
/* Row count of one of Herald's tables ("event_source", "api_keys", "schema_migrations"). */
int store_table_rows(struct store_conn *c, const char *table, int64_t *rows);
/* Runs one named maintenance task: "sync_indexes", "analyze" or "vacuum" (the last needs
 * store_run_plain). HERALD_ERR_INVALID for an unknown name. */
int store_optimize(struct store_conn *c, const char *task);
extern const char *const store_table_names[];
extern const size_t store_table_count;

/* ---- backup and exclusive use ---- */
/* Writes a consistent copy of the live database to `path` (SQLite backup API, pg_dump). */
int store_backup(struct store *st, const char *path);
/* Checks that `path` holds a readable backup of this backend. */
int store_verify_backup(struct store *st, const char *path);
/* Replaces the database contents with the backup at `path`. Call only while holding the
 * exclusive lock (store_lock_instance(st, true)). */
int store_restore(struct store *st, const char *path);
/* Servers hold the shared lock for their lifetime; restore takes the exclusive one.
 * HERALD_ERR_CONFLICT when the other kind is held. Released by store_close(). */
int store_lock_instance(struct store *st, bool exclusive);

/* ---- migrations (migrate.c) ---- */
struct store_migration_state {
    int version;
    const char *name;
    bool applied;
    int64_t applied_at_ms;
};
/* Fills up to `max` rows, one per known migration; *count = how many. */
int store_migrations(struct store *st, struct store_migration_state *rows, size_t max,
                     size_t *count);
int store_migrations_pending(struct store *st, int *pending);
/* Applies every pending migration, each in its own transaction. */
int store_migrate_up(struct store *st, int *applied);
/* Reverts the newest `steps` applied migrations. HERALD_ERR_INVALID if fewer are applied. */
int store_migrate_down(struct store *st, int steps, int *reverted);

#endif
