/* The plans and timings of the event queries at a realistic size. Fills the database named by
 * the URL (once) with EVENTS events shaped like a year of outreach activity, then prints for
 * every filter GET /api/events offers, for Mixpanel forwarding and for the dedupe insert the
 * statement the store picks, the plan the database chooses (PostgreSQL: custom and generic
 * plan, since prepared statements switch to the generic one after five runs) and the median
 * and slowest of 11 runs of the real store call.
 * A diagnostic tool: it reads the statement registry through store/internal.h. With "fill"
 * it only fills (bench/events_list.py serves the result).
 * usage: query_plans DATABASE_URL [EVENTS [fill]]   (EVENTS: default 1,000,000) */
#include <inttypes.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "events/key.h"
#include "store/internal.h"

#define RUNS 11
#define FILL_BATCH 5000
#define DAY_MS 86400000LL
#define T0_MS 1704067200000LL /* 2024-01-01 */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---------------- filling ---------------- */

struct fill_row {
    struct evkey_fields f;
    char key[EVKEY_MAX_LEN];
    char payload[32];
};

/* One event of a year of activity: mostly Lemlist and Smartlead, 300 campaigns each active
 * for a stretch of the year, skewed event types, 100,000 leads, namespaces mostly unset. */
static void make_event(long i, long total, struct fill_row *r, struct store_event *ev)
{
    static const char *types[] = {"sent",    "sent",    "sent",    "sent",
                                  "opened",  "opened",  "opened",  "clicked",
                                  "clicked", "replied", "bounced", "interested"};
    static const char *spaces[] = {"ns-a", "ns-b", "ns-c", "ns-d"};
    uint64_t x = next_rand();
    unsigned p = (unsigned)(x % 100);
    const char *platform = p < 55 ? "lemlist" : p < 95 ? "smartlead" : p < 99 ? "ota" : "herald";
    long campaign = i * 300 / total + (long)((x >> 8) % 10);
    const char *type = (x >> 16) % 100 == 0 ? "unsubscribed" : types[(x >> 24) % 12];
    int64_t created = T0_MS + (int64_t)((double)i * 365.0 * DAY_MS / (double)total);
    char email[64], camp[32], source[32];
    snprintf(email, sizeof(email), "lead%" PRIu64 "@example.com", (x >> 32) % 100000);
    snprintf(camp, sizeof(camp), "cam_%ld", campaign);
    snprintf(source, sizeof(source), "act_%ld", i);
    unsigned ns = (unsigned)((x >> 40) % 100);
    struct evkey_input in = {platform, camp, type, email, source, NULL, NULL};
    struct evkey_problem problem;
    evkey_validate(&in, &r->f, &problem);
    r->f.has_occurred_at = true;
    r->f.occurred_at_ms = created - (int64_t)((x >> 48) % (30 * DAY_MS / 1000)) * 1000;
    if (ns >= 70) {
        r->f.has_namespace = true;
        snprintf(r->f.namespace_, sizeof(r->f.namespace_), "%s",
                 ns == 99 ? "ns-e" : spaces[ns % 4]);
    }
    evkey_compute(&r->f, r->key);
    snprintf(r->payload, sizeof(r->payload), "{\"i\":%ld}", i);
    *ev = (struct store_event){.event_key = r->key,
                               .platform = r->f.platform,
                               .campaign_id = r->f.campaign_id,
                               .event_type = r->f.event_type,
                               .email = r->f.email,
                               .source_id = r->f.source_id,
                               .namespace_ = r->f.has_namespace ? r->f.namespace_ : NULL,
                               .payload = r->payload,
                               .has_occurred_at = true,
                               .occurred_at_ms = r->f.occurred_at_ms,
                               .created_at_ms = created};
}

struct fill {
    struct fill_row *rows;
    struct store_event *evs;
    const struct store_event **ptrs;
    bool *created;
    size_t n;
};

static int fill_tx(struct store_conn *c, void *arg)
{
    struct fill *f = arg;
    return store_event_insert_many(c, f->ptrs, f->n, f->created, NULL);
}

