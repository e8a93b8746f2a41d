/* Owns /api/contacts: create (409 or ?upsert=true), the filtered and paged listing, read with
 * subscriptions and consent records, change (columns, lists, clearing a bounce) and delete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "mail/contacts.h"
#include "mail/optin.h"

#define CURSOR_TAG "ctc1"

static json_t *opt_time(int64_t ms)
{
    return ms ? api_time(ms) : json_null();
}

static json_t *contact_json(const struct store_contact *ct)
{
    json_t *attrs = json_loads(ct->attributes ? ct->attributes : "{}", 0, NULL);
    if (!json_is_object(attrs)) {
        json_decref(attrs);
        attrs = json_object();
    }
    return json_pack("{s:I, s:s, s:s, s:o, s:s, s:s, s:I, s:o, s:o, s:o}", "id", (json_int_t)ct->id,
                     "email", ct->email, "name", ct->name ? ct->name : "", "attributes", attrs,
                     "status", ct->status, "delivery", ct->delivery, "softBounces",
                     (json_int_t)ct->soft_bounces, "unsubscribedAt",
                     opt_time(ct->unsubscribed_at_ms), "createdAt", api_time(ct->created_at_ms),
                     "updatedAt", api_time(ct->updated_at_ms));
}

static json_t *subscription_json(const struct store_subscription *s)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:{s:s, s:o, s:s?, s:s?}, s:o, s:o, s:o, s:o}", "listId",
                     (json_int_t)s->list_id, "listName", s->list_name ? s->list_name : "", "optin",
                     s->list_optin, "status", s->status, "consent", "method", s->consent_method,
                     "at", api_time(s->consent_at_ms), "ip", s->consent_ip, "text", s->consent_text,
                     "confirmedAt", opt_time(s->confirmed_at_ms), "unsubscribedAt",
                     opt_time(s->unsubscribed_at_ms), "createdAt", api_time(s->created_at_ms),
                     "updatedAt", api_time(s->updated_at_ms));
}

static enum http_result no_such_contact(struct http_request *req)
{
    http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such contact", "id");
    return HTTP_REPLIED;
}

/* Answers the contact with its subscriptions: {"success":true, <fields>, "subscriptions"}. */
static enum http_result reply_contact(struct http_request *req, struct app *app, int64_t id,
                                      int status)
{
    struct store_contact ct;
    struct store_subscription *subs = NULL;
    size_t n = 0;
    int rc = mail_contact_get(app->store, id, &ct, &subs, &n);
    if (rc == HERALD_ERR_NOT_FOUND)
        return no_such_contact(req);
    if (rc)
        return api_fail(req, rc);
    json_t *body = contact_json(&ct), *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, subscription_json(&subs[i]));
    store_contact_clear(&ct);
    store_subscriptions_free(subs, n);
    if (!body || !arr) {
        json_decref(body);
        json_decref(arr);
        return api_fail(req, HERALD_ERR_NOMEM);
    }
    json_object_set_new(body, "subscriptions", arr);
    json_object_set_new(body, "success", json_true());
    http_reply_json(req, status, body);
    return HTTP_REPLIED;
}

/* Reads a JSON array of list ids into ids (at most MAIL_CONTACT_LISTS_MAX); answers 400. */
static bool read_ids(struct http_request *req, json_t *arr, const char *field, int64_t *ids,
                     size_t *n)
{
    *n = 0;
    for (size_t i = 0; arr && i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            char f[64];
            snprintf(f, sizeof(f), "%s[%zu]", field, i);
            http_reply_error(req, HERALD_ERR_INVALID, "a list id is a positive integer", f);
            return false;
        }
        ids[(*n)++] = (int64_t)json_integer_value(v);
    }
    return true;
}

struct contact_body {
    struct mail_contact_input in;
    json_t *doc, *lists, *remove;
    int64_t add_ids[MAIL_CONTACT_LISTS_MAX], remove_ids[MAIL_CONTACT_LISTS_MAX];
};

/* The body of POST (creating: email required) and PATCH; answers 400 itself. The same fields
 * in both: on POST, removeLists and delivery matter only when ?upsert=true meets a contact. */
