/* Campaign sending pieces: the click-link rewriting and percent-encoding of tracking.c, and the
 * send queue of store/campaigns.c (idempotent fill of distinct mailable contacts, leased
 * claims, the mailability re-check, batch outcomes, finishing) and jobs due later (the jobs
 * layer's run_after) on SQLite; the queue on PostgreSQL too
 * when HERALD_TEST_PG_URL names a server. */
#include "unit.h"
#include "unit_db.h"

#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "jobs/jobs.h"
#include "mail/token.h"
#include "mail/tracking.h"
#include "store/campaigns.h"
#include "store/internal.h"

static const struct mail_keyring keys = {{1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                          12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                          23, 24, 25, 26, 27, 28, 29, 30, 31, 32}};

static void test_pct_encode(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(mail_tracking_pct_encode("https://a.b/c?d=1&e=f g~_.-é", &b), HERALD_OK);
    assert_string_equal(b.data, "https%3A%2F%2Fa.b%2Fc%3Fd%3D1%26e%3Df%20g~_.-%C3%A9");
    buf_free(&b);
}

/* The click URL's token checks against the URL it names, and only that one. */
static void check_click(const char *click, const char *want_url)
{
    const char *t = strstr(click, "/t/c/");
    assert_non_null(t);
    char token[MAIL_TOKEN_MAX];
    size_t n = strcspn(t + 5, "?");
    assert_true(n < sizeof(token));
    memcpy(token, t + 5, n);
    token[n] = '\0';
    struct buf want;
    buf_init(&want, 4096);
    assert_int_equal(mail_tracking_pct_encode(want_url, &want), HERALD_OK);
    assert_int_equal(strncmp(t + 5 + n, "?u=", 3), 0);
    assert_int_equal(strncmp(t + 5 + n + 3, want.data, want.len), 0);
    struct mail_token tok;
    assert_int_equal(mail_token_parse(&keys, MAIL_TOKEN_CLICK, token, want_url, 0, &tok), 0);
    assert_int_equal(tok.contact_id, 42);
    assert_int_equal(tok.campaign_id, 7);
    assert_int_equal(
        mail_token_parse(&keys, MAIL_TOKEN_CLICK, token, "https://evil.example/", 0, &tok),
        HERALD_ERR_TOKEN_INVALID);
    buf_free(&want);
}

static void test_rewrite_links(void **state)
{
    (void)state;
    const struct mail_tracking_link l = {&keys, "https://m.example.com", 7, 42};
    const char *html =
        "<p><a href=\"https://example.org/x?a=1&amp;b=2\">one</a> "
        "<a class=\"c\" href='http://example.org/y'>two</a> "
        "<a href=\"mailto:desk@example.com\">mail</a> <a href=\"/relative\">rel</a> "
        "<a href=\"https://m.example.com/unsubscribe/abc\">leave</a> "
        "<a href=\"https://example.org/&copy;\">odd</a> <a data-href=\"https://no.example\">x</a>"
        "<a HREF=\"https://example.org/&#233;t&#xE9;\">é</a></p>";
    struct buf out;
    buf_init(&out, 1 << 20);
    assert_int_equal(mail_tracking_rewrite_links(&l, html, strlen(html), &out), HERALD_OK);
    const char *s = out.data;
    const char *first = strstr(s, "href=\"https://m.example.com/t/c/");
    assert_non_null(first);
    check_click(first, "https://example.org/x?a=1&b=2");
    const char *second = strstr(s, "href='https://m.example.com/t/c/");
    assert_non_null(second);
    check_click(second, "http://example.org/y");
    const char *third = strstr(s, "HREF=\"https://m.example.com/t/c/");
    assert_non_null(third);
    check_click(third, "https://example.org/\xc3\xa9t\xc3\xa9");
    assert_non_null(strstr(s, "href=\"mailto:desk@example.com\""));
    assert_non_null(strstr(s, "href=\"/relative\""));
    assert_non_null(strstr(s, "href=\"https://m.example.com/unsubscribe/abc\""));
    assert_non_null(strstr(s, "href=\"https://example.org/&copy;\"")); /* not decoded: left */
    assert_non_null(strstr(s, "data-href=\"https://no.example\""));

    buf_reset(&out);
    assert_int_equal(mail_tracking_append_pixel(&l, &out), HERALD_OK);
    const char *o = strstr(out.data, "https://m.example.com/t/o/");
    assert_non_null(o);
    char token[MAIL_TOKEN_MAX];
    size_t n = strcspn(o + 26, ".");
    memcpy(token, o + 26, n);
    token[n] = '\0';
    struct mail_token tok;
    assert_int_equal(mail_token_parse(&keys, MAIL_TOKEN_OPEN, token, NULL, 0, &tok), 0);
    assert_int_equal(tok.contact_id, 42);
    buf_free(&out);
}

