/* The sync job kind: runs each platform of a job through its connector from the saved cursor,
 * over a window fixed when the job first ran; moves incremental watermarks once read. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "sync/connector.h"
#include "sync/http_client.h"
#include "sync/sync.h"

#define DAY_MS (86400LL * 1000)
#define INCREMENTAL_FIRST_LOOKBACK_MS (365 * DAY_MS)

/* With enableProgressTracking false no page is saved: the lease is renewed (with the progress
   saved when the job last stopped) and the progress is written when the job ends. */
static int checkpoint(struct sync_run *run)
{
    if (!run->track_progress)
        return jobs_ctx_keepalive(run->engine_arg);
    return jobs_ctx_checkpoint(run->engine_arg, run->force_checkpoint);
}

static void dead_letter(struct sync_run *run, const char *reason, const char *request,
                        const char *payload)
{
    jobs_ctx_dead_letter(run->engine_arg, reason, request, payload);
}

struct cursor_tx {
    const char *platform, *scope;
    char *value;
    int64_t now;
};

static int cursor_get_tx(struct store_conn *c, void *arg)
{
    struct cursor_tx *t = arg;
    free(t->value);
    t->value = NULL;
    int rc = store_cursor_get(c, t->platform, t->scope, &t->value);
    return rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc;
}

static int cursor_set_tx(struct store_conn *c, void *arg)
{
    struct cursor_tx *t = arg;
    return store_cursor_set(c, t->platform, t->scope, t->value, t->now);
}

static bool mode_is(json_t *params, const char *mode)
{
    const char *m = json_string_value(json_object_get(params, "syncMode"));
    return m && !strcmp(m, mode);
}

/* The window [lo, hi) of a job that has none saved yet. */
static int new_window(struct sync *s, json_t *params, const char *platform, const char *scope,
                      json_t **out)
{
    int64_t now = clock_now_ms(), lo = 0, hi = now;
    bool has_lo = false;
    if (mode_is(params, "date_range")) {
        const char *start = json_string_value(json_object_get(params, "startDate"));
        const char *end = json_string_value(json_object_get(params, "endDate"));
        if (!start || !end || clock_parse_iso(start, &lo) || clock_parse_iso(end, &hi))
            return HERALD_ERR_INVALID;
        hi += DAY_MS; /* inclusive end day */
        has_lo = true;
    } else if (mode_is(params, "incremental")) {
        struct cursor_tx t = {platform, scope, NULL, 0};
        int rc = store_run_read(sync_store(s), cursor_get_tx, &t);
        if (rc)
            return rc;
        lo = t.value ? strtoll(t.value, NULL, 10) : now - INCREMENTAL_FIRST_LOOKBACK_MS;
        free(t.value);
        has_lo = true;
    }
    *out = json_pack("{s:b, s:I, s:I}", "hasMin", has_lo, "min", (json_int_t)lo, "max",
                     (json_int_t)hi);
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

/* The window is fixed the first time a job runs and saved, so a resumed job reads the same. */
static int job_window(struct sync *s, json_t *params, struct sync_run *run, const char *scope)
{
    json_t *win = json_object_get(run->state, "_window");
    if (!win) {
        int rc = new_window(s, params, run->platform, scope, &win);
        if (rc)
            return rc;
        json_object_set_new(run->state, "_window", win);
    }
    run->has_min = json_is_true(json_object_get(win, "hasMin"));
    run->min_ms = json_integer_value(json_object_get(win, "min"));
    run->max_ms = json_integer_value(json_object_get(win, "max"));
    return HERALD_OK;
}

static void update_percent(json_t *progress)
{
    json_t *platforms = json_object_get(progress, "platforms");
    double sum = 0;
    size_t n = 0;
    const char *name;
    json_t *p;
    json_object_foreach(platforms, name, p)
    {
        json_int_t total = json_integer_value(json_object_get(p, "campaignsTotal"));
        json_int_t done = json_integer_value(json_object_get(p, "campaignsDone"));
        sum += json_is_true(json_object_get(p, "done")) ? 100.0
               : total > 0                              ? 100.0 * (double)done / (double)total
                                                        : 0.0;
        n++;
    }
    json_object_set_new(progress, "percent", json_real(n ? (double)(long)(sum / n * 10) / 10 : 0));
}

/* The whole window is read: mark the platform done and, for an incremental sync, move the
   watermark (only now: the feed is newest first). */
static int platform_done(struct sync *s, json_t *params, const struct sync_run *run)
{
    json_object_set_new(run->state, "done", json_true());
    if (!run->has_min || !mode_is(params, "incremental"))
        return HERALD_OK;
    char value[24];
    snprintf(value, sizeof(value), "%lld", (long long)run->max_ms);
    struct cursor_tx t = {run->platform, run->namespace_ ? run->namespace_ : "", value,
                          clock_now_ms()};
    return store_run_tx(sync_store(s), cursor_set_tx, &t);
}

static int run_platform(struct jobs_ctx *ctx, const struct sync_connector *c, json_t *pstate)
{
    struct sync *s = jobs_ctx_arg(ctx);
    json_t *params = jobs_ctx_params(ctx);
    const char *ns = json_string_value(json_object_get(params, "namespace"));
    struct sync_run run = {
        .job_id = jobs_ctx_id(ctx),
        .platform = c->platform,
        .namespace_ = ns,
        .campaign_ids = json_object_get(params, "campaignIds"),
        .state = pstate,
        .track_progress = !json_is_false(json_object_get(params, "enableProgressTracking")),
        .ingest = sync_ingest(s),
        .checkpoint = checkpoint,
        .dead_letter = dead_letter,
        .engine_arg = ctx,
    };
    int rc = job_window(s, params, &run, ns ? ns : "");
    struct hc_opts ho;
    sync_http_opts(s, c->platform, &ho);
    ho.timeout_ms = sync_timeout_ms(s);
    ho.max_attempts = 6;
    ho.max_rate_limited = 50;
    ho.should_stop = jobs_ctx_should_stop;
    ho.stop_arg = ctx;
    if (!rc && !(rc = hc_client_new(&ho, &run.http))) {
        rc = sync_run_campaigns(&run, c->fetch_campaigns, c->fetch_page, c->page_size);
        hc_client_free(run.http);
    }
    if (!rc)
        rc = platform_done(s, params, &run);
    int record = sync_record_run(s, c->platform,
                                 !rc                          ? SYNC_COMPLETED
                                 : rc == HERALD_ERR_CANCELLED ? SYNC_CANCELLED
                                                              : SYNC_FAILED);
    if (record)
        log_warn("cannot record a sync outcome",
                 json_pack("{s:s}", "error", herald_strerror(record)));
    if (rc && rc != HERALD_ERR_CANCELLED)
        jobs_ctx_fail(ctx, run.permanent, "%s: %s", c->platform,
                      run.error[0] ? run.error : herald_strerror(rc));
    return rc;
}

/* The progress entry of one platform, created with zero counters the first time. */
static json_t *platform_state(json_t *progress, const char *platform)
{
    json_t *platforms = json_object_get(progress, "platforms");
    json_t *pstate = json_object_get(platforms, platform);
    if (!pstate) {
        pstate =
            json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "campaignsTotal", 0, "campaignsDone", 0,
                      "pagesFetched", 0, "eventsSeen", 0, "eventsStored", 0, "duplicates", 0);
        json_object_set_new(platforms, platform, pstate);
    }
    return pstate;
}

