/* Owns /api/templates: create, list (cursor pages), get, patch, delete and preview of mail
 * templates; parsing and replies only, the rules live in mail/templates.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "mail/templates.h"

#define TPL_CURSOR_TAG "tpc1" /* cursors read "tpc1:<id>" */

static enum http_result tpl_not_found(struct http_request *req)
{
    http_reply_error(req, HERALD_ERR_NOT_FOUND, "no template with this id", NULL);
    return HTTP_REPLIED;
}

/* A domain error: its details when it gave some, else the code's defaults (404 named). */
static enum http_result tpl_fail(struct http_request *req, enum herald_err rc,
                                 const struct herald_error *err)
{
    if (rc == HERALD_ERR_NOT_FOUND)
        return tpl_not_found(req);
    return err && err->code == rc ? api_fail_err(req, err) : api_fail(req, rc);
}

/* The {id} of the path; false (and a 404 answered) when it is no id of ours. */
static bool tpl_path_id(struct http_request *req, int64_t *id)
{
    const char *s = http_req_param(req, "id");
    char *end = NULL;
    long long v = s && *s >= '1' && *s <= '9' ? strtoll(s, &end, 10) : 0;
    if (v <= 0 || !end || *end) {
        tpl_not_found(req);
        return false;
    }
    *id = v;
    return true;
}

/* The template as JSON; `bodies` adds html and text (lists leave them out). */
static json_t *tpl_json(const struct store_template *t, bool bodies)
{
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:b, s:o, s:o}", "id", (json_int_t)t->id, "name", t->name,
                  "subject", t->subject, "textGenerated", t->text_generated, "createdAt",
                  api_time(t->created_at_ms), "updatedAt", api_time(t->updated_at_ms));
    if (o && bodies) {
        json_object_set_new(o, "html", json_string(t->html));
        json_object_set_new(o, "text", json_string(t->text));
    }
    return o;
}

/* {"success":true, ...the template's fields} */
static enum http_result tpl_reply(struct http_request *req, int status,
                                  const struct store_template *t)
{
    json_t *body = tpl_json(t, true);
    if (!body)
        return api_fail(req, HERALD_ERR_NOMEM);
    json_object_set_new(body, "success", json_true());
    http_reply_json(req, status, body);
    return HTTP_REPLIED;
}

/* Parses the body's name, subject, html, text (all required when `create`). */
static enum herald_err tpl_parse(struct http_request *req, bool create,
                                 struct mail_template_input *in, json_t **doc)
{
    memset(in, 0, sizeof(*in));
    const struct http_field spec[] = {
        {"name", HF_STRING, create, 0, 0, &in->name},
        {"subject", HF_STRING, create, 0, 0, &in->subject},
        {"html", HF_STRING, false, 0, 0, &in->html},
        {"text", HF_STRING, false, 0, 0, &in->text},
    };
    return http_parse_json(req, spec, sizeof(spec) / sizeof(spec[0]), doc);
}

enum http_result api_templates_create(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct mail_template_input in;
    json_t *doc = NULL;
    if (tpl_parse(req, true, &in, &doc))
        return HTTP_REPLIED;
    struct store_template t;
    struct herald_error err = {0};
    enum herald_err rc = mail_template_create(app->store, &in, clock_now_ms(), &t, &err);
    json_decref(doc);
    if (rc)
        return tpl_fail(req, rc, &err);
    enum http_result r = tpl_reply(req, 201, &t);
    store_template_clear(&t);
    return r;
}

enum http_result api_templates_get(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!tpl_path_id(req, &id))
        return HTTP_REPLIED;
    struct store_template t;
    enum herald_err rc = mail_template_get(app->store, id, &t);
    if (rc)
        return tpl_fail(req, rc, NULL);
    enum http_result r = tpl_reply(req, 200, &t);
    store_template_clear(&t);
    return r;
}

enum http_result api_templates_update(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!tpl_path_id(req, &id))
        return HTTP_REPLIED;
    struct mail_template_input in;
    json_t *doc = NULL;
    if (tpl_parse(req, false, &in, &doc))
        return HTTP_REPLIED;
    struct store_template t;
    struct herald_error err = {0};
    enum herald_err rc = mail_template_update(app->store, id, &in, clock_now_ms(), &t, &err);
    json_decref(doc);
    if (rc)
        return tpl_fail(req, rc, &err);
    enum http_result r = tpl_reply(req, 200, &t);
    store_template_clear(&t);
    return r;
}

enum http_result api_templates_delete(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!tpl_path_id(req, &id))
        return HTTP_REPLIED;
    struct herald_error err = {0};
    enum herald_err rc = mail_template_delete(app->store, id, &err);
    if (rc)
        return tpl_fail(req, rc, &err);
    http_reply_json(req, 200, json_pack("{s:b, s:I}", "success", 1, "id", (json_int_t)id));
    return HTTP_REPLIED;
}

/* {"success":true,"templates":[...],"nextCursor":...,"limit":N} */
static json_t *tpl_page(const struct store_template *rows, size_t count, int limit)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < count; i++)
        json_array_append_new(list, tpl_json(&rows[i], false));
    json_t *next = json_null();
    if (count == (size_t)limit && count > 0) {
        char c[64];
        api_id_cursor_encode(TPL_CURSOR_TAG, rows[count - 1].id, c);
        next = json_string(c);
    }
    return json_pack("{s:b, s:o, s:o, s:i}", "success", 1, "templates", list, "nextCursor", next,
                     "limit", limit);
}

