/* CSV contact imports (mail/import.c, mail/import_job.c) over the store: refusals of the
 * request and the header, the row limit, an abandoned upload leaving nothing, and a whole
 * import through the job workers (chunks spooled and deleted, invalid lines, counters), on
 * SQLite and (with HERALD_TEST_PG_URL) on a PostgreSQL database of its own. */
#include "unit.h"
#include "unit_db.h"

#include <time.h>

#include "base/buf.h"
#include "jobs/jobs.h"
#include "mail/import.h"
#include "mail/lists.h"
#include "store/imports.h"
#include "store/internal.h"
#include "store/store.h"

static char db_url[512];

struct fixture {
    struct store *st;
    struct jobs *jobs;
    struct mail_import *mi;
    int64_t single, dbl;
};

static void open_all(struct fixture *f, int64_t max_rows)
{
    struct store_opts so = {db_url, 1, 6, false};
    assert_int_equal(store_open(&so, &f->st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(f->st, &applied), HERALD_OK);
    struct jobs_opts jo = {2, 30000, 3};
    assert_int_equal(jobs_new(f->st, &jo, &f->jobs), HERALD_OK);
    struct mail_import_opts mo = {max_rows};
    assert_int_equal(mail_import_register(f->jobs, f->st, &mo, &f->mi), HERALD_OK);
    assert_int_equal(jobs_start(f->jobs), HERALD_OK);
    struct herald_error err;
    struct store_list l;
    char name[64];
    snprintf(name, sizeof(name), "single-%lld", (long long)time(NULL) ^ (long long)rand());
    struct mail_list_input in = {name, "single", NULL};
    assert_int_equal(mail_list_create(f->st, &in, &l, &err), HERALD_OK);
    f->single = l.id;
    store_list_clear(&l);
    snprintf(name, sizeof(name), "double-%lld", (long long)time(NULL) ^ (long long)rand());
    in = (struct mail_list_input){name, "double", NULL};
    assert_int_equal(mail_list_create(f->st, &in, &l, &err), HERALD_OK);
    f->dbl = l.id;
    store_list_clear(&l);
}

static void close_all(struct fixture *f)
{
    jobs_free(f->jobs);
    mail_import_free(f->mi);
    store_close(f->st);
}

/* Uploads `csv` in pieces of `piece` bytes; returns the error of begin, write or finish. */
static int upload(struct fixture *f, const int64_t *lists, size_t nlists, const char *csv,
                  size_t len, size_t piece, char job_id[40], struct herald_error *err)
{
    struct mail_import_request rq = {lists, nlists, false, "terms v2", "192.0.2.7"};
    struct mail_import_upload *up;
    int rc = mail_import_begin(f->mi, &rq, &up, err);
    if (rc)
        return rc;
    for (size_t at = 0; !rc && at < len; at += piece)
        rc = mail_import_write(up, csv + at, len - at < piece ? len - at : piece, err);
    int64_t rows;
    if (!rc)
        rc = mail_import_finish(up, job_id, &rows, err);
    mail_import_upload_free(up);
    return rc;
}

static void expect_refused(struct fixture *f, const char *csv, int code, const char *field,
                           const char *words)
{
    char id[40];
    struct herald_error err = {0};
    int64_t lists[] = {f->single};
    assert_int_equal(upload(f, lists, 1, csv, strlen(csv), 5, id, &err), code);
    assert_string_equal(err.field, field);
    assert_non_null(strstr(err.message, words));
}

static void test_refusals(void **state)
{
    (void)state;
    struct fixture f;
    open_all(&f, 3);
    expect_refused(&f, "name,city\nBob,Paris\n", HERALD_ERR_INVALID, "body", "\"email\"");
    expect_refused(&f, "email,Email\n", HERALD_ERR_INVALID, "body", "twice");
    expect_refused(&f, "email,room type\n", HERALD_ERR_INVALID, "body", "column 2");
    expect_refused(&f, "\"email\"x\n", HERALD_ERR_INVALID, "body", "closing quote");
    expect_refused(&f, "", HERALD_ERR_INVALID, "body", "empty");
    expect_refused(&f, "email\na@b.co\nc@d.co\n\n,\ne@f.co\ng@h.co\n", HERALD_ERR_TOO_LARGE, "body",
                   "more than 3 rows");
    char id[40];
    struct herald_error err = {0};
    int64_t missing[] = {f.single, 999999};
    assert_int_equal(upload(&f, missing, 2, "email\n", 6, 6, id, &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, "lists");
    /* Blank rows do not count towards the limit. */
    const char *ok = "email\na@b.co\n\n , \nc@d.co\ne@f.co\n";
    assert_int_equal(upload(&f, missing, 1, ok, strlen(ok), 3, id, &err), HERALD_OK);
    close_all(&f);
}

static int import_get(struct store_conn *c, void *arg)
{
    return store_import_get(c, ((struct store_import *)arg)->id, arg);
}

struct chunk_get {
    const char *id;
    char *data;
};

static int chunk_get(struct store_conn *c, void *arg)
{
    struct chunk_get *t = arg;
    return store_import_chunk_get(c, t->id, 0, &t->data);
}

struct sweep {
    int64_t before_ms, deleted;
};

static int sweep(struct store_conn *c, void *arg)
{
    struct sweep *t = arg;
    return store_import_sweep(c, t->before_ms, &t->deleted);
}

/* An upload that never finishes leaves neither chunks nor its row. */
static void test_abandoned(void **state)
{
    (void)state;
    struct fixture f;
    open_all(&f, 1000000);
    struct mail_import_request rq = {NULL, 0, false, NULL, NULL};
    struct mail_import_upload *up;
    struct herald_error err;
    assert_int_equal(mail_import_begin(f.mi, &rq, &up, &err), HERALD_OK);
    size_t len = MAIL_IMPORT_CHUNK + 100;
    char *data = malloc(len);
    memcpy(data, "email\n", 6);
    for (size_t i = 6; i < len; i++)
        data[i] = i % 20 == 19 ? '\n' : 'a';
    assert_int_equal(mail_import_write(up, data, len, &err), HERALD_OK);
    free(data);
    struct store_import imp = {0};
    snprintf(imp.id, sizeof(imp.id), "%s", mail_import_upload_id(up));
    assert_int_equal(store_run_read(f.st, import_get, &imp), HERALD_OK);
    assert_int_equal(imp.chunks, 1); /* one full chunk spooled so far */
    store_import_clear(&imp);
    mail_import_upload_free(up);
    assert_int_equal(store_run_read(f.st, import_get, &imp), HERALD_ERR_NOT_FOUND);
    struct chunk_get t = {imp.id, NULL};
    assert_int_equal(store_run_read(f.st, chunk_get, &t), HERALD_ERR_NOT_FOUND);
    close_all(&f);
}

static void wait_done(struct fixture *f, const char *id, struct jobs_info *info)
{
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(mail_import_status(f->mi, id, info), HERALD_OK);
        if (strcmp(info->status, "pending") != 0 && strcmp(info->status, "running") != 0)
            return;
        jobs_info_clear(info);
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    fail_msg("import %s did not finish", id);
}

static int64_t progress(const struct jobs_info *info, const char *name)
{
    return json_integer_value(json_object_get(info->progress, name));
}

/* About 2.5 chunks of rows, a few invalid, fed in odd pieces; then through the workers. */
static void test_whole_import(void **state)
{
    (void)state;
    struct fixture f;
    open_all(&f, 1000000);
    struct buf csv;
    buf_init(&csv, 64 << 20);
    buf_append_str(&csv, "\xEF\xBB\xBFName,EMAIL,room\r\n");
    int n = 0;
    while (csv.len < 2 * MAIL_IMPORT_CHUNK + MAIL_IMPORT_CHUNK / 2) {
        if (n == 10)
            buf_append_str(&csv, "Bad,not-an-email,x\r\n");
        else if (n == 20)
            buf_append_str(&csv, "Few,few@example.com\r\n");
        else
            buf_printf(&csv, "\"Guest, %d\",Guest%d@Example.com,\"suite\r\n%d\"\r\n", n, n, n);
        n++;
    }
    char id[40];
    struct herald_error err;
    int64_t lists[] = {f.single, f.dbl};
    assert_int_equal(upload(&f, lists, 2, csv.data, csv.len, 4093, id, &err), HERALD_OK);
    struct jobs_info info;
    wait_done(&f, id, &info);
    assert_string_equal(info.status, "completed");
    assert_int_equal(progress(&info, "rows"), n);
    assert_int_equal(progress(&info, "rowsRead"), n);
    assert_int_equal(progress(&info, "imported"), n - 2);
    assert_int_equal(progress(&info, "invalid"), 2);
    assert_int_equal(progress(&info, "subscribed"), 2 * (n - 2));
    assert_int_equal(progress(&info, "bytesRead"), (int64_t)csv.len);
    json_t *lines = json_object_get(info.progress, "invalidLines");
    assert_int_equal(json_array_size(lines), 2);
    /* Each good row spans two lines: row k starts on line 2 + 2k. */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(lines, 0), "line")), 22);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(lines, 1), "line")), 41);
    /* The upload's row says done and its chunks are gone. */
    struct store_import imp = {0};
    snprintf(imp.id, sizeof(imp.id), "%s",
             json_string_value(json_object_get(info.params, "upload")));
    assert_int_equal(store_run_read(f.st, import_get, &imp), HERALD_OK);
    assert_true(imp.done);
    assert_int_equal(imp.chunks, 3);
    store_import_clear(&imp);
    jobs_info_clear(&info);
    /* The same file again: every row an update now. */
    assert_int_equal(upload(&f, lists, 2, csv.data, csv.len, 65536, id, &err), HERALD_OK);
    wait_done(&f, id, &info);
    assert_int_equal(progress(&info, "updated"), n - 2);
    assert_int_equal(progress(&info, "imported"), 0);
    assert_int_equal(progress(&info, "subscribed"), 0);
    /* The second upload swept the first one's row (its job had completed); a sweep now takes
     * the second's (and, with an idle horizon in the future, any never handed to a job). */
    assert_int_equal(store_run_read(f.st, import_get, &imp), HERALD_ERR_NOT_FOUND);
    snprintf(imp.id, sizeof(imp.id), "%s",
             json_string_value(json_object_get(info.params, "upload")));
    jobs_info_clear(&info);
    struct sweep t = {time(NULL) * 1000LL + 3600000, 0};
    assert_int_equal(store_run_tx(f.st, sweep, &t), HERALD_OK);
    assert_true(t.deleted >= 1);
    assert_int_equal(store_run_read(f.st, import_get, &imp), HERALD_ERR_NOT_FOUND);
    buf_free(&csv);
    close_all(&f);
}

static int setup_sqlite(void **state)
{
    (void)state;
    unit_sqlite_url("import", db_url, sizeof(db_url));
    return 0;
}

static int setup_postgres(void **state)
{
    (void)state;
    unit_pg_url("import", db_url, sizeof(db_url));
    return 0;
}

int main(void)
{
    const struct CMUnitTest on_sqlite[] = {
        cmocka_unit_test_setup(test_refusals, setup_sqlite),
        cmocka_unit_test_setup(test_abandoned, setup_sqlite),
        cmocka_unit_test_setup(test_whole_import, setup_sqlite),
    };
    int failed = cmocka_run_group_tests_name("import on sqlite", on_sqlite, NULL, NULL);
    const char *pg = getenv("HERALD_TEST_PG_URL");
    if (pg && *pg) {
        const struct CMUnitTest on_postgres[] = {
            cmocka_unit_test_setup(test_refusals, setup_postgres),
            cmocka_unit_test_setup(test_abandoned, setup_postgres),
            cmocka_unit_test_setup(test_whole_import, setup_postgres),
        };
        failed += cmocka_run_group_tests_name("import on postgres", on_postgres, NULL, NULL);
    }
    return failed;
}
