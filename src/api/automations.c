/* Owns /api/automations: create, list, read, patch, delete the stay-triggered automations and
 * list their sends (parse → ota/automations.h → reply); wiring of guests and automations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "jobs/jobs.h"
#include "mail/sender.h"
#include "mail/transport.h"
#include "ota/automations.h"
#include "ota/guests.h"

#define RULES_TAG "aut1"  /* cursors read "aut1:<id>" */
#define SENDS_TAG "auts1" /* cursors read "auts1:<id>" */

/* The {id} of the path; answers 404 itself for one that is not a positive integer. */
static bool path_id(struct http_request *req, int64_t *id)
{
    if (api_positive_id(http_req_param(req, "id"), id))
        return true;
    http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such automation", NULL);
    return false;
}

static enum http_result reply_view(struct http_request *req, int status, json_t *view)
{
    json_object_set_new(view, "success", json_true());
    http_reply_json(req, status, view);
    return HTTP_REPLIED;
}

static enum http_result fail(struct http_request *req, int rc, const struct herald_error *err)
{
    if (rc == HERALD_ERR_NOT_FOUND && (!err || !err->field[0])) {
        http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such automation", NULL);
        return HTTP_REPLIED;
    }
    if (err && err->code == (enum herald_err)rc && rc)
        return api_fail_err(req, err);
    return api_fail(req, rc);
}

enum http_result api_automations_create(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    json_t *doc, *view = NULL;
    if (http_parse_json(req, NULL, 0, &doc))
        return HTTP_REPLIED;
    struct herald_error err = {0};
    int rc = ota_automation_create(app->automations, doc, &view, &err);
    json_decref(doc);
    return rc ? fail(req, rc, &err) : reply_view(req, 201, view);
}

enum http_result api_automations_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int limit;
    int64_t after;
    if (!api_page_args(req, RULES_TAG, &limit, &after))
        return HTTP_REPLIED;
    json_t *arr;
    int64_t next = 0;
    int rc = ota_automation_list(app->automations, after, limit, &arr, &next);
    if (rc)
        return api_fail(req, rc);
    return api_reply_page(req, "automations", arr, RULES_TAG, next, limit);
}

enum http_result api_automations_get(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!path_id(req, &id))
        return HTTP_REPLIED;
    json_t *view;
    int rc = ota_automation_get(app->automations, id, &view);
    return rc ? fail(req, rc, NULL) : reply_view(req, 200, view);
}

enum http_result api_automations_update(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    json_t *doc, *view = NULL;
    if (!path_id(req, &id) || http_parse_json(req, NULL, 0, &doc))
        return HTTP_REPLIED;
    struct herald_error err = {0};
    int rc = ota_automation_update(app->automations, id, doc, &view, &err);
    json_decref(doc);
    return rc ? fail(req, rc, &err) : reply_view(req, 200, view);
}

enum http_result api_automations_delete(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!path_id(req, &id))
        return HTTP_REPLIED;
    int rc = ota_automation_delete(app->automations, id);
    if (rc)
        return fail(req, rc, NULL);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:I, s:b}", "success", 1, "id", (json_int_t)id, "deleted", 1));
    return HTTP_REPLIED;
}

enum http_result api_automations_sends(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id, before;
    int limit;
    if (!path_id(req, &id) || !api_page_args(req, SENDS_TAG, &limit, &before))
        return HTTP_REPLIED;
    json_t *arr;
    int64_t next = 0;
    int rc = ota_automation_sends(app->automations, id, before, limit, &arr, &next);
    if (rc)
        return fail(req, rc, NULL);
    char c[64];
    if (next)
        api_id_cursor_encode(SENDS_TAG, next, c);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:I, s:o, s:o, s:i}", "success", 1, "automationId",
                              (json_int_t)id, "sends", arr, "nextCursor",
                              next ? json_string(c) : json_null(), "limit", limit));
    return HTTP_REPLIED;
}

/* ---------------- wiring (called by cli/serve.c) ---------------- */

static void wake_sender(void *arg)
{
    struct app *app = arg;
    if (app->mail_sender)
        mail_sender_wake(app->mail_sender);
}

enum herald_err api_automations_start(struct app *app)
{
    const struct cfg *cfg = &app->cfg;
    struct ota_automations_opts ao = {
        .store = app->store,
        .jobs = app->jobs,
        .mail_from = cfg->mail_from,
        .relay_domains = cfg->ota_relay_domains,
        .send_hour = cfg->automation_send_hour,
        .tick_seconds = cfg->automation_tick_s,
        .clock_offset_ms = (int64_t)cfg->automation_clock_offset_s * 1000,
        .sending_configured =
            mail_transport_configured(app->mail_transport) && cfg->postal_address[0] != '\0',
        .wake = wake_sender,
        .wake_arg = app,
    };
    int rc = ota_automations_start(&ao, &app->automations);
    struct ota_guests_opts go = {cfg->ota_relay_domains, app->jobs, app->automations};
    if (!rc)
        rc = ota_guests_new(&go, &app->guests);
    if (!rc && app->ota_reservations) {
        struct ota_revision_hook hook = ota_guests_hook(app->guests);
        ota_reservations_set_hook(app->ota_reservations, &hook);
    }
    return rc;
}

void api_automations_stop(struct app *app)
{
    ota_guests_free(app->guests);
    app->guests = NULL;
    ota_automations_free(app->automations);
    app->automations = NULL;
}
