/* Owns /api/campaigns: create, list, read, patch, delete, send, pause, resume, cancel and test
 * sends (parse → mail/campaigns.h → reply), and the sender's lines of /metrics. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/crypto.h"
#include "mail/campaigns.h"
#include "mail/sender.h"
#include "mail/transport.h"

#define CURSOR_TAG "cmp1" /* cursors read "cmp1:<id>" */

/* The {id} of the path; answers 404 itself for one that is not a positive integer. */
static bool path_id(struct http_request *req, int64_t *id)
{
    const char *s = http_req_param(req, "id");
    char *end = NULL;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || v <= 0) {
        http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such campaign", NULL);
        return false;
    }
    *id = v;
    return true;
}

static enum http_result reply_campaign(struct http_request *req, int status, json_t *view)
{
    json_object_set_new(view, "success", json_true());
    http_reply_json(req, status, view);
    return HTTP_REPLIED;
}

static enum http_result fail(struct http_request *req, int rc, const struct herald_error *err)
{
    if (err->code == (enum herald_err)rc && rc)
        return api_fail_err(req, err);
    return api_fail(req, rc);
}

enum http_result api_campaigns_create(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    json_t *doc, *view = NULL;
    if (http_parse_json(req, NULL, 0, &doc))
        return HTTP_REPLIED;
    struct herald_error err = {0};
    int rc = mail_campaign_create(app->mail_campaigns, doc, &view, &err);
    json_decref(doc);
    return rc ? fail(req, rc, &err) : reply_campaign(req, 201, view);
}

enum http_result api_campaigns_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int limit;
    int64_t before;
    if (!api_page_args(req, CURSOR_TAG, &limit, &before))
        return HTTP_REPLIED;
    json_t *arr;
    int64_t next = 0;
    int rc = mail_campaign_list(app->mail_campaigns, before, limit, &arr, &next);
    if (rc)
        return api_fail(req, rc);
    return api_reply_page(req, "campaigns", arr, CURSOR_TAG, next, limit);
}

enum http_result api_campaigns_get(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!path_id(req, &id))
        return HTTP_REPLIED;
    json_t *view;
    int rc = mail_campaign_get(app->mail_campaigns, id, &view);
    return rc ? api_fail(req, rc) : reply_campaign(req, 200, view);
}

enum http_result api_campaigns_update(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    json_t *doc, *view = NULL;
    if (!path_id(req, &id) || http_parse_json(req, NULL, 0, &doc))
        return HTTP_REPLIED;
    struct herald_error err = {0};
    int rc = mail_campaign_update(app->mail_campaigns, id, doc, &view, &err);
    json_decref(doc);
    return rc ? fail(req, rc, &err) : reply_campaign(req, 200, view);
}

enum http_result api_campaigns_delete(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!path_id(req, &id))
        return HTTP_REPLIED;
    struct herald_error err = {0};
    int rc = mail_campaign_delete(app->mail_campaigns, id, &err);
    if (rc)
        return fail(req, rc, &err);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:I, s:b}", "success", 1, "id", (json_int_t)id, "deleted", 1));
    return HTTP_REPLIED;
}

enum http_result api_campaigns_send(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!path_id(req, &id))
        return HTTP_REPLIED;
    struct herald_error err = {0};
    json_t *view;
    int rc = mail_campaign_send(app->mail_campaigns, id, &view, &err);
    return rc ? fail(req, rc, &err) : reply_campaign(req, 202, view);
}

typedef enum herald_err (*move_fn)(struct mail_campaigns *m, int64_t id, struct herald_error *err);

static enum http_result move(struct http_request *req, struct app *app, move_fn fn)
{
    int64_t id;
    if (!path_id(req, &id))
        return HTTP_REPLIED;
    struct herald_error err = {0};
    json_t *view;
    int rc = fn(app->mail_campaigns, id, &err);
    if (!rc)
        rc = mail_campaign_get(app->mail_campaigns, id, &view);
    return rc ? fail(req, rc, &err) : reply_campaign(req, 200, view);
}

enum http_result api_campaigns_pause(struct http_request *req, void *ctx)
{
    return move(req, ctx, mail_campaign_pause);
}

enum http_result api_campaigns_resume(struct http_request *req, void *ctx)
{
    return move(req, ctx, mail_campaign_resume);
}

enum http_result api_campaigns_cancel(struct http_request *req, void *ctx)
{
    return move(req, ctx, mail_campaign_cancel);
}

enum http_result api_campaigns_test(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    json_t *doc, *emails = NULL;
    const struct http_field spec[] = {{"emails", HF_STRINGS, true, 1, 10, &emails}};
    if (!path_id(req, &id) || http_parse_json(req, spec, 1, &doc))
        return HTTP_REPLIED;
    const char *list[10];
    size_t n = json_is_string(emails) ? 1 : json_array_size(emails);
    for (size_t i = 0; i < n && i < 10; i++)
        list[i] = json_string_value(json_is_string(emails) ? emails : json_array_get(emails, i));
    struct herald_error err = {0};
    int rc = mail_campaign_test(app->mail_campaigns, id, list, n, &err);
    json_decref(doc);
    if (rc)
        return fail(req, rc, &err);
    http_reply_json(
        req, 200, json_pack("{s:b, s:I, s:i}", "success", 1, "id", (json_int_t)id, "sent", (int)n));
    return HTTP_REPLIED;
}

/* ---------------- wiring (called by cli/serve.c) ---------------- */

enum herald_err api_campaigns_start(struct app *app)
{
    const struct cfg *cfg = &app->cfg;
    int rc = HERALD_OK;
    if (mail_transport_configured(app->mail_transport)) {
        struct mail_sender_opts so = {
            .store = app->store,
            .transport = app->mail_transport,
            .keys = &app->mail_keys,
            .node = jobs_node(app->jobs),
            .public_url = cfg->public_url,
            .postal_address = cfg->postal_address,
            .bounce_domain = cfg->bounce_domain,
            .workers = cfg->smtp_workers,
            .batch = cfg->send_batch,
            .retries = cfg->smtp_retries,
            .lease_ms = (int64_t)cfg->job_lease_seconds * 1000,
            .smtp_timeout_ms = cfg->smtp_timeout_ms,
        };
        rc = mail_sender_start(&so, &app->mail_sender);
    }
    struct mail_campaigns_opts co = {
        .store = app->store,
        .jobs = app->jobs,
        .keys = &app->mail_keys,
        .transport = app->mail_transport,
        .public_url = cfg->public_url,
        .postal_address = cfg->postal_address,
        .smtp_url = cfg->smtp_url,
        .bounce_domain = cfg->bounce_domain,
        .mail_from = cfg->mail_from,
        .sender = app->mail_sender,
    };
    if (!rc)
        rc = mail_campaigns_new(&co, &app->mail_campaigns);
    if (!rc)
        rc = jobs_register(app->jobs, &mail_campaign_start_kind, app->mail_campaigns);
    return rc;
}

void api_campaigns_stop(struct app *app)
{
    mail_sender_stop(app->mail_sender); /* before the transport closes */
    app->mail_sender = NULL;
    mail_campaigns_free(app->mail_campaigns);
    app->mail_campaigns = NULL;
}
