/* The job layer on a real SQLite store: kinds, worker (checkpoint, retry, dead letters, cancel,
 * release), dead-letter retries, schedules, the sync kind's params and connector table. */
#include "unit.h"

#include <unistd.h>

#include <time.h>

#include "base/clock.h"
#include "events/key.h"
#include "jobs/jobs.h"
#include "jobs/schedule.h"
#include "sync/connector.h"
#include "sync/sync.h"

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

static struct jobs *new_jobs(struct store *st, int max_attempts)
{
    struct jobs_opts o = {1, 5000, max_attempts};
    struct jobs *j;
    assert_int_equal(jobs_new(st, &o, &j), HERALD_OK);
    return j;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Waits up to 10 s for the job to reach `status`; leaves its state in *info. */
static void wait_status(struct jobs *j, const char *id, const char *status, struct jobs_info *info)
{
    for (int i = 0; i < 200; i++) {
        assert_int_equal(jobs_get(j, id, info), HERALD_OK);
        if (!strcmp(info->status, status))
            return;
        jobs_info_clear(info);
        sleep_ms(50);
    }
    fail_msg("job %s never became %s", id, status);
}

/* ---- test kinds ---- */

/* {"n": int >= 0} → {"n": n, "normalised": true} */
static int count_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *p)
{
    (void)arg;
    json_t *n = json_object_get(raw, "n");
    if (!json_is_integer(n) || json_integer_value(n) < 0) {
        snprintf(p->field, sizeof(p->field), "n");
        snprintf(p->message, sizeof(p->message), "n must be a count");
        return HERALD_ERR_INVALID;
    }
    *out = json_pack("{s:O, s:b}", "n", n, "normalised", 1);
    return HERALD_OK;
}

/* Counts to n, one checkpoint a step; "mode" in the kind arg says how it ends. */
enum count_mode { COUNT_OK, COUNT_FAIL, COUNT_FAIL_PERMANENT, COUNT_FOREVER };

static int count_run(struct jobs_ctx *ctx)
{
    enum count_mode mode = *(enum count_mode *)jobs_ctx_arg(ctx);
    json_t *progress = jobs_ctx_progress(ctx);
    json_int_t n = json_integer_value(json_object_get(jobs_ctx_params(ctx), "n"));
    json_int_t at = json_integer_value(json_object_get(progress, "at"));
    for (; at < n || mode == COUNT_FOREVER; at++) {
        json_object_set_new(progress, "at", json_integer(at + 1));
        int rc = jobs_ctx_checkpoint(ctx, mode == COUNT_FOREVER);
        if (rc)
            return rc;
        if (mode == COUNT_FOREVER)
            sleep_ms(20);
    }
    if (mode == COUNT_FAIL || mode == COUNT_FAIL_PERMANENT) {
        jobs_ctx_dead_letter(ctx, "a bad row", "GET /rows", "{\"row\":1}");
        jobs_ctx_fail(ctx, mode == COUNT_FAIL_PERMANENT, "count failed at %lld", (long long)at);
        return HERALD_ERR_UPSTREAM;
    }
    return HERALD_OK;
}

static json_t *count_progress(json_t *saved)
{
    return json_pack("{s:O?, s:b}", "at", json_object_get(saved, "at"), "view", 1);
}

static const struct jobs_kind count_kind = {
    .name = "count", .validate = count_validate, .run = count_run, .progress = count_progress};

/* Retries dead letters labelled "thing" as new jobs. */
static int thing_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *p)
{
    (void)arg;
    (void)p;
    const char *payload = json_string_value(json_object_get(raw, "payload"));
    if (!payload)
        return HERALD_ERR_INVALID;
    *out = json_pack("{s:O, s:s}", "deadLetterId", json_object_get(raw, "deadLetterId"), "thing",
                     payload);
    return HERALD_OK;
}

static int thing_run(struct jobs_ctx *ctx)
{
    (void)ctx;
    return HERALD_OK;
}

static const struct jobs_kind thing_kind = {.name = "thing_retry",
                                            .validate = thing_validate,
                                            .run = thing_run,
                                            .dead_letter_kind = "thing",
                                            .retries = "thing"};

/* ---- tests ---- */