/* ---------------- the send queue ---------------- */

static char db_url[512];
static int64_t base; /* explicit, unique ids: a PostgreSQL database outlives one run */

static struct store *open_store(void)
{
    struct store_opts opts = {db_url, 1, 4, false};
    struct store *st;
    assert_int_equal(store_open(&opts, &st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    return st;
}

/* Lists base+1 (A) and base+2 (B); contacts base+10.. : 0 on A and B, 1 on A, 2 blocklisted on
 * A, 3 unconfirmed on B, 4 on B. */
static int build_world(struct store_conn *c, void *arg)
{
    (void)arg;
    char sql[1024];
    for (int i = 1; i <= 2; i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO mail_lists (id, name, optin, created_at_ms, updated_at_ms) VALUES "
                 "(%lld, 'l%lld', 'single', 1, 1)",
                 (long long)(base + i), (long long)(base + i));
        assert_int_equal(store_exec(c, sql), 0);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO contacts (id, email, name, status, created_at_ms, updated_at_ms) "
                 "VALUES (%lld, 'c%lld@example.net', 'C%d', '%s', 1, 1)",
                 (long long)(base + 10 + i), (long long)(base + 10 + i), i,
                 i == 2 ? "blocklisted" : "enabled");
        assert_int_equal(store_exec(c, sql), 0);
    }
    static const int subs[][3] = {{0, 1, 1}, {0, 2, 1}, {1, 1, 1}, {2, 1, 1}, {3, 2, 0}, {4, 2, 1}};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO subscriptions (contact_id, list_id, status, consent_method, "
                 "consent_at_ms, created_at_ms, updated_at_ms) VALUES (%lld, %lld, '%s', 'api', "
                 "1, 1, 1)",
                 (long long)(base + 10 + subs[i][0]), (long long)(base + subs[i][1]),
                 subs[i][2] ? "confirmed" : "unconfirmed");
        assert_int_equal(store_exec(c, sql), 0);
    }
    return 0;
}

struct q_tx {
    int64_t campaign;
    int64_t n;
};

static int make_campaign(struct store_conn *c, void *arg)
{
    struct q_tx *t = arg;
    int64_t lists[] = {base + 1, base + 2};
    struct store_campaign cp = {.name = "t",
                                .subject = "s",
                                .from_email = "a@example.com",
                                .html = "<p>x</p>",
                                .text = "x",
                                .tracking = true,
                                .lists = lists,
                                .nlists = 2};
    snprintf(cp.status, sizeof(cp.status), "draft");
    int rc = store_campaign_insert(c, &cp, 1, &t->campaign);
    if (!rc)
        rc = store_campaign_transition(c, t->campaign, "draft", "scheduled", "job", 2);
    return rc;
}

/* Fills in chunks of one contact until done, twice: the second pass adds nothing. */
static int fill_all(struct store_conn *c, void *arg)
{
    struct q_tx *t = arg;
    t->n = 0;
    for (int pass = 0; pass < 2; pass++) {
        int64_t after = 0, last = 0, inserted = 0;
        for (;;) {
            int rc = store_send_queue_fill(c, t->campaign, after, 1, 3, &inserted, &last);
            if (rc)
                return rc;
            if (last == after)
                break;
            after = last;
            t->n += inserted;
        }
    }
    return store_campaign_transition(c, t->campaign, "scheduled", "running", NULL, 4);
}

struct claim_tx {
    const char *node;
    int64_t now, lease;
    struct store_send_row *rows;
    size_t n;
    bool owned[3], applied[3];
    int64_t bounces; /* contacts bounced by the record while its rows are pending (recheck) */
};

static int claim(struct store_conn *c, void *arg)
{
    struct claim_tx *t = arg;
    store_send_rows_free(t->rows, t->n);
    t->rows = NULL;
    t->n = 0;
    return store_send_queue_claim(c, t->node, 10, t->now, t->lease, &t->rows, &t->n);
}

