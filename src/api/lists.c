/* Owns /api/lists: create, list, read, change and delete mailing lists with their subscriber
 * counts. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/crypto.h"
#include "mail/lists.h"

json_t *api_list_json(const struct store_list *l)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I}, s:o, s:o}", "id",
                     (json_int_t)l->id, "name", l->name, "optin", l->optin, "description",
                     l->description ? l->description : "", "subscribers", "unconfirmed",
                     (json_int_t)l->unconfirmed, "confirmed", (json_int_t)l->confirmed,
                     "unsubscribed", (json_int_t)l->unsubscribed, "total",
                     (json_int_t)(l->unconfirmed + l->confirmed + l->unsubscribed), "createdAt",
                     api_time(l->created_at_ms), "updatedAt", api_time(l->updated_at_ms));
}

/* {"success":true, <the list's fields>} with `status`. */
static enum http_result reply_list(struct http_request *req, int status, struct store_list *l)
{
    json_t *body = api_list_json(l);
    store_list_clear(l);
    if (!body)
        return api_fail(req, HERALD_ERR_NOMEM);
    json_object_set_new(body, "success", json_true());
    http_reply_json(req, status, body);
    return HTTP_REPLIED;
}

static enum http_result no_such_list(struct http_request *req)
{
    http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such list", "id");
    return HTTP_REPLIED;
}

/* The body of POST and PATCH; `creating` makes name and optin required. */
static int parse_input(struct http_request *req, bool creating, struct mail_list_input *in,
                       json_t **doc)
{
    memset(in, 0, sizeof(*in));
    const struct http_field spec[] = {
        {"name", HF_STRING, creating, 1, MAIL_LIST_NAME_MAX, &in->name},
        {"optin", HF_STRING, creating, 0, 0, &in->optin},
        {"description", HF_STRING, false, 0, MAIL_LIST_DESCRIPTION_MAX, &in->description},
    };
    return http_parse_json(req, spec, sizeof(spec) / sizeof(spec[0]), doc);
}

enum http_result api_lists_create(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct mail_list_input in;
    json_t *doc = NULL;
    if (parse_input(req, true, &in, &doc))
        return HTTP_REPLIED;
    struct store_list l;
    struct herald_error err = {0};
    int rc = mail_list_create(app->store, &in, &l, &err);
    json_decref(doc);
    return rc ? api_fail_err(req, &err) : reply_list(req, 201, &l);
}

enum http_result api_lists_get(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return no_such_list(req);
    struct store_list l;
    int rc = mail_list_get(app->store, id, &l);
    if (rc == HERALD_ERR_NOT_FOUND)
        return no_such_list(req);
    return rc ? api_fail(req, rc) : reply_list(req, 200, &l);
}

enum http_result api_lists_update(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return no_such_list(req);
    struct mail_list_input in;
    json_t *doc = NULL;
    if (parse_input(req, false, &in, &doc))
        return HTTP_REPLIED;
    struct store_list l;
    struct herald_error err = {0};
    int rc = mail_list_update(app->store, id, &in, &l, &err);
    json_decref(doc);
    if (rc == HERALD_ERR_NOT_FOUND)
        return no_such_list(req);
    return rc ? api_fail_err(req, &err) : reply_list(req, 200, &l);
}

enum http_result api_lists_delete(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return no_such_list(req);
    int rc = mail_list_delete(app->store, id);
    if (rc == HERALD_ERR_NOT_FOUND)
        return no_such_list(req);
    if (rc)
        return api_fail(req, rc);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:I, s:b}", "success", 1, "id", (json_int_t)id, "deleted", 1));
    return HTTP_REPLIED;
}

enum http_result api_lists_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int limit;
    int64_t after;
    if (!api_page_args(req, "lst1", &limit, &after))
        return HTTP_REPLIED;
    struct store_list *rows = NULL;
    size_t count = 0;
    int rc = mail_list_list(app->store, after, limit, &rows, &count);
    if (rc)
        return api_fail(req, rc);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < count; i++)
        json_array_append_new(arr, api_list_json(&rows[i]));
    int64_t next = count == (size_t)limit && count > 0 ? rows[count - 1].id : 0;
    store_lists_free(rows, count);
    return api_reply_page(req, "lists", arr, "lst1", next, limit);
}
