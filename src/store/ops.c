/* Whole-store operations for the operations endpoints: health, rows per table, maintenance.
 * Each runs its own transaction, so api/ never holds a connection or a transaction itself. */
#include "store/store.h"

static int ping_tx(struct store_conn *c, void *arg)
{
    (void)arg;
    return store_ping(c);
}

int store_check(struct store *st, int *pending_migrations)
{
    int rc = store_run_read(st, ping_tx, NULL);
    if (rc)
        return rc;
    return store_migrations_pending(st, pending_migrations);
}

struct rows_tx {
    const char *table;
    int64_t rows;
};

static int rows_tx(struct store_conn *c, void *arg)
{
    struct rows_tx *tx = arg;
    return store_table_rows(c, tx->table, &tx->rows);
}

int store_table_report(struct store *st, struct store_table_row *out)
{
    /* One transaction per table: a table a rolled-back migration removed reads as unknown
       instead of failing the whole report. Only a busy database fails it. */
    for (size_t i = 0; i < store_table_count && i < STORE_TABLES_MAX; i++) {
        struct rows_tx tx = {store_table_names[i], 0};
        int rc = store_run_read(st, rows_tx, &tx);
        if (rc == HERALD_ERR_DB_SOFT)
            return rc;
        out[i] = (struct store_table_row){tx.table, rc == HERALD_OK, tx.rows};
    }
    return HERALD_OK;
}

static int optimize_plain(struct store_conn *c, void *arg)
{
    return store_optimize(c, arg);
}

int store_run_optimize(struct store *st, const char *task)
{
    /* VACUUM cannot run inside a transaction; the others need none. */
    return store_run_plain(st, optimize_plain, (void *)task);
}