static void test_kinds_table_and_submit(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct jobs *j = new_jobs(st, 3);
    enum count_mode mode = COUNT_OK;
    assert_int_equal(jobs_register(j, &count_kind, &mode), HERALD_OK);
    assert_int_equal(jobs_register(j, &count_kind, &mode), HERALD_ERR_DUPLICATE);
    char id[40];
    struct jobs_problem p;
    json_t *raw = json_pack("{s:i}", "n", -1);
    assert_int_equal(jobs_submit(j, "count", raw, id, &p), HERALD_ERR_INVALID);
    assert_string_equal(p.field, "n");
    assert_int_equal(jobs_submit(j, "nope", raw, id, &p), HERALD_ERR_NOT_FOUND);
    json_object_set_new(raw, "n", json_integer(3));
    assert_int_equal(jobs_submit(j, "count", raw, id, &p), HERALD_OK);
    json_decref(raw);
    assert_true(jobs_id_valid(id));
    struct jobs_info info;
    assert_int_equal(jobs_get(j, id, &info), HERALD_OK);
    assert_string_equal(info.status, "pending");
    assert_string_equal(info.kind, "count");
    assert_true(json_is_true(json_object_get(info.params, "normalised")));
    assert_true(json_is_true(json_object_get(info.progress, "view"))); /* the kind's view */
    jobs_info_clear(&info);
    assert_int_equal(jobs_get(j, "not-an-id", &info), HERALD_ERR_NOT_FOUND);
    jobs_free(j);
    store_close(st);
}

static void test_worker_runs_to_completion(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct jobs *j = new_jobs(st, 3);
    enum count_mode mode = COUNT_OK;
    assert_int_equal(jobs_register(j, &count_kind, &mode), HERALD_OK);
    assert_int_equal(jobs_start(j), HERALD_OK);
    char id[40];
    struct jobs_problem p;
    json_t *raw = json_pack("{s:i}", "n", 5);
    assert_int_equal(jobs_submit(j, "count", raw, id, &p), HERALD_OK);
    json_decref(raw);
    struct jobs_info info;
    wait_status(j, id, "completed", &info);
    assert_int_equal(json_integer_value(json_object_get(info.progress, "at")), 5);
    assert_null(info.error);
    assert_int_equal(info.attempts, 1);
    assert_true(info.finished_at_ms >= info.started_at_ms);
    jobs_info_clear(&info);
    struct jobs_info *list;
    size_t n;
    assert_int_equal(jobs_list(j, "completed", 0, NULL, 10, &list, &n), HERALD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, id);
    jobs_infos_free(list, n);
    jobs_free(j);
    store_close(st);
}

/* A failure is retried with backoff, then fails with a dead letter; retrying the dead letter
 * requeues the job in one transaction. */
static void test_retry_then_dead_letter(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct jobs *j = new_jobs(st, 2);
    enum count_mode mode = COUNT_FAIL;
    assert_int_equal(jobs_register(j, &count_kind, &mode), HERALD_OK);
    assert_int_equal(jobs_start(j), HERALD_OK);
    char id[40], again[40];
    struct jobs_problem p;
    json_t *raw = json_pack("{s:i}", "n", 1);
    assert_int_equal(jobs_submit(j, "count", raw, id, &p), HERALD_OK);
    json_decref(raw);
    struct jobs_info info;
    wait_status(j, id, "failed", &info); /* the second attempt, 2 s of backoff later */
    assert_int_equal(info.attempts, 2);
    assert_string_equal(info.error, "count failed at 1");
    jobs_info_clear(&info);
    struct jobs_dead_letter *dls;
    size_t n;
    assert_int_equal(jobs_dead_letters_list(j, 0, 10, &dls, &n), HERALD_OK);
    assert_int_equal(n, 3); /* one per run from the context, one for the failed job */
    assert_string_equal(dls[0].kind, "count");
    assert_string_equal(dls[0].job_id, id);
    assert_string_equal(dls[0].reason, "count failed at 1");
    assert_null(dls[0].request);
    assert_string_equal(dls[1].request, "GET /rows");
    int64_t dl_id = dls[0].id;
    jobs_dead_letters_free(dls, n);
    mode = COUNT_OK;
    assert_int_equal(jobs_retry_dead_letter(j, dl_id, again), HERALD_OK);
    assert_string_equal(again, id);
    wait_status(j, id, "completed", &info);
    jobs_info_clear(&info);
    assert_int_equal(jobs_retry_dead_letter(j, dl_id, again), HERALD_ERR_CONFLICT);
    assert_int_equal(jobs_retry_dead_letter(j, 999999, again), HERALD_ERR_NOT_FOUND);
    jobs_free(j);
    store_close(st);
}

