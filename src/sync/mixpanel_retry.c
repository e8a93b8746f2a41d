/* The "mixpanel_retry" job kind: imports the one event of a Mixpanel dead letter again, with
 * the forwarder's credentials; a refusal becomes a new dead letter, an outage a retry. */
#include "sync/mixpanel_retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/gzip.h"
#include "sync/http_client.h"

struct mixpanel_retry {
    struct hc_opts target; /* base URL and credentials, from mixpanel_import_target() */
    long timeout_ms;
    struct hc_limiter limiter;
    char path[256];
};

static int refuse(struct jobs_problem *p, const char *field, const char *msg)
{
    snprintf(p->field, sizeof(p->field), "%s", field);
    snprintf(p->message, sizeof(p->message), "%s", msg);
    return HERALD_ERR_INVALID;
}

/* {"deadLetterId": n, "payload": "<event JSON>"} → {"deadLetterId": n, "event": {...}}. */
static int validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem)
{
    (void)arg;
    *out = NULL;
    json_t *id = json_object_get(raw, "deadLetterId");
    const char *payload = json_string_value(json_object_get(raw, "payload"));
    if (!json_is_integer(id) || json_integer_value(id) <= 0)
        return refuse(problem, "deadLetterId", "deadLetterId must be a positive integer");
    json_t *event = payload ? json_loads(payload, 0, NULL) : NULL;
    if (!json_is_object(event) || !json_is_string(json_object_get(event, "event")) ||
        !json_is_object(json_object_get(event, "properties"))) {
        json_decref(event);
        return refuse(problem, "payload", "the dead letter holds no Mixpanel event");
    }
    *out = json_pack("{s:O, s:o}", "deadLetterId", id, "event", event);
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

/* Mixpanel's strict mode answered 400: the reason it gave, as a dead letter again. */
static void record_refusal(struct jobs_ctx *ctx, const char *body, const char *event)
{
    json_t *doc = json_loads(body ? body : "", 0, NULL);
    json_t *f = json_array_get(json_object_get(doc, "failed_records"), 0);
    char reason[300] = "rejected by Mixpanel (400 without failed_records)";
    if (f)
        snprintf(reason, sizeof(reason), "rejected by Mixpanel: %s %s",
                 json_string_value(json_object_get(f, "field")) ?: "",
                 json_string_value(json_object_get(f, "message")) ?: "");
    jobs_ctx_dead_letter(ctx, reason, "POST /import", event);
    json_decref(doc);
}

/* POSTs the gzip'd batch of one; decides what the answer means for the job. */
static int post_event(struct jobs_ctx *ctx, struct hc_client *http, const char *event,
                      const char *gz, size_t gz_len)
{
    struct mixpanel_retry *r = jobs_ctx_arg(ctx);
    struct hc_response resp;
    char error[160];
    int rc =
        hc_post(http, r->path, "application/json", "gzip", gz, gz_len, &resp, error, sizeof(error));
    long status = resp.status;
    if (rc && rc != HERALD_ERR_CANCELLED && status == 400) {
        record_refusal(ctx, resp.body.data, event);
        rc = HERALD_OK;
    } else if (rc && rc != HERALD_ERR_CANCELLED && status == 413) {
        jobs_ctx_dead_letter(ctx, "too large for Mixpanel even alone", "POST /import", event);
        rc = HERALD_OK;
    } else if (rc && rc != HERALD_ERR_CANCELLED) {
        bool credentials = status == 401 || status == 403;
        jobs_ctx_fail(ctx, credentials, "mixpanel: %s%s", error,
                      credentials ? " (check the Mixpanel credentials)" : "");
    }
    buf_free(&resp.body);
    return rc;
}

static int run(struct jobs_ctx *ctx)
{
    struct mixpanel_retry *r = jobs_ctx_arg(ctx);
    char *event = json_dumps(json_object_get(jobs_ctx_params(ctx), "event"), JSON_COMPACT);
    size_t len = event ? strlen(event) : 0;
    char *batch = event ? malloc(len + 3) : NULL, *gz = NULL;
    size_t gz_len = 0;
    int rc = batch ? HERALD_OK : HERALD_ERR_NOMEM;
    if (!rc) {
        snprintf(batch, len + 3, "[%s]", event);
        rc = gzip_compress(batch, len + 2, 6, &gz, &gz_len);
    }
    struct hc_opts ho = r->target;
    ho.limiter = &r->limiter;
    ho.timeout_ms = r->timeout_ms;
    ho.max_attempts = 3;
    ho.max_rate_limited = 10;
    ho.should_stop = jobs_ctx_should_stop;
    ho.stop_arg = ctx;
    struct hc_client *http = NULL;
    if (!rc && !(rc = hc_client_new(&ho, &http)))
        rc = post_event(ctx, http, event, gz, gz_len);
    hc_client_free(http);
    free(gz);
    free(batch);
    free(event);
    return rc;
}

const struct jobs_kind mixpanel_retry_job_kind = {
    .name = "mixpanel_retry",
    .validate = validate,
    .run = run,
    .dead_letter_kind = "mixpanel",
    .retries = "mixpanel",
};

enum herald_err mixpanel_retry_register(struct jobs *jobs, const struct mixpanel_opts *opts,
                                        struct mixpanel_retry **out)
{
    struct mixpanel_retry *r = calloc(1, sizeof(*r));
    if (!r)
        return HERALD_ERR_NOMEM;
    mixpanel_import_target(opts, &r->target, r->path, sizeof(r->path));
    r->timeout_ms = opts->timeout_ms;
    /* Mixpanel's ceiling is volume, not request count: the forwarder's budget. */
    struct cfg_rate rate = {1000, 1};
    hc_limiter_init(&r->limiter, &rate);
    int rc = jobs_register(jobs, &mixpanel_retry_job_kind, r);
    if (rc) {
        mixpanel_retry_free(r);
        return rc;
    }
    *out = r;
    return HERALD_OK;
}

void mixpanel_retry_free(struct mixpanel_retry *r)
{
    if (!r)
        return;
    hc_limiter_destroy(&r->limiter);
    free(r);
}