static int unsubscribe_first(struct store_conn *c, void *arg)
{
    struct claim_tx *t = arg;
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE contacts SET unsubscribed_at_ms = 5 WHERE id = %lld",
             (long long)t->rows[0].contact_id);
    assert_int_equal(store_exec(c, sql), 0);
    int64_t ids[8];
    size_t n = 0;
    int rc = store_send_queue_recheck(c, t->rows, t->n, ids, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], t->rows[0].id);
    return rc;
}

static int record(struct store_conn *c, void *arg)
{
    struct claim_tx *t = arg;
    struct store_send_result res[3] = {
        {t->rows[0].id, t->rows[0].campaign_id, t->rows[0].contact_id, STORE_SEND_SKIPPED, NULL,
         NULL, 0},
        {t->rows[1].id, t->rows[1].campaign_id, t->rows[1].contact_id, STORE_SEND_SENT, "m@x", NULL,
         0},
        {t->rows[2].id, t->rows[2].campaign_id, t->rows[2].contact_id, STORE_SEND_BOUNCED, NULL,
         "550 no such user", 0},
    };
    int rc = store_send_queue_record(c, "other", res, 3, 6, t->applied); /* not the holder */
    for (int i = 0; !rc && i < 3; i++)
        assert_false(t->applied[i]);
    if (!rc)
        rc = store_send_queue_record(c, t->node, res, 3, 6, t->applied);
    int64_t ids[8];
    size_t n = 0;
    if (!rc) /* no longer mailable: the unsubscribed contact, and the bounced one if recorded */
        rc = store_send_queue_recheck(c, t->rows, t->n, ids, &n);
    t->bounces = (int64_t)n - 1;
    return rc;
}

static int renew(struct store_conn *c, void *arg)
{
    struct claim_tx *t = arg;
    return store_send_queue_renew(c, t->node, t->rows, t->n, t->now + 50, t->owned);
}

struct check_tx {
    int64_t campaign;
    struct store_campaign_counts k;
    bool finished;
    char status[16];
};

static int check(struct store_conn *c, void *arg)
{
    struct check_tx *t = arg;
    int rc = store_campaign_finish_if_done(c, t->campaign, 7, &t->finished);
    if (!rc)
        rc = store_campaign_counts(c, t->campaign, 7, &t->k);
    if (!rc)
        rc = store_campaign_status(c, t->campaign, t->status);
    return rc;
}

static void test_send_queue(void **state)
{
    (void)state;
    struct store *st = open_store();
    base = 1000000000000LL + (int64_t)(time(NULL) % 1000000) * 1000 + getpid() % 1000;
    assert_int_equal(store_run_tx(st, build_world, NULL), 0);
    struct q_tx q = {0};
    assert_int_equal(store_run_tx(st, make_campaign, &q), 0);
    assert_int_equal(store_run_tx(st, fill_all, &q), 0);
    assert_int_equal(q.n, 3); /* contacts 0, 1, 4: once each; 2 blocklisted, 3 unconfirmed */

    struct claim_tx a = {.node = "node-a:0", .now = 10, .lease = 100},
                    b = {.node = "node-b:0", .now = 11, .lease = 111};
    assert_int_equal(store_run_tx(st, claim, &a), 0);
    assert_int_equal(a.n, 3);
    assert_int_equal(a.rows[0].contact_id, base + 10);
    assert_int_equal(a.rows[0].list_id, base + 1); /* the first of its two lists */
    assert_true(a.rows[0].mailable && a.rows[1].mailable && a.rows[2].mailable);
    assert_non_null(strstr(a.rows[0].email, "@example.net"));
    assert_int_equal(store_run_tx(st, claim, &b), 0);
    assert_int_equal(b.n, 0); /* leased to node a */
    b.now = 101;              /* the lease has passed: claimed again */
    assert_int_equal(store_run_tx(st, claim, &b), 0);
    assert_int_equal(b.n, 3);

    assert_int_equal(store_run_tx(st, unsubscribe_first, &b), 0);
    /* a's lease is b's now: a's renewal says so, b's keeps every row */
    assert_int_equal(store_run_tx(st, renew, &a), 0);
    assert_true(!a.owned[0] && !a.owned[1] && !a.owned[2]);
    assert_int_equal(store_run_tx(st, renew, &b), 0);
    assert_true(b.owned[0] && b.owned[1] && b.owned[2]);
    assert_int_equal(store_run_tx(st, record, &a), 0); /* writes nothing, not even a bounce */
    assert_true(!a.applied[0] && !a.applied[1] && !a.applied[2]);
    assert_int_equal(a.bounces, 0);
    struct check_tx k = {.campaign = q.campaign};
    assert_int_equal(store_run_tx(st, check, &k), HERALD_OK);
    assert_false(k.finished);
    assert_int_equal(k.k.pending, 3);
    assert_int_equal(store_run_tx(st, record, &b), 0);
    assert_true(b.applied[0] && b.applied[1] && b.applied[2]);
    assert_int_equal(store_run_tx(st, check, &k), 0);
    assert_true(k.finished);
    assert_string_equal(k.status, "finished");
    assert_int_equal(k.k.sent, 1);
    assert_int_equal(k.k.bounced, 1);
    assert_int_equal(k.k.skipped, 1);
    assert_int_equal(k.k.pending, 0);
    assert_int_equal(k.k.sent_last_minute, 1);
    store_send_rows_free(a.rows, a.n);
    store_send_rows_free(b.rows, b.n);
    store_close(st);
}

