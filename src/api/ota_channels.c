/* Owns /api/ota/channels: create, list, read, change, delete OTA channels (credentials only
 * ever shown as "set"), and POST /api/ota/channels/{id}/validate with per-check results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "ota/channels.h"

static json_t *time_or_null(int64_t ms)
{
    return ms > 0 ? api_time(ms) : json_null();
}

static json_t *set_or_null(const char *secret)
{
    return secret[0] ? json_string("set") : json_null();
}

static json_t *text_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

static json_t *channel_json(const struct ota_channel_view *v)
{
    const struct ota_channel *ch = &v->ch;
    bool pull = ch->mode == OTA_MODE_PULL;
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:i, s:b, s:b, s:{s:o, s:o, s:o}, s:o, s:o, s:o, "
        "s:o, s:o, s:o}",
        "id", (json_int_t)ch->id, "name", ch->name, "type", ota_channel_type_name(ch->type), "mode",
        ota_channel_mode_name(ch->mode), "hotelCode", ch->hotel_code, "baseUrl", ch->base_url,
        "updatesUrl", text_or_null(ch->updates_url), "pollSeconds", ch->poll_seconds, "enabled",
        ch->enabled, "takesUpdates", ch->takes_updates, "credentials", "username",
        set_or_null(ch->username), "password", set_or_null(ch->password), "webhookSecret",
        set_or_null(ch->webhook_secret), "lastPullAt", time_or_null(v->last_pull_at_ms),
        "lastPullStatus", text_or_null(v->last_pull_status), "lastError",
        text_or_null(v->last_error), "nextPullAt",
        pull && ch->enabled ? time_or_null(v->next_pull_at_ms) : json_null(), "createdAt",
        api_time(ch->created_at_ms), "updatedAt", api_time(ch->updated_at_ms));
}

static enum http_result reply_channel(struct http_request *req, int status,
                                      struct ota_channel_view *v)
{
    json_t *body = channel_json(v);
    ota_channel_wipe(&v->ch);
    if (!body)
        return api_fail(req, HERALD_ERR_NOMEM);
    json_object_set_new(body, "success", json_true());
    http_reply_json(req, status, body);
    return HTTP_REPLIED;
}

static enum http_result no_such_channel(struct http_request *req)
{
    http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such channel", "id");
    return HTTP_REPLIED;
}

/* -1 when absent, else 0/1; answers 400 itself (returns -2) when not a boolean. */
static int opt_bool(struct http_request *req, json_t *doc, const char *name)
{
    json_t *v = json_object_get(doc, name);
    if (!v)
        return -1;
    if (!json_is_boolean(v)) {
        http_reply_error(req, HERALD_ERR_INVALID, "must be true or false", name);
        return -2;
    }
    return json_is_true(v) ? 1 : 0;
}

static int parse_credentials(struct http_request *req, json_t *doc, struct ota_channel_input *in)
{
    json_t *cred = json_object_get(doc, "credentials");
    if (!cred || json_is_null(cred))
        return HERALD_OK;
    const struct http_field spec[] = {
        {"username", HF_STRING, false, 0, OTA_SECRET_MAX - 1, &in->username},
        {"password", HF_STRING, false, 0, OTA_SECRET_MAX - 1, &in->password},
        {"webhookSecret", HF_STRING, false, 0, OTA_SECRET_MAX - 1, &in->webhook_secret},
    };
    in->has_credentials = true;
    return http_parse_object(req, cred, spec, sizeof(spec) / sizeof(spec[0]), "credentials");
}

/* The body of POST and PATCH; the domain checks what is required and the values. */
static int parse_input(struct http_request *req, struct ota_channel_input *in, json_t **doc)
{
    long long poll = -1;
    json_t *cred = NULL;
    memset(in, 0, sizeof(*in));
    const struct http_field spec[] = {
        {"name", HF_STRING, false, 0, 0, &in->name},
        {"type", HF_STRING, false, 0, 0, &in->type},
        {"mode", HF_STRING, false, 0, 0, &in->mode},
        {"hotelCode", HF_STRING, false, 0, 0, &in->hotel_code},
        {"baseUrl", HF_STRING, false, 0, 0, &in->base_url},
        {"updatesUrl", HF_STRING, false, 0, 0, &in->updates_url},
        {"pollSeconds", HF_INT, false, 1, 86400, &poll},
        {"credentials", HF_OBJECT, false, 0, 0, &cred},
    };
    if (http_parse_json(req, spec, sizeof(spec) / sizeof(spec[0]), doc))
        return HERALD_ERR_INVALID;
    in->poll_seconds = json_object_get(*doc, "pollSeconds") ? poll : -1;
    if (json_is_null(json_object_get(*doc, "updatesUrl")))
        in->updates_url = ""; /* GET shows an unset one as null: null clears it too */
    if ((in->enabled = opt_bool(req, *doc, "enabled")) == -2 ||
        (in->takes_updates = opt_bool(req, *doc, "takesUpdates")) == -2 ||
        parse_credentials(req, *doc, in)) {
        json_decref(*doc);
        *doc = NULL;
        return HERALD_ERR_INVALID;
    }
    return HERALD_OK;
}