static int run_sync_job(struct jobs_ctx *ctx)
{
    struct sync *s = jobs_ctx_arg(ctx);
    json_t *progress = jobs_ctx_progress(ctx);
    int rc = HERALD_OK;
    if (!json_object_get(progress, "platforms"))
        json_object_set_new(progress, "platforms", json_object());
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(jobs_ctx_params(ctx), "platforms"), i, p)
    {
        const struct sync_connector *c = sync_connector_find(json_string_value(p));
        if (!c) {
            jobs_ctx_fail(ctx, true, "%s: no such platform", json_string_value(p));
            rc = HERALD_ERR_INVALID;
            break;
        }
        json_t *pstate = platform_state(progress, c->platform);
        if (json_is_true(json_object_get(pstate, "done")))
            continue;
        if (!sync_platform_configured(s, c->platform)) {
            jobs_ctx_fail(ctx, false, "%s: no credentials configured on this node", c->platform);
            rc = HERALD_ERR_PLATFORM_NOT_CONFIGURED;
            break;
        }
        rc = run_platform(ctx, c, pstate);
        update_percent(progress);
        if (rc)
            break;
    }
    update_percent(progress);
    return rc;
}

/* The public view: progress without the connectors' private cursors. */
static json_t *progress_view(json_t *saved)
{
    json_t *progress = json_deep_copy(saved);
    json_t *platforms = json_object_get(progress, "platforms");
    const char *name;
    json_t *p;
    json_object_foreach(platforms, name, p)
    {
        json_object_del(p, "_cursor");
        json_object_del(p, "_window");
    }
    if (!json_object_get(progress, "percent"))
        json_object_set_new(progress, "percent", json_integer(0));
    if (!platforms)
        json_object_set_new(progress, "platforms", json_object());
    return progress;
}

const struct jobs_kind sync_job_kind = {
    .name = "sync",
    .validate = sync_params_validate,
    .run = run_sync_job,
    .progress = progress_view,
};
