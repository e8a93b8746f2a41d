/* Shared by the unit tests that open a store: where each test binary's database lives. */
#ifndef HERALD_TESTS_UNIT_DB_H
#define HERALD_TESTS_UNIT_DB_H

#include "unit.h"

#include "store/internal.h"
#include "store/store.h"

/* A fresh directory's `sqlite:<dir>/<name>.db`. */
static inline void unit_sqlite_url(const char *name, char *url, size_t size)
{
    char dir[256];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(url, size, "sqlite:%s/%s.db", dir, name);
}

static inline int unit_recreate_db(struct store_conn *c, void *arg)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS herald_unit_%s", (const char *)arg);
    int rc = store_exec(c, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE herald_unit_%s", (const char *)arg);
    return rc ? rc : store_exec(c, sql);
}

/* A new, empty PostgreSQL database herald_unit_<name> beside HERALD_TEST_PG_URL's (one per test
 * binary, so binaries that ctest runs at once do not share tables). */
static inline void unit_pg_url(const char *name, char *url, size_t size)
{
    const char *pg = getenv("HERALD_TEST_PG_URL");
    struct store_opts opts = {pg, 1, 1, false};
    struct store *st;
    assert_int_equal(store_open(&opts, &st), HERALD_OK);
    assert_int_equal(store_run_plain(st, unit_recreate_db, (void *)name), HERALD_OK);
    store_close(st);
    const char *slash = strrchr(pg, '/');
    snprintf(url, size, "%.*s/herald_unit_%s", (int)(slash - pg), pg, name);
}

#endif