static void test_permanent_failure_is_not_retried(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct jobs *j = new_jobs(st, 5);
    enum count_mode mode = COUNT_FAIL_PERMANENT;
    assert_int_equal(jobs_register(j, &count_kind, &mode), HERALD_OK);
    assert_int_equal(jobs_start(j), HERALD_OK);
    char id[40];
    struct jobs_problem p;
    json_t *raw = json_pack("{s:i}", "n", 2);
    assert_int_equal(jobs_submit(j, "count", raw, id, &p), HERALD_OK);
    json_decref(raw);
    struct jobs_info info;
    wait_status(j, id, "failed", &info);
    assert_int_equal(info.attempts, 1);
    assert_int_equal(json_integer_value(json_object_get(info.progress, "at")), 2);
    jobs_info_clear(&info);
    jobs_free(j);
    store_close(st);
}

static void test_cancel_pending_and_running(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct jobs *j = new_jobs(st, 3);
    enum count_mode mode = COUNT_FOREVER;
    assert_int_equal(jobs_register(j, &count_kind, &mode), HERALD_OK);
    char first[40], second[40];
    struct jobs_problem p;
    json_t *raw = json_pack("{s:i}", "n", 0);
    assert_int_equal(jobs_submit(j, "count", raw, first, &p), HERALD_OK);
    assert_int_equal(jobs_submit(j, "count", raw, second, &p), HERALD_OK);
    json_decref(raw);
    bool now;
    assert_int_equal(jobs_cancel(j, second, &now), HERALD_OK);
    assert_true(now); /* pending: cancelled at once */
    assert_int_equal(jobs_cancel(j, second, &now), HERALD_ERR_CONFLICT);
    assert_int_equal(jobs_start(j), HERALD_OK);
    struct jobs_info info;
    wait_status(j, first, "running", &info);
    jobs_info_clear(&info);
    assert_int_equal(jobs_cancel(j, first, &now), HERALD_OK);
    assert_false(now);
    wait_status(j, first, "cancelled", &info);
    jobs_info_clear(&info);
    jobs_free(j);
    store_close(st);
}

/* Stopping the pool hands a running job back, progress kept, for the next start. */
static void test_stop_releases_running_jobs(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct jobs *j = new_jobs(st, 3);
    enum count_mode mode = COUNT_FOREVER;
    assert_int_equal(jobs_register(j, &count_kind, &mode), HERALD_OK);
    assert_int_equal(jobs_start(j), HERALD_OK);
    char id[40];
    struct jobs_problem p;
    json_t *raw = json_pack("{s:i}", "n", 0);
    assert_int_equal(jobs_submit(j, "count", raw, id, &p), HERALD_OK);
    json_decref(raw);
    struct jobs_info info;
    wait_status(j, id, "running", &info);
    jobs_info_clear(&info);
    sleep_ms(200);
    jobs_free(j);
    j = new_jobs(st, 3);
    assert_int_equal(jobs_register(j, &count_kind, &mode), HERALD_OK);
    assert_int_equal(jobs_get(j, id, &info), HERALD_OK);
    assert_string_equal(info.status, "pending");
    assert_null(info.error);
    assert_true(json_integer_value(json_object_get(info.progress, "at")) > 0);
    jobs_info_clear(&info);
    jobs_free(j);
    store_close(st);
}

