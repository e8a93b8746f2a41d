/* Owns the store's front: choosing the backend, the connection pool (generations drop suspect
 * connections), timed statements, and the transaction runner that retries soft failures. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/log.h"
#include "store/internal.h"

#define SLOW_QUERY_NS (100LL * 1000 * 1000)
#define TX_MAX_ATTEMPTS 8
#define WRITE_TURN_WAIT_SEC 5 /* = the SQLite busy timeout (store/sqlite/sqlite.c) */

static const struct store_backend *backend_for(const char *url)
{
    if (strncmp(url, "sqlite:", 7) == 0)
        return &store_sqlite_backend;
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return &store_postgres_backend;
    return NULL;
}

static void pool_conn_destroy(struct store *st, struct pool_conn *pc)
{
    if (!pc)
        return;
    st->be->disconnect(pc->impl);
    free(pc);
}

static enum herald_err pool_conn_new(struct store *st, unsigned generation, struct pool_conn **out)
{
    struct pool_conn *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return HERALD_ERR_NOMEM;
    enum herald_err rc = st->be->connect(st, &pc->impl);
    if (rc) {
        free(pc);
        return rc;
    }
    pc->generation = generation;
    *out = pc;
    return HERALD_OK;
}

enum herald_err store_open(const struct store_opts *opts, struct store **out)
{
    const struct store_backend *be = backend_for(opts->url);
    if (!be)
        return HERALD_ERR_CONFIG;
    struct store *st = calloc(1, sizeof(*st));
    if (!st)
        return HERALD_ERR_NOMEM;
    st->be = be;
    st->url = strdup(opts->url);
    st->pool_min = opts->pool_min;
    st->pool_max = opts->pool_max > 0 ? opts->pool_max : 1;
    st->sqlite_sync_full = opts->sqlite_sync_full;
    st->serialize_writes = be->dialect != DIALECT_POSTGRES;
    pthread_mutexattr_t recursive;
    pthread_mutexattr_init(&recursive);
    pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&st->write_mu, &recursive);
    pthread_mutexattr_destroy(&recursive);
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->supp.mu, NULL);
    clock_cond_init(&st->cv);
    enum herald_err rc = st->url ? be->open(st, opts) : HERALD_ERR_NOMEM;
    if (rc) {
        free(st->url);
        pthread_mutex_destroy(&st->write_mu);
        pthread_mutex_destroy(&st->mu);
        pthread_mutex_destroy(&st->supp.mu);
        pthread_cond_destroy(&st->cv);
        free(st);
        return rc;
    }
    for (int i = 0; i < st->pool_min; i++) {
        struct pool_conn *pc;
        rc = pool_conn_new(st, 0, &pc);
        if (rc) {
            store_close(st);
            return rc;
        }
        pc->next = st->idle;
        st->idle = pc;
        st->n_idle++;
    }
    *out = st;
    return HERALD_OK;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    while (st->idle) {
        struct pool_conn *pc = st->idle;
        st->idle = pc->next;
        pool_conn_destroy(st, pc);
    }
    if (st->be->unlock_instance)
        st->be->unlock_instance(st);
    st->be->close(st);
    pthread_mutex_destroy(&st->write_mu);
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->supp.mu);
    free(st->supp.hashes);
    pthread_cond_destroy(&st->cv);
    free(st->url);
    free(st);
}

const char *store_backend_name(const struct store *st)
{
    return st->be->name;
}