enum http_result api_templates_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int limit;
    int64_t before;
    if (!api_page_args(req, TPL_CURSOR_TAG, &limit, &before))
        return HTTP_REPLIED;
    struct store_template *rows = NULL;
    size_t count = 0;
    enum herald_err rc = mail_template_list(app->store, before, limit, &rows, &count);
    if (rc)
        return api_fail(req, rc);
    json_t *body = tpl_page(rows, count, limit);
    store_templates_free(rows, count);
    if (!body)
        return api_fail(req, HERALD_ERR_NOMEM);
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}

/* The preview's contact: a stored one (contactId) or a sample given inline (contact). */
static enum herald_err tpl_preview_contact(struct http_request *req, struct app *app,
                                           long long contact_id, json_t *inline_contact,
                                           struct mail_preview_contact *pc)
{
    memset(pc, 0, sizeof(*pc));
    if (contact_id && inline_contact) {
        http_reply_error(req, HERALD_ERR_INVALID, "give contactId or contact, not both", "contact");
        return HERALD_ERR_INVALID;
    }
    if (contact_id && !http_req_has_scope(req, "contacts:read")) {
        /* A stored contact's data is contacts:read's to show, even through a template. */
        http_reply_error(req, HERALD_ERR_FORBIDDEN,
                         "previewing a stored contact also needs the contacts:read scope",
                         "contactId");
        return HERALD_ERR_FORBIDDEN;
    }
    if (contact_id) {
        enum herald_err rc = mail_preview_contact_load(app->store, contact_id, pc);
        if (rc == HERALD_ERR_NOT_FOUND)
            http_reply_error(req, rc, "no contact with this id", "contactId");
        else if (rc)
            api_fail(req, rc);
        return rc;
    }
    if (!inline_contact) {
        http_reply_error(req, HERALD_ERR_INVALID, "contactId or contact is required", "contactId");
        return HERALD_ERR_INVALID;
    }
    const char *name = NULL, *email = NULL;
    json_t *attrs = NULL;
    const struct http_field spec[] = {
        {"name", HF_STRING, false, 0, 1000, &name},
        {"email", HF_STRING, false, 0, 254, &email},
        {"attributes", HF_OBJECT, false, 0, 0, &attrs},
    };
    enum herald_err rc =
        http_parse_object(req, inline_contact, spec, sizeof(spec) / sizeof(spec[0]), "contact");
    if (rc)
        return rc;
    pc->name = strdup(name ? name : "");
    pc->email = strdup(email ? email : "");
    pc->attributes = attrs ? json_incref(attrs) : NULL;
    if (!pc->name || !pc->email) {
        mail_preview_contact_clear(pc);
        api_fail(req, HERALD_ERR_NOMEM);
        return HERALD_ERR_NOMEM;
    }
    return HERALD_OK;
}

/* Renders t for the contact and answers {"success","subject","html","text"}. */
static enum http_result tpl_preview_reply(struct http_request *req, struct app *app,
                                          const struct store_template *t,
                                          const struct mail_preview_contact *pc,
                                          const char *campaign)
{
    const char *base = app->cfg.public_url ? app->cfg.public_url : "";
    size_t blen = strlen(base);
    while (blen && base[blen - 1] == '/')
        blen--;
    char unsub[512], prefs[512];
    snprintf(unsub, sizeof(unsub), "%.*s/unsubscribe/preview", (int)blen, base);
    snprintf(prefs, sizeof(prefs), "%.*s/preferences/preview", (int)blen, base);
    struct tmpl_vars vars = {pc->name, pc->email, pc->attributes, unsub, prefs, campaign};
    struct buf subject, html, text;
    buf_init(&subject, 64 * 1024);
    buf_init(&html, 16u << 20);
    buf_init(&text, 16u << 20);
    struct herald_error err = {0};
    enum herald_err rc = mail_template_render(t, &vars, &subject, &html, &text, &err);
    if (!rc) {
        json_t *body = json_pack("{s:b, s:s, s:s, s:s}", "success", 1, "subject",
                                 subject.data ? subject.data : "", "html",
                                 html.data ? html.data : "", "text", text.data ? text.data : "");
        if (body)
            http_reply_json(req, 200, body);
        rc = body ? HERALD_OK : HERALD_ERR_NOMEM;
    }
    buf_free(&subject);
    buf_free(&html);
    buf_free(&text);
    return rc ? tpl_fail(req, rc, &err) : HTTP_REPLIED;
}

enum http_result api_templates_preview(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!tpl_path_id(req, &id))
        return HTTP_REPLIED;
    long long contact_id = 0;
    json_t *contact = NULL, *doc = NULL;
    const char *campaign = NULL;
    const struct http_field spec[] = {
        {"contactId", HF_INT, false, 1, INT64_MAX, &contact_id},
        {"contact", HF_OBJECT, false, 0, 0, &contact},
        {"campaignName", HF_STRING, false, 0, 1000, &campaign},
    };
    if (http_parse_json(req, spec, sizeof(spec) / sizeof(spec[0]), &doc))
        return HTTP_REPLIED;
    struct store_template t;
    enum herald_err rc = mail_template_get(app->store, id, &t);
    if (rc) {
        json_decref(doc);
        return tpl_fail(req, rc, NULL);
    }
    struct mail_preview_contact pc;
    enum http_result r = HTTP_REPLIED;
    if (!tpl_preview_contact(req, app, contact_id, contact, &pc)) {
        r = tpl_preview_reply(req, app, &t, &pc, campaign);
        mail_preview_contact_clear(&pc);
    }
    store_template_clear(&t);
    json_decref(doc);
    return r;
}