/* ---------------- jobs due later (jobs_submit_at, jobs_submit_tx) ---------------- */

static int later_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *p)
{
    (void)arg;
    (void)p;
    *out = json_incref(raw);
    return HERALD_OK;
}

static int later_run(struct jobs_ctx *ctx)
{
    int64_t *ran_at = jobs_ctx_arg(ctx);
    *ran_at = clock_now_ms();
    return HERALD_OK;
}

static const struct jobs_kind later_kind = {
    .name = "later", .validate = later_validate, .run = later_run};

struct submit_tx {
    struct jobs *j;
    char id[40];
};

static int submit_then_fail(struct store_conn *c, void *arg)
{
    struct submit_tx *t = arg;
    struct jobs_problem p;
    json_t *raw = json_object();
    int rc = jobs_submit_tx(t->j, c, "later", raw, 0, t->id, &p);
    json_decref(raw);
    assert_int_equal(rc, 0);
    return HERALD_ERR_CONFLICT; /* rolled back: the job must not exist */
}

static void test_job_due_later(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct jobs_opts jo = {1, 30000, 3};
    struct jobs *j;
    int64_t ran_at = 0;
    assert_int_equal(jobs_new(st, &jo, &j), 0);
    assert_int_equal(jobs_register(j, &later_kind, &ran_at), 0);
    struct submit_tx t = {j, ""};
    assert_int_equal(store_run_tx(st, submit_then_fail, &t), HERALD_ERR_CONFLICT);
    struct jobs_info info;
    assert_int_equal(jobs_get(j, t.id, &info), HERALD_ERR_NOT_FOUND);
    char id[40];
    struct jobs_problem p;
    json_t *raw = json_object();
    int64_t due = clock_now_ms() + 1200;
    assert_int_equal(jobs_submit_at(j, "later", raw, due, id, &p), 0);
    json_decref(raw);
    assert_int_equal(jobs_start(j), 0);
    usleep(400 * 1000);
    assert_int_equal(jobs_get(j, id, &info), 0);
    assert_string_equal(info.status, "pending");
    jobs_info_clear(&info);
    for (int i = 0; i < 60 && !ran_at; i++)
        usleep(100 * 1000);
    assert_true(ran_at >= due);
    assert_true(ran_at < due + 2000);
    jobs_free(j);
    store_close(st);
}

static int setup_sqlite(void **state)
{
    (void)state;
    unit_sqlite_url("campaigns", db_url, sizeof(db_url));
    return 0;
}

static int setup_postgres(void **state)
{
    (void)state;
    snprintf(db_url, sizeof(db_url), "%s", getenv("HERALD_TEST_PG_URL"));
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pct_encode),
        cmocka_unit_test(test_rewrite_links),
        cmocka_unit_test_setup(test_send_queue, setup_sqlite),
        cmocka_unit_test_setup(test_job_due_later, setup_sqlite),
    };
    int failed = cmocka_run_group_tests_name("campaigns", tests, NULL, NULL);
    const char *pg = getenv("HERALD_TEST_PG_URL");
    if (pg && *pg) {
        const struct CMUnitTest on_pg[] = {cmocka_unit_test_setup(test_send_queue, setup_postgres)};
        failed += cmocka_run_group_tests_name("send queue on postgres", on_pg, NULL, NULL);
    }
    return failed;
}