static enum herald_err pool_acquire(struct store *st, struct store_conn *c)
{
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (st->idle) {
            struct pool_conn *pc = st->idle;
            st->idle = pc->next;
            st->n_idle--;
            if (pc->generation == st->generation && st->be->usable(pc->impl)) {
                st->n_active++;
                pthread_mutex_unlock(&st->mu);
                c->st = st;
                c->pc = pc;
                c->broken = false;
                return HERALD_OK;
            }
            pthread_mutex_unlock(&st->mu);
            pool_conn_destroy(st, pc);
            pthread_mutex_lock(&st->mu);
        }
        if (st->n_active + st->n_idle < st->pool_max) {
            st->n_active++;
            unsigned gen = st->generation;
            pthread_mutex_unlock(&st->mu);
            struct pool_conn *pc;
            enum herald_err rc = pool_conn_new(st, gen, &pc);
            if (rc) {
                pthread_mutex_lock(&st->mu);
                st->n_active--;
                pthread_cond_signal(&st->cv);
                pthread_mutex_unlock(&st->mu);
                return rc;
            }
            c->st = st;
            c->pc = pc;
            c->broken = false;
            return HERALD_OK;
        }
        struct timespec deadline = clock_deadline_in(10000);
        st->n_waiting++;
        int w = pthread_cond_timedwait(&st->cv, &st->mu, &deadline);
        st->n_waiting--;
        if (w == ETIMEDOUT) {
            pthread_mutex_unlock(&st->mu);
            return HERALD_ERR_DB_SOFT;
        }
    }
}

static void pool_release(struct store_conn *c)
{
    struct store *st = c->st;
    struct pool_conn *pc = c->pc;
    bool keep = !c->broken && st->be->usable(pc->impl);
    pthread_mutex_lock(&st->mu);
    st->n_active--;
    if (!keep)
        st->generation++; /* one dead connection means the others are suspect too */
    if (keep && pc->generation == st->generation) {
        pc->next = st->idle;
        st->idle = pc;
        st->n_idle++;
        pc = NULL;
    }
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pool_conn_destroy(st, pc);
    c->pc = NULL;
}