static void test_dead_letter_retried_by_a_new_job(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct jobs *j = new_jobs(st, 3);
    assert_int_equal(jobs_register(j, &thing_kind, NULL), HERALD_OK);
    assert_int_equal(jobs_dead_letter(st, NULL, "thing", "refused", "POST /x", "{\"a\":1}"), 0);
    assert_int_equal(jobs_dead_letter(st, NULL, "other", "refused", NULL, NULL), 0);
    struct jobs_dead_letter *dls;
    size_t n;
    assert_int_equal(jobs_dead_letters_list(j, 0, 10, &dls, &n), HERALD_OK);
    assert_int_equal(n, 2);
    int64_t thing = dls[1].id, other = dls[0].id;
    jobs_dead_letters_free(dls, n);
    char id[40];
    assert_int_equal(jobs_retry_dead_letter(j, other, id), HERALD_ERR_CONFLICT);
    assert_int_equal(jobs_retry_dead_letter(j, thing, id), HERALD_OK);
    struct jobs_info info;
    assert_int_equal(jobs_get(j, id, &info), HERALD_OK);
    assert_string_equal(info.kind, "thing_retry");
    assert_string_equal(json_string_value(json_object_get(info.params, "thing")), "{\"a\":1}");
    assert_int_equal(json_integer_value(json_object_get(info.params, "deadLetterId")), thing);
    jobs_info_clear(&info);
    assert_int_equal(jobs_retry_dead_letter(j, thing, id), HERALD_ERR_CONFLICT); /* once */
    assert_int_equal(jobs_dead_letters_list(j, 0, 10, &dls, &n), HERALD_OK);
    assert_true(dls[1].retried_at_ms > 0 && dls[0].retried_at_ms == 0);
    jobs_dead_letters_free(dls, n);
    jobs_free(j);
    store_close(st);
}

/* A node claims only the kinds it runs: another node's kind stays pending here. */
static void test_claims_only_registered_kinds(void **state)
{
    (void)state;
    struct store *st = open_store();
    enum count_mode mode = COUNT_OK;
    struct jobs *a = new_jobs(st, 3), *b = new_jobs(st, 3);
    assert_int_equal(jobs_register(a, &count_kind, &mode), HERALD_OK);
    assert_int_equal(jobs_register(b, &thing_kind, NULL), HERALD_OK);
    assert_int_equal(jobs_start(a), HERALD_OK);
    char id[40];
    struct jobs_problem p;
    json_t *raw = json_pack("{s:i, s:s}", "deadLetterId", 1, "payload", "x");
    assert_int_equal(jobs_submit(b, "thing_retry", raw, id, &p), HERALD_OK);
    json_decref(raw);
    sleep_ms(1200);
    struct jobs_info info;
    assert_int_equal(jobs_get(a, id, &info), HERALD_OK);
    assert_string_equal(info.status, "pending");
    assert_int_equal(info.attempts, 0);
    jobs_info_clear(&info);
    jobs_free(a);
    assert_int_equal(jobs_start(b), HERALD_OK);
    wait_status(b, id, "completed", &info);
    jobs_info_clear(&info);
    jobs_free(b);
    store_close(st);
}

/* Two nodes run the same schedule: each tick queues one job. */
static void test_schedule_one_job_per_tick(void **state)
{
    (void)state;
    struct store *st = open_store();
    enum count_mode mode = COUNT_OK;
    struct jobs *a = new_jobs(st, 3), *b = new_jobs(st, 3);
    assert_int_equal(jobs_register(a, &count_kind, &mode), HERALD_OK);
    assert_int_equal(jobs_register(b, &count_kind, &mode), HERALD_OK);
    json_t *params = json_pack("{s:i}", "n", 1);
    struct jobs_schedule_def def = {"counting", "@every 1s", "count", params};
    struct jobs_schedule *sa, *sb;
    char err[200];
    assert_int_equal(jobs_schedule_start(a, &def, 1, &sa, err, sizeof(err)), HERALD_OK);
    assert_int_equal(jobs_schedule_start(b, &def, 1, &sb, err, sizeof(err)), HERALD_OK);
    json_decref(params);
    sleep_ms(3300);
    jobs_schedule_stop(sa);
    jobs_schedule_stop(sb);
    struct jobs_info *list;
    size_t n;
    assert_int_equal(jobs_list(a, NULL, 0, NULL, 100, &list, &n), HERALD_OK);
    assert_true(n >= 2 && n <= 4); /* about one a second, never two for one tick */
    for (size_t i = 0; i < n; i++)
        assert_true(json_is_true(json_object_get(list[i].params, "normalised")));
    jobs_infos_free(list, n);
    json_t *bad = json_pack("{s:i}", "n", -5);
    def.params = bad;
    assert_int_equal(jobs_schedule_start(a, &def, 1, &sa, err, sizeof(err)), HERALD_ERR_INVALID);
    assert_non_null(strstr(err, "n must be a count"));
    json_decref(bad);
    struct jobs_schedule_status ss;
    assert_int_equal(jobs_schedule_status(NULL, "counting", &ss), HERALD_OK);
    assert_string_equal(ss.status, "disabled");
    jobs_free(a);
    jobs_free(b);
    store_close(st);
}