static bool parse_body(struct http_request *req, bool creating, struct contact_body *b)
{
    struct mail_contact_input *in = &b->in;
    const struct http_field spec[] = {
        {"email", HF_STRING, creating, 1, 320, &in->email},
        {"name", HF_STRING, false, 0, 1024, &in->name},
        {"attributes", HF_OBJECT, false, 0, 0, &in->attributes},
        {"status", HF_STRING, false, 0, 0, &in->status},
        {"lists", HF_ARRAY, false, 0, MAIL_CONTACT_LISTS_MAX, &b->lists},
        {"removeLists", HF_ARRAY, false, 0, MAIL_CONTACT_LISTS_MAX, &b->remove},
        {"delivery", HF_STRING, false, 0, 0, &in->delivery},
        {"consentText", HF_STRING, false, 0, MAIL_CONSENT_TEXT_MAX, &in->consent.text},
        {"resubscribe", HF_BOOL, false, 0, 0, &in->consent.resubscribe},
    };
    if (http_parse_json(req, spec, sizeof(spec) / sizeof(spec[0]), &b->doc))
        return false;
    if (in->consent.resubscribe && (!in->consent.text || !in->consent.text[0])) {
        http_reply_error(req, HERALD_ERR_INVALID,
                         "resubscribe needs the consentText the person agreed to again",
                         "consentText");
        return false;
    }
    in->consent.method = "api";
    in->consent.ip = http_req_client_ip(req);
    in->add_lists = b->add_ids;
    in->remove_lists = b->remove_ids;
    return read_ids(req, b->lists, "lists", b->add_ids, &in->nadd) &&
           read_ids(req, b->remove, "removeLists", b->remove_ids, &in->nremove);
}

enum http_result api_contacts_create(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    const char *upsert_arg = http_req_query(req, "upsert");
    if (upsert_arg && strcmp(upsert_arg, "true") != 0 && strcmp(upsert_arg, "false") != 0) {
        http_reply_error(req, HERALD_ERR_INVALID, "upsert must be true or false", "upsert");
        return HTTP_REPLIED;
    }
    struct contact_body *b = calloc(1, sizeof(*b));
    if (!b)
        return api_fail(req, HERALD_ERR_NOMEM);
    enum http_result res = HTTP_REPLIED;
    if (parse_body(req, true, b)) {
        int64_t id = 0;
        bool created = false;
        struct herald_error err = {0};
        bool upsert = upsert_arg && strcmp(upsert_arg, "true") == 0;
        int rc =
            mail_contact_create(app->store, app->mail_optin, &b->in, upsert, &id, &created, &err);
        res = rc ? api_fail_err(req, &err) : reply_contact(req, app, id, created ? 201 : 200);
    }
    json_decref(b->doc);
    free(b);
    return res;
}

enum http_result api_contacts_get(struct http_request *req, void *ctx)
{
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return no_such_contact(req);
    return reply_contact(req, ctx, id, 200);
}

enum http_result api_contacts_update(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return no_such_contact(req);
    struct contact_body *b = calloc(1, sizeof(*b));
    if (!b)
        return api_fail(req, HERALD_ERR_NOMEM);
    enum http_result res = HTTP_REPLIED;
    if (parse_body(req, false, b)) {
        struct herald_error err = {0};
        int rc = mail_contact_update(app->store, app->mail_optin, id, &b->in, &err);
        if (rc == HERALD_ERR_NOT_FOUND)
            res = no_such_contact(req);
        else
            res = rc ? api_fail_err(req, &err) : reply_contact(req, app, id, 200);
    }
    json_decref(b->doc);
    free(b);
    return res;
}

enum http_result api_contacts_delete(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return no_such_contact(req);
    int rc = mail_contact_delete(app->store, id);
    if (rc == HERALD_ERR_NOT_FOUND)
        return no_such_contact(req);
    if (rc)
        return api_fail(req, rc);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:I, s:b}", "success", 1, "id", (json_int_t)id, "deleted", 1));
    return HTTP_REPLIED;
}

/* The query string of GET /api/contacts; answers 400 itself. */
static bool read_filter(struct http_request *req, struct store_contact_filter *f)
{
    memset(f, 0, sizeof(*f));
    if (!api_page_args(req, CURSOR_TAG, &f->limit, &f->after_id))
        return false;
    f->email = http_req_query(req, "email");
    f->status = http_req_query(req, "status");
    f->query = http_req_query(req, "query");
    if (f->query && !*f->query)
        f->query = NULL;
    const char *list = http_req_query(req, "list");
    if (list && !api_positive_id(list, &f->list_id)) {
        http_reply_error(req, HERALD_ERR_INVALID, "list must be a list id (a positive integer)",
                         "list");
        return false;
    }
    return true;
}

enum http_result api_contacts_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct store_contact_filter f;
    if (!read_filter(req, &f))
        return HTTP_REPLIED;
    struct store_contact *rows = NULL;
    size_t count = 0;
    struct herald_error err = {0};
    int rc = mail_contact_list(app->store, &f, &rows, &count, &err);
    if (rc)
        return api_fail_err(req, &err);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < count; i++)
        json_array_append_new(arr, contact_json(&rows[i]));
    int64_t next = count == (size_t)f.limit && count > 0 ? rows[count - 1].id : 0;
    store_contacts_free(rows, count);
    return api_reply_page(req, "contacts", arr, CURSOR_TAG, next, f.limit);
}
