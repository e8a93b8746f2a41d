/* Owns migrations: numbered per dialect, each applied or reverted in its own transaction and
 * recorded in schema_migrations; a lock (advisory on PostgreSQL) keeps nodes from racing. */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/internal.h"
#include "store/migrations.h"

#define MAX_APPLIED 1024

static const char create_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
    "name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)";

static void known_migrations(const struct store *st, const struct store_migration_src **list,
                             size_t *count)
{
    if (st->be->dialect == DIALECT_POSTGRES) {
        *list = store_migrations_postgres;
        *count = store_migrations_postgres_count;
    } else {
        *list = store_migrations_sqlite;
        *count = store_migrations_sqlite_count;
    }
}

struct applied_set {
    int versions[MAX_APPLIED];
    int64_t at_ms[MAX_APPLIED];
    size_t n;
};

static enum herald_err lock_and_bootstrap(struct store_conn *c)
{
    if (c->st->be->migrate_lock_sql) {
        enum herald_err rc = store_exec(c, c->st->be->migrate_lock_sql);
        if (rc)
            return rc;
    }
    return store_exec(c, create_table_sql);
}

static enum herald_err read_applied(struct store_conn *c, struct applied_set *set)
{
    struct store_res r = {0};
    enum herald_err rc = store_query(c, STMT_MIGRATIONS_LIST, NULL, 0, &r);
    set->n = 0;
    for (int i = 0; !rc && i < r.nrows && set->n < MAX_APPLIED; i++) {
        set->versions[set->n] = (int)store_res_i64(&r, i, 0);
        set->at_ms[set->n] = store_res_i64(&r, i, 2);
        set->n++;
    }
    store_res_free(&r);
    return rc;
}

static int find_applied(const struct applied_set *set, int version)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->versions[i] == version)
            return (int)i;
    return -1;
}

/* Reading the state takes no lock and creates nothing: /health calls this on every probe. */
static int load_applied_tx(struct store_conn *c, void *arg)
{
    struct applied_set *set = arg;
    struct store_res r = {0};
    enum herald_err rc = store_query(c, STMT_MIGRATIONS_TABLE, NULL, 0, &r);
    bool exists = !rc && r.nrows > 0;
    store_res_free(&r);
    set->n = 0;
    if (rc || !exists)
        return rc;
    return read_applied(c, set);
}

static enum herald_err load_applied(struct store *st, struct applied_set *set)
{
    return store_run_read(st, load_applied_tx, set);
}

enum herald_err store_migrations(struct store *st, struct store_migration_state *rows, size_t max,
                                 size_t *count)
{
    struct applied_set *set = malloc(sizeof(*set));
    if (!set)
        return HERALD_ERR_NOMEM;
    enum herald_err rc = load_applied(st, set);
    if (rc)
        goto done;
    const struct store_migration_src *list;
    size_t n;
    known_migrations(st, &list, &n);
    *count = 0;
    for (size_t i = 0; i < n && i < max; i++) {
        int at = find_applied(set, list[i].version);
        rows[i] = (struct store_migration_state){list[i].version, list[i].name, at >= 0,
                                                 at >= 0 ? set->at_ms[at] : 0};
        (*count)++;
    }
done:
    free(set);
    return rc;
}

enum herald_err store_migrations_pending(struct store *st, int *pending)
{
    struct applied_set *set = malloc(sizeof(*set));
    if (!set)
        return HERALD_ERR_NOMEM;
    enum herald_err rc = load_applied(st, set);
    if (rc)
        goto done;
    const struct store_migration_src *list;
    size_t n;
    known_migrations(st, &list, &n);
    *pending = 0;
    for (size_t i = 0; i < n; i++)
        if (find_applied(set, list[i].version) < 0)
            (*pending)++;
done:
    free(set);
    return rc;
}

struct step_ctx {
    const struct store_migration_src *m;
    bool up;
    bool done; /* false when another node got there first */
};

/* Records an applied step in schema_migrations, or forgets a reverted one. */
static enum herald_err record_step(struct store_conn *c, const struct step_ctx *ctx)
{
    struct store_res r = {0};
    enum herald_err rc;
    if (ctx->up) {
        struct store_val p[] = {SV_I64(ctx->m->version), SV_STR(ctx->m->name),
                                SV_I64(clock_now_ms())};
        rc = store_query(c, STMT_MIGRATION_RECORD, p, 3, &r);
    } else {
        struct store_val p[] = {SV_I64(ctx->m->version)};
        rc = store_query(c, STMT_MIGRATION_DELETE, p, 1, &r);
    }
    store_res_free(&r);
    return rc;
}

static int step_tx(struct store_conn *c, void *arg)
{
    struct step_ctx *ctx = arg;
    struct applied_set *set = malloc(sizeof(*set));
    if (!set)
        return HERALD_ERR_NOMEM;
    enum herald_err rc = lock_and_bootstrap(c);
    if (rc)
        goto done;
    rc = read_applied(c, set);
    if (rc)
        goto done;
    bool applied = find_applied(set, ctx->m->version) >= 0;
    ctx->done = false;
    if (applied == ctx->up)
        goto done;
    rc = store_exec(c, ctx->up ? ctx->m->up : ctx->m->down);
    if (rc)
        goto done;
    rc = record_step(c, ctx);
    ctx->done = rc == HERALD_OK;
done:
    free(set);
    return rc;
}

enum herald_err store_migrate_up(struct store *st, int *applied)
{
    const struct store_migration_src *list;
    size_t n;
    known_migrations(st, &list, &n);
    *applied = 0;
    for (size_t i = 0; i < n; i++) {
        struct step_ctx ctx = {&list[i], true, false};
        enum herald_err rc = store_run_tx(st, step_tx, &ctx);
        if (rc) {
            log_error("migration failed",
                      json_pack("{s:i, s:s}", "version", list[i].version, "name", list[i].name));
            return rc;
        }
        if (ctx.done) {
            (*applied)++;
            log_info("migration applied",
                     json_pack("{s:i, s:s}", "version", list[i].version, "name", list[i].name));
        }
    }
    return HERALD_OK;
}

enum herald_err store_migrate_down(struct store *st, int steps, int *reverted)
{
    const struct store_migration_src *list;
    size_t n;
    known_migrations(st, &list, &n);
    *reverted = 0;
    struct applied_set *set = malloc(sizeof(*set));
    if (!set)
        return HERALD_ERR_NOMEM;
    enum herald_err rc = load_applied(st, set);
    if (rc)
        goto done;
    if (steps < 1 || (size_t)steps > set->n) {
        rc = HERALD_ERR_INVALID;
        goto done;
    }
    for (size_t i = n; i-- > 0 && *reverted < steps;) {
        if (find_applied(set, list[i].version) < 0)
            continue;
        struct step_ctx ctx = {&list[i], false, false};
        rc = store_run_tx(st, step_tx, &ctx);
        if (rc)
            goto done;
        if (ctx.done) {
            (*reverted)++;
            log_info("migration reverted",
                     json_pack("{s:i, s:s}", "version", list[i].version, "name", list[i].name));
        }
    }
done:
    free(set);
    return rc;
}