/* The sync kind's params are validated once, NULLs included, and every platform is in the
 * connector table. */
static void test_sync_params_and_connectors(void **state)
{
    (void)state;
    assert_non_null(sync_connector_find("lemlist"));
    assert_non_null(sync_connector_find("smartlead"));
    assert_null(sync_connector_find("mailchimp"));
    assert_null(sync_connector_find(NULL));
    for (size_t i = 0; i < sync_connector_count; i++) /* events accept what connectors store */
        assert_true(evkey_platform_known(sync_connectors[i]->platform));
    struct store *st = open_store();
    struct jobs *j = new_jobs(st, 3);
    struct sync_opts so = {0};
    so.platforms[0] = (struct sync_platform_opts){"http://127.0.0.1:1", "key", {10, 1}};
    so.platforms[1] = (struct sync_platform_opts){"http://127.0.0.1:1", "", {10, 1}};
    struct sync *s;
    assert_int_equal(sync_start(st, NULL, j, &so, &s), HERALD_OK);
    char id[40];
    struct jobs_problem p;
    json_t *raw = json_pack("{s:s}", "platforms", "lemlist"); /* no syncMode */
    assert_int_equal(jobs_submit(j, "sync", raw, id, &p), HERALD_ERR_INVALID);
    assert_string_equal(p.field, "syncMode");
    json_object_set_new(raw, "syncMode", json_string("incremental"));
    json_object_set_new(raw, "platforms", json_string("lemlist, smartlead"));
    assert_int_equal(jobs_submit(j, "sync", raw, id, &p), HERALD_ERR_PLATFORM_NOT_CONFIGURED);
    assert_non_null(strstr(p.message, "HERALD_SMARTLEAD_API_KEY"));
    json_decref(raw);
    raw = sync_periodic_params(s);
    assert_int_equal(jobs_submit(j, "sync", raw, id, &p), HERALD_OK);
    json_decref(raw);
    struct jobs_info info;
    assert_int_equal(jobs_get(j, id, &info), HERALD_OK);
    char *text = json_dumps(info.params, JSON_COMPACT);
    assert_string_equal(text, "{\"platforms\":[\"lemlist\"],\"syncMode\":\"incremental\"}");
    free(text);
    assert_non_null(json_object_get(info.progress, "platforms"));
    jobs_info_clear(&info);
    assert_string_equal(sync_probe(s, "smartlead"), "unconfigured");
    /* The background probe (started with the sync) reaches nothing on port 1. */
    int64_t checked = 0;
    for (int i = 0; i < 100 && !strcmp(sync_probe(s, "lemlist"), "pending"); i++)
        usleep(50000);
    assert_string_equal(sync_probe_info(s, "lemlist", &checked), "unhealthy");
    assert_true(checked > 0);
    jobs_free(j);
    sync_stop(s);
    store_close(st);
}

static int setup(void **state)
{
    (void)state;
    char dir[256];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(db_url, sizeof(db_url), "sqlite:%s/jobs.db", dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_kinds_table_and_submit, setup),
        cmocka_unit_test_setup(test_worker_runs_to_completion, setup),
        cmocka_unit_test_setup(test_retry_then_dead_letter, setup),
        cmocka_unit_test_setup(test_permanent_failure_is_not_retried, setup),
        cmocka_unit_test_setup(test_cancel_pending_and_running, setup),
        cmocka_unit_test_setup(test_stop_releases_running_jobs, setup),
        cmocka_unit_test_setup(test_dead_letter_retried_by_a_new_job, setup),
        cmocka_unit_test_setup(test_claims_only_registered_kinds, setup),
        cmocka_unit_test_setup(test_schedule_one_job_per_tick, setup),
        cmocka_unit_test_setup(test_sync_params_and_connectors, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