/* Events already stored, from the catalogue (exact counts on both backends). */
static int count_events(struct store *st, int64_t *have)
{
    struct store_catalogue cat;
    int rc = store_catalogue_report(st, &cat);
    for (size_t i = 0; !rc && i < cat.ntables; i++)
        if (!strcmp(cat.tables[i].name, "event_source"))
            *have = cat.tables[i].rows;
    if (!rc)
        store_catalogue_free(&cat);
    return rc;
}

static int fill(struct store *st, long total)
{
    int64_t have = 0;
    int rc = count_events(st, &have);
    if (rc || have >= total)
        return rc;
    struct fill f = {calloc(FILL_BATCH, sizeof(*f.rows)), calloc(FILL_BATCH, sizeof(*f.evs)),
                     calloc(FILL_BATCH, sizeof(*f.ptrs)), calloc(FILL_BATCH, sizeof(bool)), 0};
    fprintf(stderr, "filling %ld events...\n", total);
    for (long done = 0; !rc && done < total; done += FILL_BATCH) {
        f.n = (size_t)(total - done < FILL_BATCH ? total - done : FILL_BATCH);
        for (size_t i = 0; i < f.n; i++) {
            make_event(done + (long)i, total, &f.rows[i], &f.evs[i]);
            f.ptrs[i] = &f.evs[i];
        }
        rc = store_run_tx(st, fill_tx, &f);
    }
    free(f.rows);
    free(f.evs);
    free(f.ptrs);
    free(f.created);
    return rc;
}

/* ---------------- plans ---------------- */

/* The nine parameters of the list statements, as SQL literals for EXPLAIN EXECUTE. */
static void list_literals(const struct store_event_filter *f, char *out, size_t size)
{
    const char *texts[] = {f->platform, f->campaign_id, f->event_type, f->email, f->namespace_};
    size_t n = 0;
    for (int i = 0; i < 5; i++)
        n += (size_t)snprintf(out + n, size - n, texts[i] ? "'%s'," : "NULL,",
                              texts[i] ? texts[i] : "");
    int64_t ints[] = {f->from_ms, f->to_ms, f->before_id};
    bool has[] = {f->has_from, f->has_to, f->has_before_id};
    for (int i = 0; i < 3; i++)
        n += (size_t)(has[i] ? snprintf(out + n, size - n, "%" PRId64 ",", ints[i])
                             : snprintf(out + n, size - n, "NULL,"));
    snprintf(out + n, size - n, "%d", f->limit);
}

static void plan_sqlite(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *stmt;
    char *text = malloc(strlen(sql) + 32);
    sprintf(text, "EXPLAIN QUERY PLAN %s", sql);
    for (char *p = text; *p; p++)
        if (*p == '$')
            *p = '?';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, text, -1, &stmt, NULL) == SQLITE_OK) {
        while (sqlite3_step(stmt) == SQLITE_ROW)
            printf("    plan: %s\n", (const char *)sqlite3_column_text(stmt, 3));
        sqlite3_finalize(stmt);
    } else {
        printf("    plan: (error: %s)\n", sqlite3_errmsg(db));
    }
    sqlite3_close(db);
    free(text);
}

static void explain_pg(PGconn *pg, const char *mode, const char *literals)
{
    char sql[4200];
    snprintf(sql, sizeof(sql), "SET plan_cache_mode = %s", mode);
    PQclear(PQexec(pg, sql));
    snprintf(sql, sizeof(sql), "EXPLAIN (COSTS OFF) EXECUTE qp(%s)", literals);
    PGresult *res = PQexec(pg, sql);
    printf("    %s:", strstr(mode, "custom") ? "custom " : "generic");
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        for (int i = 0; i < PQntuples(res); i++) {
            const char *line = PQgetvalue(res, i, 0);
            while (*line == ' ')
                line++;
            printf("%s %s", i ? " |" : "", line);
        }
        printf("\n");
    } else {
        printf(" (error: %s)\n", PQerrorMessage(pg));
    }
    PQclear(res);
}