/* Per statement id: one more run, its time, and the longest so far. */
static void time_statement(struct store *st, enum store_stmt id, uint64_t dt)
{
    atomic_fetch_add_explicit(&st->stmt_count[id], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->stmt_ns[id], dt, memory_order_relaxed);
    uint_fast64_t max = atomic_load_explicit(&st->stmt_max_ns[id], memory_order_relaxed);
    while (dt > max &&
           !atomic_compare_exchange_weak_explicit(&st->stmt_max_ns[id], &max, dt,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

size_t store_slowest_statements(struct store *st, struct store_stmt_timing *out, size_t max)
{
    size_t n = 0;
    for (int id = 0; id < STMT__COUNT; id++) {
        uint64_t count = atomic_load(&st->stmt_count[id]);
        if (!count)
            continue;
        struct store_stmt_timing t = {id, store_stmt_sql(id, st->be->dialect), count,
                                      atomic_load(&st->stmt_ns[id]) / count,
                                      atomic_load(&st->stmt_max_ns[id])};
        size_t i = n < max ? n++ : max; /* insertion by max time, longest first */
        while (i > 0 && out[i - 1].max_ns < t.max_ns) {
            if (i < max)
                out[i] = out[i - 1];
            i--;
        }
        if (i < max)
            out[i] = t;
    }
    return n;
}

int store_query(struct store_conn *c, enum store_stmt id, const struct store_val *params,
                int nparams, struct store_res *out)
{
    struct store *st = c->st;
    int64_t t0 = clock_mono_ns();
    enum herald_err rc = st->be->query(c->pc->impl, id, params, nparams, out);
    uint64_t dt = (uint64_t)(clock_mono_ns() - t0);
    if (store_stmt_def(id)->is_write) {
        atomic_fetch_add_explicit(&st->write_count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&st->write_ns, dt, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&st->select_count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&st->select_ns, dt, memory_order_relaxed);
    }
    if (dt > SLOW_QUERY_NS)
        atomic_fetch_add_explicit(&st->slow_queries, 1, memory_order_relaxed);
    time_statement(st, id, dt);
    if (rc == HERALD_ERR_DB_SOFT && !st->be->usable(c->pc->impl))
        c->broken = true;
    return rc;
}

int store_query_changes(struct store_conn *c, enum store_stmt id, const struct store_val *params,
                        int nparams, int64_t *changes)
{
    struct store_res r = {0};
    int rc = store_query(c, id, params, nparams, &r);
    if (!rc && changes)
        *changes = r.changes;
    store_res_free(&r);
    return rc;
}

int store_query_id(struct store_conn *c, enum store_stmt id, const struct store_val *params,
                   int nparams, int64_t *out)
{
    struct store_res r = {0};
    int rc = store_query(c, id, params, nparams, &r);
    if (!rc && r.nrows != 1)
        rc = HERALD_ERR_DB;
    if (!rc)
        *out = store_res_i64(&r, 0, 0);
    store_res_free(&r);
    return rc;
}

int store_exec(struct store_conn *c, const char *sql)
{
    enum herald_err rc = c->st->be->exec(c->pc->impl, sql);
    if (rc == HERALD_ERR_DB_SOFT && !c->st->be->usable(c->pc->impl))
        c->broken = true;
    return rc;
}

static void backoff_sleep(int attempt)
{
    /* 5 ms doubling to 640 ms, with up to 50% jitter so retrying writers spread out. */
    static const struct backoff tx_backoff = {.first_ms = 5, .max_ms = 640, .jitter_percent = 50};
    unsigned seed = (unsigned)clock_mono_ns();
    int64_t ms = backoff_delay_ms(&tx_backoff, attempt, &seed);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Waits for this process's write turn as long as SQLite's busy timeout would have: a writer
 * that holds the turn while it waits for something the waiter holds (a pooled connection)
 * must not hang both for good. */
static bool write_turn(struct store *st)
{
    struct timespec until = clock_deadline_in(WRITE_TURN_WAIT_SEC * 1000);
    return pthread_mutex_clocklock(&st->write_mu, CLOCK_MONOTONIC, &until) == 0;
}

/* One attempt: a pooled connection, BEGIN, the callback, COMMIT (ROLLBACK when it failed). */
static enum herald_err tx_attempt(struct store *st, const char *begin_sql, store_fn fn, void *arg)
{
    bool serial = st->serialize_writes && begin_sql == st->be->begin_write_sql;
    if (serial && !write_turn(st))
        return HERALD_ERR_DB_SOFT; /* as SQLite's busy timeout would answer: retried */
    struct store_conn c;
    enum herald_err rc = pool_acquire(st, &c);
    if (rc)
        goto unlock;
    rc = store_exec(&c, begin_sql);
    if (rc)
        goto done;
    rc = fn(&c, arg);
    if (rc) {
        if (!c.broken)
            store_exec(&c, "ROLLBACK");
        goto done;
    }
    rc = store_exec(&c, "COMMIT");
done:
    pool_release(&c);
unlock:
    if (serial)
        pthread_mutex_unlock(&st->write_mu);
    return rc;
}

static enum herald_err run_in_tx(struct store *st, const char *begin_sql, store_fn fn, void *arg)
{
    enum herald_err rc = HERALD_ERR_DB_SOFT;
    for (int attempt = 0; attempt < TX_MAX_ATTEMPTS; attempt++) {
        if (attempt > 0) {
            atomic_fetch_add_explicit(&st->soft_retries, 1, memory_order_relaxed);
            backoff_sleep(attempt);
        }
        rc = tx_attempt(st, begin_sql, fn, arg);
        if (rc != HERALD_ERR_DB_SOFT)
            return rc;
    }
    log_warn("transaction gave up after retries", json_pack("{s:i}", "attempts", TX_MAX_ATTEMPTS));
    return rc;
}

enum herald_err store_run_tx(struct store *st, store_fn fn, void *arg)
{
    return run_in_tx(st, st->be->begin_write_sql, fn, arg);
}

enum herald_err store_run_read(struct store *st, store_fn fn, void *arg)
{
    return run_in_tx(st, st->be->begin_read_sql, fn, arg);
}

enum herald_err store_run_plain(struct store *st, store_fn fn, void *arg)
{
    /* Its statements write (VACUUM, ANALYZE): they wait for the write turn like any other
     * write, not in the busy handler's sleeps behind the turn's writers. */
    if (st->serialize_writes && !write_turn(st))
        return HERALD_ERR_DB_SOFT;
    struct store_conn c;
    enum herald_err rc = pool_acquire(st, &c);
    if (!rc) {
        rc = fn(&c, arg);
        pool_release(&c);
    }
    if (st->serialize_writes)
        pthread_mutex_unlock(&st->write_mu);
    return rc;
}

void store_get_stats(struct store *st, struct store_stats *out)
{
    pthread_mutex_lock(&st->mu);
    out->pool_active = st->n_active;
    out->pool_idle = st->n_idle;
    out->pool_max = st->pool_max;
    out->pool_waiting = st->n_waiting;
    pthread_mutex_unlock(&st->mu);
    out->select_count = atomic_load(&st->select_count);
    out->select_ns = atomic_load(&st->select_ns);
    out->write_count = atomic_load(&st->write_count);
    out->write_ns = atomic_load(&st->write_ns);
    out->slow_queries = atomic_load(&st->slow_queries);
    out->soft_retries = atomic_load(&st->soft_retries);
}

enum herald_err store_backup(struct store *st, const char *path)
{
    return st->be->backup(st, path);
}

enum herald_err store_verify_backup(struct store *st, const char *path)
{
    return st->be->verify_backup(st, path);
}

enum herald_err store_restore(struct store *st, const char *path)
{
    enum herald_err rc = st->be->restore(st, path);
    /* Pooled connections may hold handles to the replaced database. */
    pthread_mutex_lock(&st->mu);
    st->generation++;
    pthread_mutex_unlock(&st->mu);
    return rc;
}

enum herald_err store_lock_instance(struct store *st, bool exclusive)
{
    return st->be->lock_instance(st, exclusive);
}

/* A few blocks of cell text instead of one malloc per cell: a Mixpanel batch is 2,000 rows of
   11 cells, and allocating and freeing them one by one cost a fifth of the forwarder. Blocks
   start at 1 KiB (most results are a row or two) and double up to 64 KiB. */
struct store_res_block {
    struct store_res_block *next;
    size_t used, size;
    char text[];
};
#define RES_BLOCK_FIRST ((size_t)1024)
#define RES_BLOCK_MAX ((size_t)64 * 1024)

char *store_res_copy(struct store_res *r, const char *s, size_t len)
{
    struct store_res_block *b = r->blocks;
    if (!b || b->size - b->used < len + 1) {
        size_t size = !b ? RES_BLOCK_FIRST : b->size < RES_BLOCK_MAX ? b->size * 2 : RES_BLOCK_MAX;
        if (size < len + 1)
            size = len + 1;
        if (!(b = malloc(sizeof(*b) + size)))
            return NULL;
        *b = (struct store_res_block){.next = r->blocks, .size = size};
        r->blocks = b;
    }
    char *out = b->text + b->used;
    memcpy(out, s, len);
    out[len] = '\0';
    b->used += len + 1;
    return out;
}

void store_res_free(struct store_res *r)
{
    free(r->cells);
    for (struct store_res_block *b = r->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    if (r->owner && r->release)
        r->release(r->owner);
    r->cells = NULL;
    r->blocks = NULL;
    r->owner = NULL;
    r->nrows = r->ncols = 0;
}

const char *store_res_text(const struct store_res *r, int row, int col)
{
    return r->cells[row * r->ncols + col];
}

int64_t store_res_i64(const struct store_res *r, int row, int col)
{
    const char *s = store_res_text(r, row, col);
    return s ? strtoll(s, NULL, 10) : 0;
}
