/* The store on a real SQLite file: migrations, keys, events, paging, maintenance, backup.
 * Set HERALD_TEST_PG_URL to run the same tests against a PostgreSQL database too. */
#include "unit.h"
#include "unit_db.h"

#include <sqlite3.h>
#include <unistd.h>

#include "store/internal.h"
#include "store/store.h"

static char db_url[512];

static struct store *open_store(void)
{
    struct store_opts opts = {db_url, 1, 4, false};
    struct store *st;
    assert_int_equal(store_open(&opts, &st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    return st;
}

static int ev_insert(struct store_conn *c, void *arg)
{
    struct store_event *ev = arg;
    bool created;
    int rc = store_event_insert(c, ev, &created);
    if (!rc)
        ev->id = created;
    return rc;
}

static void insert_event(struct store *st, const char *key, const char *platform, const char *email,
                         int64_t t, bool expect_created)
{
    struct store_event ev = {.event_key = (char *)key,
                             .platform = (char *)platform,
                             .campaign_id = "c1",
                             .event_type = "opened",
                             .email = (char *)email,
                             .has_occurred_at = true,
                             .occurred_at_ms = t,
                             .created_at_ms = 1};
    assert_int_equal(store_run_tx(st, ev_insert, &ev), HERALD_OK);
    assert_int_equal(ev.id, expect_created);
}

struct list_arg {
    struct store_event_filter f;
    struct store_event *rows;
    size_t n;
};

static int ev_list(struct store_conn *c, void *arg)
{
    struct list_arg *a = arg;
    return store_event_list(c, &a->f, &a->rows, &a->n);
}

static void test_migrations(void **state)
{
    (void)state;
    struct store *st = open_store();
    int pending = -1, n;
    assert_int_equal(store_migrations_pending(st, &pending), 0);
    assert_int_equal(pending, 0);
    assert_int_equal(store_migrate_up(st, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_migrate_down(st, 1, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_migrations_pending(st, &pending), 0);
    assert_int_equal(pending, 1);
    assert_int_equal(store_migrate_down(st, 100, &n), HERALD_ERR_INVALID); /* more than applied */
    struct store_migration_state rows[32];
    size_t count;
    assert_int_equal(store_migrations(st, rows, 32, &count), 0);
    assert_true(count >= 3);
    for (size_t i = 0; i + 1 < count; i++)
        assert_true(rows[i].applied);
    assert_false(rows[count - 1].applied);
    assert_int_equal(store_migrate_up(st, &n), 0);
    assert_int_equal(n, 1);
    store_close(st);
}

static void sample_key(struct store_key *k)
{
    memset(k, 0, sizeof(*k));
    strcpy(k->id, "key_1");
    strcpy(k->name, "one");
    strcpy(k->prefix, "hrld_abc");
    strcpy(k->secret_hash, "aa");
    strcpy(k->scopes, "admin");
    k->created_at_ms = 5;
}

/* Inserts a key twice: the second insert reports the clash. */
static int key_ops(struct store_conn *c, void *arg)
{
    (void)arg;
    struct store_key k;
    sample_key(&k);
    assert_int_equal(store_key_insert(c, &k), 0);
    return store_key_insert(c, &k);
}

static int key_checks(struct store_conn *c, void *arg)
{
    (void)arg;
    struct store_key got;
    assert_int_equal(store_key_find_by_hash(c, "aa", &got), 0);
    assert_string_equal(got.id, "key_1");
    assert_string_equal(got.rate_limit, "");
    assert_int_equal(store_key_find_by_hash(c, "bb", &got), HERALD_ERR_NOT_FOUND);
    assert_int_equal(store_key_rotate(c, "key_1", "bb", "hrld_new", 9), 0);
    assert_int_equal(store_key_find_by_hash(c, "aa", &got), HERALD_ERR_NOT_FOUND);
    assert_int_equal(store_key_find_by_id(c, "key_1", &got), 0);
    assert_int_equal(got.rotated_at_ms, 9);
    int64_t active;
    assert_int_equal(store_key_count_active(c, &active), 0);
    assert_int_equal(active, 1);
    assert_int_equal(store_key_revoke(c, "key_1", 10), 0);
    assert_int_equal(store_key_revoke(c, "key_1", 11), HERALD_ERR_NOT_FOUND);
    assert_int_equal(store_key_rotate(c, "key_1", "cc", "x", 12), HERALD_ERR_NOT_FOUND);
    assert_int_equal(store_key_count_active(c, &active), 0);
    assert_int_equal(active, 0);
    return HERALD_OK;
}

static int key_insert_tx(struct store_conn *c, void *arg)
{
    return store_key_insert(c, arg);
}

static void test_keys(void **state)
{
    (void)state;
    struct store *st = open_store();
    /* The duplicate insert fails the transaction, and the first insert goes with it. */
    assert_int_equal(store_run_tx(st, key_ops, NULL), HERALD_ERR_DUPLICATE);
    struct store_key k;
    sample_key(&k);
    assert_int_equal(store_run_tx(st, key_insert_tx, &k), 0);
    assert_int_equal(store_run_tx(st, key_checks, NULL), 0);
    store_close(st);
}

static void test_events_and_paging(void **state)
{
    (void)state;
    struct store *st = open_store();
    char key[32], email[64];
    for (int i = 0; i < 25; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(email, sizeof(email), "u%d@example.com", i % 5);
        insert_event(st, key, i % 2 ? "lemlist" : "smartlead", email, 1000 + i, true);
    }
    insert_event(st, "k3", "lemlist", "other@example.com", 1, false); /* duplicate key */
    struct list_arg a = {.f = {.limit = 10}};
    int64_t last = 0;
    size_t total = 0;
    for (int page = 0; page < 3; page++) {
        assert_int_equal(store_run_read(st, ev_list, &a), 0);
        total += a.n;
        if (last)
            assert_true(a.rows[0].id < last);
        last = a.rows[a.n - 1].id;
        a.f.has_before_id = true;
        a.f.before_id = last;
        store_events_free(a.rows, a.n);
    }
    assert_int_equal(total, 25);
    struct list_arg b = {.f = {.limit = 100, .platform = "lemlist", .email = "u1@example.com"}};
    assert_int_equal(store_run_read(st, ev_list, &b), 0);
    for (size_t i = 0; i < b.n; i++) {
        assert_string_equal(b.rows[i].platform, "lemlist");
        assert_string_equal(b.rows[i].email, "u1@example.com");
    }
    assert_int_equal(b.n, 3); /* i = 1, 11, 21 */
    store_events_free(b.rows, b.n);
    struct list_arg c = {
        .f = {.limit = 100, .has_from = true, .from_ms = 1010, .has_to = true, .to_ms = 1015}};
    assert_int_equal(store_run_read(st, ev_list, &c), 0);
    assert_int_equal(c.n, 5);
    store_events_free(c.rows, c.n);
    /* The campaign and email ways in honour the cursor like the id walk does. */
    struct list_arg d = {.f = {.limit = 100, .campaign_id = "c1", .has_before_id = true}};
    d.f.before_id = 11;
    assert_int_equal(store_run_read(st, ev_list, &d), 0);
    assert_int_equal(d.n, 10);
    assert_true(d.rows[0].id == 10 && d.rows[9].id == 1);
    store_events_free(d.rows, d.n);
    struct list_arg e = {.f = {.limit = 100, .email = "u1@example.com", .has_before_id = true}};
    e.f.before_id = 12;
    assert_int_equal(store_run_read(st, ev_list, &e), 0);
    assert_int_equal(e.n, 2); /* ids 7 and 2 */
    store_events_free(e.rows, e.n);
    store_close(st);
}

/* The plan SQLite picks for a list statement, its steps joined by "; ". */
static void list_plan(enum store_stmt id, char *out, size_t size)
{
    char sql[2048];
    snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", store_stmt_sql(id, DIALECT_SQLITE));
    for (char *p = sql; *p; p++)
        if (*p == '$')
            *p = '?';
    sqlite3 *db;
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_open_v2(db_url + 7, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    size_t n = 0;
    out[0] = '\0';
    while (sqlite3_step(stmt) == SQLITE_ROW && n < size)
        n += (size_t)snprintf(out + n, size - n, "%s; ", sqlite3_column_text(stmt, 3));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

/* Each way into GET /api/events walks one index in id order: no full scan, no sort. */
static void test_event_list_plans(void **state)
{
    (void)state;
    if (strncmp(db_url, "sqlite:", 7) != 0)
        skip();
    struct store *st = open_store();
    const struct {
        struct store_event_filter f;
        enum store_stmt id;
        const char *plan;
    } cases[] = {
        {{.limit = 5}, STMT_EVENT_LIST, "USING INTEGER PRIMARY KEY (rowid<?)"},
        {{.limit = 5, .platform = "ota", .event_type = "x", .namespace_ = "n", .has_from = true},
         STMT_EVENT_LIST,
         "USING INTEGER PRIMARY KEY (rowid<?)"},
        {{.limit = 5, .email = "a@example.com", .campaign_id = "c"},
         STMT_EVENT_LIST_BY_EMAIL,
         "USING INDEX idx_event_source_email (email=? AND id<?)"},
        {{.limit = 5, .campaign_id = "c", .platform = "lemlist"},
         STMT_EVENT_LIST_BY_CAMPAIGN,
         "USING INDEX idx_event_source_campaign (campaign_id=? AND id<?)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char plan[512];
        assert_int_equal(store_event_list_stmt(&cases[i].f), cases[i].id);
        list_plan(cases[i].id, plan, sizeof(plan));
        assert_non_null(strstr(plan, cases[i].plan));
        assert_null(strstr(plan, "SCAN"));
        assert_null(strstr(plan, "TEMP B-TREE"));
    }
    store_close(st);
}

static int maintenance(struct store_conn *c, void *arg)
{
    (void)arg;
    assert_int_equal(store_optimize(c, "sync_indexes"), 0);
    assert_int_equal(store_optimize(c, "analyze"), 0);
    assert_int_equal(store_optimize(c, "vacuum"), 0);
    assert_int_equal(store_optimize(c, "defrag"), HERALD_ERR_INVALID);
    return 0;
}

static void test_maintenance_and_stats(void **state)
{
    (void)state;
    struct store *st = open_store();
    assert_int_equal(store_run_plain(st, maintenance, NULL), 0);
    /* The catalogue lists every table, counted for real: the key open_store() made. */
    struct store_catalogue cat;
    assert_int_equal(store_catalogue_report(st, &cat), 0);
    bool found = false;
    for (size_t i = 0; i < cat.ntables; i++)
        if (!strcmp(cat.tables[i].name, "api_keys")) {
            found = true;
            assert_true(cat.tables[i].rows >= 0 && cat.tables[i].table_bytes > 0);
        }
    assert_true(found && cat.ntables >= 8 && cat.nindexes >= 1);
    store_catalogue_free(&cat);
    struct store_stats s;
    store_get_stats(st, &s);
    assert_true(s.select_count > 0);
    assert_int_equal(s.pool_active, 0);
    assert_true(s.pool_idle >= 1);
    assert_int_equal(s.pool_max, 4);
    store_close(st);
}

static void test_backup_restore(void **state)
{
    (void)state;
    if (strncmp(db_url, "sqlite:", 7) != 0)
        skip();
    char dir[256], backup[300];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(backup, sizeof(backup), "%s/b.db", dir);
    struct store *st = open_store();
    insert_event(st, "before", "lemlist", "a@example.com", 1, true);
    assert_int_equal(store_backup(st, backup), 0);
    assert_int_equal(store_verify_backup(st, backup), 0);
    insert_event(st, "after", "lemlist", "a@example.com", 2, true);
    assert_int_equal(store_lock_instance(st, true), 0);
    assert_int_equal(store_restore(st, backup), 0);
    insert_event(st, "after", "lemlist", "a@example.com", 2, true); /* gone again */
    insert_event(st, "before", "lemlist", "a@example.com", 1, false);
    store_close(st);
    /* A server holding the shared lock keeps restore out. */
    struct store *server = open_store(), *restorer = open_store();
    assert_int_equal(store_lock_instance(server, false), 0);
    assert_int_equal(store_lock_instance(restorer, true), HERALD_ERR_CONFLICT);
    store_close(server);
    assert_int_equal(store_lock_instance(restorer, true), 0);
    store_close(restorer);
    FILE *f = fopen(backup, "wb");
    fputs("garbage", f);
    fclose(f);
    st = open_store();
    assert_int_equal(store_verify_backup(st, backup), HERALD_ERR_BACKUP_INVALID);
    store_close(st);
    unlink(backup);
    rmdir(dir);
}

/* Each group runs once per backend: SQLite always, PostgreSQL when HERALD_TEST_PG_URL names a
 * server (`make unit` starts a private one through scripts/with-pg.sh). */
static int setup_sqlite(void **state)
{
    (void)state;
    unit_sqlite_url("store", db_url, sizeof(db_url));
    return 0;
}

static int setup_postgres(void **state)
{
    (void)state;
    snprintf(db_url, sizeof(db_url), "%s", getenv("HERALD_TEST_PG_URL"));
    return 0;
}

#define STORE_TESTS(setup)                                                                         \
    {                                                                                              \
        cmocka_unit_test_setup(test_migrations, setup), cmocka_unit_test_setup(test_keys, setup),  \
            cmocka_unit_test_setup(test_events_and_paging, setup),                                 \
            cmocka_unit_test_setup(test_event_list_plans, setup),                                  \
            cmocka_unit_test_setup(test_maintenance_and_stats, setup),                             \
            cmocka_unit_test_setup(test_backup_restore, setup),                                    \
    }

int main(void)
{
    const struct CMUnitTest on_sqlite[] = STORE_TESTS(setup_sqlite);
    int failed = cmocka_run_group_tests_name("store on sqlite", on_sqlite, NULL, NULL);
    const char *pg = getenv("HERALD_TEST_PG_URL");
    if (pg && *pg) {
        const struct CMUnitTest on_postgres[] = STORE_TESTS(setup_postgres);
        failed += cmocka_run_group_tests_name("store on postgres", on_postgres, NULL, NULL);
    }
    return failed;
}