static void plan_pg(PGconn *pg, const char *sql, const char *literals)
{
    PQclear(PQexec(pg, "DEALLOCATE ALL"));
    PGresult *res = PQprepare(pg, "qp", sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        printf("    (prepare failed: %s)\n", PQerrorMessage(pg));
    PQclear(res);
    explain_pg(pg, "force_custom_plan", literals);
    explain_pg(pg, "force_generic_plan", literals);
}

struct target {
    const char *url;
    enum store_dialect dialect;
    PGconn *pg;
};

static void show_plan(const struct target *t, enum store_stmt id, const char *literals)
{
    const char *sql = store_stmt_sql(id, t->dialect);
    if (t->dialect == DIALECT_SQLITE)
        plan_sqlite(t->url + strlen("sqlite:"), sql);
    else
        plan_pg(t->pg, sql, literals);
}

/* ---------------- timing ---------------- */

struct list_call {
    const struct store_event_filter *f;
    size_t count;
};

static int list_tx(struct store_conn *c, void *arg)
{
    struct list_call *call = arg;
    struct store_event *rows;
    int rc = store_event_list(c, call->f, &rows, &call->count);
    if (!rc)
        store_events_free(rows, call->count);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Runs fn RUNS times; prints the median and the slowest in ms. */
static void time_runs(struct store *st, store_fn fn, void *arg, bool write)
{
    int64_t ns[RUNS];
    for (int i = 0; i < RUNS; i++) {
        int64_t t0 = clock_mono_ns();
        int rc = write ? store_run_tx(st, fn, arg) : store_run_read(st, fn, arg);
        ns[i] = clock_mono_ns() - t0;
        if (rc)
            printf("    (failed: %s)\n", herald_strerror((enum herald_err)rc));
    }
    qsort(ns, RUNS, sizeof(ns[0]), cmp_i64);
    printf("    time: median %.2f ms, slowest %.2f ms", (double)ns[RUNS / 2] / 1e6,
           (double)ns[RUNS - 1] / 1e6);
}

struct list_case {
    const char *name;
    struct store_event_filter f;
};

static void run_list_cases(const struct target *t, struct store *st, long total)
{
    const struct list_case cases[] = {
        {"newest page", {.limit = 50}},
        {"cursor halfway down", {.limit = 50, .has_before_id = true, .before_id = total / 2}},
        {"platform=ota (4%)", {.limit = 50, .platform = "ota"}},
        {"platform=herald (1%)", {.limit = 50, .platform = "herald"}},
        {"campaignId of January", {.limit = 50, .campaign_id = "cam_5"}},
        {"campaignId of December", {.limit = 50, .campaign_id = "cam_295"}},
        {"platform+campaignId", {.limit = 50, .platform = "smartlead", .campaign_id = "cam_150"}},
        {"campaignId+eventType", {.limit = 50, .campaign_id = "cam_150", .event_type = "replied"}},
        {"eventType=opened", {.limit = 50, .event_type = "opened"}},
        {"eventType=unsubscribed (1%)", {.limit = 50, .event_type = "unsubscribed"}},
        {"email", {.limit = 50, .email = "lead4242@example.com"}},
        {"email+platform", {.limit = 50, .email = "lead4242@example.com", .platform = "lemlist"}},
        {"namespace=ns-a (7%)", {.limit = 50, .namespace_ = "ns-a"}},
        {"namespace=ns-e (1%)", {.limit = 50, .namespace_ = "ns-e"}},
        {"namespace matching nothing", {.limit = 50, .namespace_ = "nope"}},
        {"from/to: one day in June",
         {.limit = 50,
          .has_from = true,
          .from_ms = T0_MS + 160 * DAY_MS,
          .has_to = true,
          .to_ms = T0_MS + 161 * DAY_MS}},
        {"from: last week", {.limit = 50, .has_from = true, .from_ms = T0_MS + 358 * DAY_MS}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct list_case *lc = &cases[i];
        enum store_stmt id = store_event_list_stmt(&lc->f);
        char literals[1024];
        list_literals(&lc->f, literals, sizeof(literals));
        printf("GET /api/events %s  [statement %d]\n", lc->name, (int)id);
        show_plan(t, id, literals);
        struct list_call call = {&lc->f, 0};
        time_runs(st, list_tx, &call, false);
        printf(", %zu rows\n", call.count);
    }
}

struct fwd_call {
    int64_t after_id;
    size_t count;
    int64_t lag;
};

static int after_tx(struct store_conn *c, void *arg)
{
    struct fwd_call *call = arg;
    struct store_event *rows;
    int rc = store_events_after(c, call->after_id, INT64_MAX / 2, 2000, &rows, &call->count);
    if (!rc)
        store_events_free(rows, call->count);
    return rc;
}

static int lag_tx(struct store_conn *c, void *arg)
{
    struct fwd_call *call = arg;
    int64_t oldest;
    return store_events_lag(c, call->after_id, &call->lag, &oldest);
}

static int dedupe_tx(struct store_conn *c, void *arg)
{
    bool created;
    return store_event_insert(c, arg, &created);
}

static void run_other_cases(const struct target *t, struct store *st, long total)
{
    struct fwd_call call = {total - 10000, 0, 0};
    char literals[512];
    snprintf(literals, sizeof(literals), "%" PRId64 ", %" PRId64 ", 2000", call.after_id,
             INT64_MAX / 2);
    printf("forwarding: store_events_after (2,000 rows past a cursor)\n");
    show_plan(t, STMT_EVENTS_AFTER, literals);
    time_runs(st, after_tx, &call, false);
    printf(", %zu rows\n", call.count);
    snprintf(literals, sizeof(literals), "%" PRId64, call.after_id);
    printf("forwarding: store_events_lag (10,000 events behind)\n");
    show_plan(t, STMT_EVENTS_LAG, literals);
    time_runs(st, lag_tx, &call, false);
    printf(", lag %" PRId64 "\n", call.lag);
    /* Event 42 again: the unique index answers the conflict. */
    rng = 0x9E3779B97F4A7C15ULL;
    struct fill_row row;
    struct store_event ev;
    for (long i = 0; i <= 42; i++)
        make_event(i, total, &row, &ev);
    printf("dedupe: store_event_insert of a stored key (ON CONFLICT DO NOTHING)\n");
    snprintf(literals, sizeof(literals),
             "'%s','lemlist','c','t','e',NULL,NULL,NULL,NULL,%" PRId64 ",%" PRId64, row.key,
             ev.created_at_ms, ev.created_at_ms);
    if (t->dialect == DIALECT_SQLITE) /* SQLite explains no INSERT: show the conflict probe */
        plan_sqlite(t->url + strlen("sqlite:"), "SELECT 1 FROM event_source WHERE event_key = $1");
    else
        show_plan(t, STMT_EVENT_INSERT, literals);
    time_runs(st, dedupe_tx, &ev, true);
    printf("\n");
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

int main(int argc, char **argv)
{
    bool fill_only = argc == 4 && strcmp(argv[3], "fill") == 0;
    if (argc < 2 || argc > 4 || (argc == 4 && !fill_only)) {
        fprintf(stderr, "usage: query_plans DATABASE_URL [EVENTS [fill]]\n");
        return 2;
    }
    long total = argc >= 3 ? atol(argv[2]) : 1000000;
    struct target t = {
        argv[1], strncmp(argv[1], "sqlite:", 7) == 0 ? DIALECT_SQLITE : DIALECT_POSTGRES, NULL};
    struct store_opts opts = {argv[1], 1, 2, false};
    struct store *st;
    int n;
    if (store_open(&opts, &st) || store_migrate_up(st, &n) || fill(st, total)) {
        fprintf(stderr, "query_plans: cannot open or fill %s\n", argv[1]);
        return 1;
    }
    if (t.dialect == DIALECT_POSTGRES) {
        t.pg = PQconnectdb(argv[1]);
        PQsetNoticeProcessor(t.pg, quiet, NULL);
        PQclear(PQexec(t.pg, "ANALYZE event_source")); /* what autovacuum would have done */
    }
    if (fill_only) {
        PQfinish(t.pg);
        store_close(st);
        return 0;
    }
    printf("%s, %ld events\n", t.dialect == DIALECT_SQLITE ? "SQLite" : "PostgreSQL", total);
    run_list_cases(&t, st, total);
    run_other_cases(&t, st, total);
    PQfinish(t.pg);
    store_close(st);
    return 0;
}
