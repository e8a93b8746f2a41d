/* Whole-store operations for the operations endpoints: health, rows and sizes per table and
 * index (from the catalogue), maintenance. Each runs its own transaction; api/ holds none. */
#include <stdio.h>
#include <stdlib.h>

#include "store/internal.h"

static int ping_tx(struct store_conn *c, void *arg)
{
    (void)arg;
    return store_ping(c);
}

enum herald_err store_check(struct store *st, int *pending_migrations)
{
    int rc = store_run_read(st, ping_tx, NULL);
    if (rc)
        return rc;
    return store_migrations_pending(st, pending_migrations);
}

static int optimize_plain(struct store_conn *c, void *arg)
{
    return store_optimize(c, arg);
}

enum herald_err store_run_optimize(struct store *st, const char *task)
{
    /* VACUUM cannot run inside a transaction; the others need none. */
    return store_run_plain(st, optimize_plain, (void *)task);
}

void store_catalogue_free(struct store_catalogue *cat)
{
    free(cat->tables);
    free(cat->indexes);
    *cat = (struct store_catalogue){0};
}

static int catalogue_tables(struct store_conn *c, struct store_catalogue *cat)
{
    struct store_res r = {0};
    int rc = store_query(c, STMT_CATALOGUE_TABLES, NULL, 0, &r);
    if (!rc && !(cat->tables = calloc(r.nrows ? (size_t)r.nrows : 1, sizeof(*cat->tables))))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++) {
        struct store_table_info *t = &cat->tables[cat->ntables++];
        snprintf(t->name, sizeof(t->name), "%s", store_res_text(&r, i, 0));
        t->rows = store_res_i64(&r, i, 1);
        t->table_bytes = store_res_i64(&r, i, 2);
        t->index_bytes = store_res_i64(&r, i, 3);
    }
    store_res_free(&r);
    return rc;
}

static int catalogue_indexes(struct store_conn *c, struct store_catalogue *cat)
{
    struct store_res r = {0};
    int rc = store_query(c, STMT_CATALOGUE_INDEXES, NULL, 0, &r);
    if (!rc && !(cat->indexes = calloc(r.nrows ? (size_t)r.nrows : 1, sizeof(*cat->indexes))))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++) {
        struct store_index_info *x = &cat->indexes[cat->nindexes++];
        snprintf(x->name, sizeof(x->name), "%s", store_res_text(&r, i, 0));
        snprintf(x->table, sizeof(x->table), "%s", store_res_text(&r, i, 1));
        x->bytes = store_res_i64(&r, i, 2);
    }
    store_res_free(&r);
    return rc;
}

static int catalogue_tx(struct store_conn *c, void *arg)
{
    struct store_catalogue *cat = arg;
    store_catalogue_free(cat); /* a retried transaction starts again */
    int rc = catalogue_tables(c, cat);
    if (!rc)
        rc = catalogue_indexes(c, cat);
    return rc;
}

enum herald_err store_catalogue_report(struct store *st, struct store_catalogue *out)
{
    *out = (struct store_catalogue){0};
    int rc = store_run_read(st, catalogue_tx, out);
    if (rc)
        store_catalogue_free(out);
    return rc;
}