enum http_result api_ota_channels_create(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct ota_channel_input in;
    json_t *doc = NULL;
    if (parse_input(req, &in, &doc))
        return HTTP_REPLIED;
    struct ota_channel_view v;
    struct herald_error err = {0};
    int rc = ota_channels_create(app->ota_channels, &in, &v, &err);
    json_decref(doc);
    return rc ? api_fail_err(req, &err) : reply_channel(req, 201, &v);
}

enum http_result api_ota_channels_get(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return no_such_channel(req);
    struct ota_channel_view v;
    struct herald_error err = {0};
    int rc = ota_channels_view(app->ota_channels, id, &v, &err);
    return rc ? api_fail_err(req, &err) : reply_channel(req, 200, &v);
}

enum http_result api_ota_channels_update(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return no_such_channel(req);
    struct ota_channel_input in;
    json_t *doc = NULL;
    if (parse_input(req, &in, &doc))
        return HTTP_REPLIED;
    struct ota_channel_view v;
    struct herald_error err = {0};
    int rc = ota_channels_update(app->ota_channels, id, &in, &v, &err);
    json_decref(doc);
    return rc ? api_fail_err(req, &err) : reply_channel(req, 200, &v);
}

enum http_result api_ota_channels_delete(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return no_such_channel(req);
    int rc = ota_channels_delete(app->ota_channels, id);
    if (rc == HERALD_ERR_NOT_FOUND)
        return no_such_channel(req);
    if (rc)
        return api_fail(req, rc);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:I, s:b}", "success", 1, "id", (json_int_t)id, "deleted", 1));
    return HTTP_REPLIED;
}

enum http_result api_ota_channels_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int limit;
    int64_t after;
    if (!api_page_args(req, "och1", &limit, &after))
        return HTTP_REPLIED;
    struct ota_channel_view *rows = NULL;
    size_t n = 0;
    struct herald_error err = {0};
    int rc = ota_channels_list(app->ota_channels, after, limit, &rows, &n, &err);
    if (rc)
        return api_fail_err(req, &err);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, channel_json(&rows[i]));
    int64_t next = n == (size_t)limit && n > 0 ? rows[n - 1].ch.id : 0;
    ota_channels_free_views(rows, n);
    return api_reply_page(req, "channels", arr, "och1", next, limit);
}

json_t *api_ota_validation_json(const struct ota_validation *v)
{
    json_t *checks = json_array();
    for (int i = 0; checks && i < OTA_CHECKS; i++)
        json_array_append_new(checks,
                              json_pack("{s:s, s:s, s:s, s:I}", "name", v->checks[i].name, "result",
                                        ota_check_result_name(v->checks[i].result), "message",
                                        v->checks[i].message, "durationMs",
                                        (json_int_t)v->checks[i].duration_ms));
    return json_pack("{s:I, s:b, s:o}", "channelId", (json_int_t)v->channel_id, "ok", v->ok,
                     "checks", checks);
}

enum http_result api_ota_channels_validate(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return no_such_channel(req);
    struct ota_validation v;
    struct herald_error err = {0};
    long timeout = app->cfg.upstream_timeout_ms < 10000 ? app->cfg.upstream_timeout_ms : 10000;
    int rc = ota_channel_validate(app->ota_channels, id, timeout,
                                  (size_t)app->cfg.ota_max_message_bytes, &v, &err);
    if (rc)
        return api_fail_err(req, &err);
    json_t *body = api_ota_validation_json(&v);
    json_object_set_new(body, "success", json_true());
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}
