/* The recipients' public pages /unsubscribe/{token} and /preferences/{token} (server-rendered,
 * every value escaped, forms posting to themselves), and POST /api/bounces for relays. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/pages.h"
#include "base/clock.h"
#include "mail/bounce.h"
#include "mail/unsubscribe.h"

#define PAGE_MAX (256 * 1024)
#define PREF_KEEP_MAX 1000

/* The page for a failure: a forged link 400, an expired one 410, an unknown contact 404. */
static enum http_result page_error(struct http_request *req, enum herald_err rc)
{
    switch (rc) {
    case HERALD_ERR_TOKEN_INVALID:
        api_page_message(req, 400, "Invalid link",
                         "This link is not valid. Please use the link from your email.");
        break;
    case HERALD_ERR_TOKEN_EXPIRED:
        api_page_message(req, 410, "Link expired", "This link has expired.");
        break;
    case HERALD_ERR_NOT_FOUND:
        api_page_message(req, 404, "Not found", "We have no subscription for this link.");
        break;
    default:
        api_page_message(req, herald_err_http_status(rc), "Something went wrong",
                         "We could not process this request. Please try again later.");
    }
    return HTTP_REPLIED;
}

/* Replies the page in b (or an error when building it failed) and frees b. */
static enum http_result page_done(struct http_request *req, struct buf *b, int rc,
                                  const char *title)
{
    if (rc)
        http_reply_error(req, rc, NULL, NULL);
    else
        api_page_reply(req, 200, title, b->data);
    buf_free(b);
    return HTTP_REPLIED;
}

/* A link to the preferences page of a contact, relative to the page it is on
 * (/unsubscribe/{token}), so it still works behind a proxy that serves Herald under a path. */
static int append_prefs_link(struct buf *b, const struct app *app, int64_t contact_id)
{
    struct mail_token t = {MAIL_TOKEN_PREFERENCES, contact_id, 0, 0, 0};
    char tok[MAIL_TOKEN_MAX];
    mail_token_make(&app->mail_keys, &t, NULL, tok);
    return buf_printf(b,
                      "<p class=\"note\"><a href=\"../preferences/%s\">Manage your email "
                      "preferences</a></p>",
                      tok);
}

/* "the list <strong>A</strong>" / "the lists <strong>A, B</strong>" / `global`. */
static int append_scope(struct buf *b, const struct mail_unsub_view *v, const char *global)
{
    if (v->list_id <= 0)
        return buf_append_str(b, global);
    if (v->nlists == 0)
        return buf_append_str(b, "this list");
    int rc = buf_append_str(b, v->nlists > 1 ? "the lists <strong>" : "the list <strong>");
    rc = rc ? rc : buf_append_html(b, v->lists);
    return rc ? rc : buf_append_str(b, "</strong>");
}

enum http_result api_unsubscribe_page(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct mail_unsub_view v;
    int rc = mail_unsubscribe_view(app->store, &app->mail_keys, http_req_param(req, "token"),
                                   clock_now_ms(), &v);
    if (rc)
        return page_error(req, rc);
    struct buf b;
    buf_init(&b, PAGE_MAX);
    rc = buf_append_str(&b, v.already ? "<h1>You are unsubscribed</h1><p><strong>"
                                      : "<h1>Unsubscribe</h1><p>Unsubscribe <strong>");
    rc = rc ? rc : buf_append_html(&b, v.email);
    if (!rc && v.already)
        rc = buf_append_str(&b, v.list_id > 0 ? "</strong> receives no more emails from this "
                                                "list."
                                              : "</strong> receives no more of our emails.");
    else if (!rc) {
        rc = buf_append_str(&b, "</strong> from ");
        rc = rc ? rc : append_scope(&b, &v, "all our emails");
        rc = rc ? rc : buf_append_str(&b, "?");
    }
    if (!rc)
        rc = buf_append_str(&b, "</p>");
    if (!rc && !v.already)
        rc = buf_append_str(&b, "<form method=\"post\"><input type=\"hidden\" name=\"confirm\" "
                                "value=\"1\"><button type=\"submit\">Unsubscribe</button></form>");
    if (!rc)
        rc = append_prefs_link(&b, app, v.contact_id);
    return page_done(req, &b, rc, "Unsubscribe");
}

/* RFC 8058 one-click (List-Unsubscribe=One-Click), the page's own form, or an empty body: the
 * body carries nothing to decide on, the token says it all. The page names what stopped: every
 * list the link covered, or everything. */
enum http_result api_unsubscribe_post(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct mail_unsub_view v;
    int rc = mail_unsubscribe_apply(app->store, &app->mail_keys, http_req_param(req, "token"),
                                    clock_now_ms(), NULL, &v);
    if (rc)
        return page_error(req, rc);
    struct buf b;
    buf_init(&b, PAGE_MAX);
    rc = buf_append_str(&b, "<h1>You are unsubscribed</h1><p><strong>");
    rc = rc ? rc : buf_append_html(&b, v.email);
    rc = rc ? rc : buf_append_str(&b, "</strong> will receive no more emails from ");
    rc = rc ? rc : append_scope(&b, &v, "us");
    rc = rc ? rc : buf_append_str(&b, ".</p>");
    if (!rc)
        rc = append_prefs_link(&b, app, v.contact_id);
    return page_done(req, &b, rc, "You are unsubscribed");
}

static int append_pref_list(struct buf *b, const struct mail_pref_list *l)
{
    bool on = strcmp(l->status, "unsubscribed") != 0;
    int rc =
        buf_printf(b, "<label><input type=\"checkbox\" name=\"list\" value=\"%" PRId64 "\"%s> ",
                   l->list_id, on ? " checked" : "");
    rc = rc ? rc : buf_append_html(b, l->name);
    if (!rc && strcmp(l->status, "unconfirmed") == 0)
        rc = buf_append_str(b, " <span class=\"note\">(awaiting your confirmation)</span>");
    if (!rc && l->description[0]) {
        rc = buf_append_str(b, " <span class=\"note\">");
        rc = rc ? rc : buf_append_html(b, l->description);
        rc = rc ? rc : buf_append_str(b, "</span>");
    }
    return rc ? rc : buf_append_str(b, "</label>");
}

static enum http_result prefs_page(struct http_request *req, const struct mail_prefs *p,
                                   const char *notice)
{
    struct buf b;
    buf_init(&b, PAGE_MAX);
    int rc = buf_append_str(&b, "<h1>Email preferences</h1>");
    if (!rc && notice)
        rc = buf_printf(&b, "<p><strong>%s</strong></p>", notice); /* a constant of ours */
    rc = rc ? rc : buf_append_str(&b, "<p>The emails <strong>");
    rc = rc ? rc : buf_append_html(&b, p->email);
    rc = rc ? rc : buf_append_str(&b, "</strong> receives:</p><form method=\"post\">");
    for (size_t i = 0; !rc && i < p->nlists; i++)
        rc = append_pref_list(&b, &p->lists[i]);
    if (!rc && p->nlists == 0)
        rc = buf_append_str(&b, "<p class=\"note\">You are on no list.</p>");
    if (!rc)
        rc = buf_printf(&b,
                        "<label><input type=\"checkbox\" name=\"all\" value=\"1\"%s> Unsubscribe "
                        "from everything</label><input type=\"hidden\" name=\"save\" "
                        "value=\"1\"><button type=\"submit\">Save</button></form>",
                        p->unsubscribed_all ? " checked" : "");
    return page_done(req, &b, rc, "Email preferences");
}

enum http_result api_preferences_page(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct mail_prefs p;
    int rc = mail_preferences_get(app->store, &app->mail_keys, http_req_param(req, "token"),
                                  clock_now_ms(), &p);
    if (rc)
        return page_error(req, rc);
    enum http_result res = prefs_page(req, &p, NULL);
    mail_prefs_free(&p);
    return res;
}

/* The ticked list ids and the "everything" box of the form; false when the form is malformed. */
static bool read_prefs_form(struct http_request *req, int64_t *keep, size_t *nkeep, bool *all)
{
    size_t len = 0, pos = 0;
    const char *body = http_req_body(req, &len);
    char name[32], value[64];
    *nkeep = 0;
    *all = false;
    while (body && mail_form_next(body, len, &pos, name, sizeof(name), value, sizeof(value))) {
        if (strcmp(name, "all") == 0)
            *all = value[0] != '\0' && strcmp(value, "0") != 0;
        if (strcmp(name, "list") != 0)
            continue;
        char *end = NULL;
        long long id = strtoll(value, &end, 10);
        if (!value[0] || *end || id <= 0 || *nkeep >= PREF_KEEP_MAX)
            return false;
        keep[(*nkeep)++] = id;
    }
    return true;
}

enum http_result api_preferences_post(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    const char *token = http_req_param(req, "token");
    int64_t *keep = malloc(PREF_KEEP_MAX * sizeof(*keep));
    size_t nkeep = 0;
    bool all = false;
    if (!keep)
        return page_error(req, HERALD_ERR_NOMEM);
    int rc = read_prefs_form(req, keep, &nkeep, &all) ? HERALD_OK : HERALD_ERR_INVALID;
    if (rc == HERALD_ERR_INVALID) {
        free(keep);
        api_page_message(req, 400, "Invalid form", "The form could not be read.");
        return HTTP_REPLIED;
    }
    rc = mail_preferences_apply(app->store, &app->mail_keys, token, keep, nkeep, all,
                                clock_now_ms());
    free(keep);
    struct mail_prefs p;
    if (!rc)
        rc = mail_preferences_get(app->store, &app->mail_keys, token, clock_now_ms(), &p);
    if (rc)
        return page_error(req, rc);
    enum http_result res = prefs_page(req, &p, "Your preferences are saved.");
    mail_prefs_free(&p);
    return res;
}

/* ---- POST /api/bounces ---- */

static json_t *outcome_json(enum mail_bounce_kind parsed, const struct mail_bounce_outcome *o)
{
    return json_pack("{s:b, s:s, s:{s:s, s:I, s:I, s:s, s:b, s:s, s:I}}", "success", 1,
                     "classification", mail_bounce_kind_name(parsed), "recorded", "kind",
                     mail_bounce_kind_name(o->recorded), "contactId", (json_int_t)o->contact_id,
                     "campaignId", (json_int_t)o->campaign_id, "email", o->email, "duplicate",
                     o->duplicate, "delivery", o->delivery, "softBounces",
                     (json_int_t)o->soft_bounces);
}

static enum http_result record_reply(struct http_request *req, struct app *app,
                                     const struct mail_bounce_input *in)
{
    struct mail_bounce_outcome o;
    int rc = mail_bounce_record(app->store, in, clock_now_ms(), &o);
    if (rc == HERALD_ERR_NOT_FOUND) {
        http_reply_error(req, rc, "no contact matches the report", NULL);
        return HTTP_REPLIED;
    }
    if (rc)
        return api_fail(req, rc);
    http_reply_json(req, 200, outcome_json(in->kind, &o));
    return HTTP_REPLIED;
}

/* A raw DSN or ARF report: a whole message (message/rfc822), or a multipart/report body whose
 * MIME header is the request's Content-Type. */
static enum http_result bounces_raw(struct http_request *req, struct app *app, const char *ct)
{
    size_t len = 0;
    const char *body = http_req_body(req, &len);
    struct buf msg;
    buf_init(&msg, len + 1024);
    int rc = HERALD_OK;
    if (strncasecmp(ct, "multipart/", 10) == 0)
        rc = buf_printf(&msg, "Content-Type: %.900s\r\n\r\n", ct);
    if (!rc && len)
        rc = buf_append(&msg, body, len);
    struct mail_bounce_report *r = calloc(1, sizeof(*r));
    if (rc || !r) {
        buf_free(&msg);
        free(r);
        return api_fail(req, rc ? rc : HERALD_ERR_NOMEM);
    }
    mail_bounce_parse(msg.data, msg.len, r);
    buf_free(&msg);
    struct mail_bounce_input in;
    enum http_result res;
    if (r->kind == MAIL_BOUNCE_NONE) {
        http_reply_json(
            req, 200,
            json_pack("{s:b, s:s, s:n}", "success", 1, "classification", "none", "recorded"));
        res = HTTP_REPLIED;
    } else if (mail_bounce_resolve(&app->mail_keys, r, NULL, true, clock_now_ms() / 1000, &in)) {
        http_reply_error(req, HERALD_ERR_NOT_FOUND, "the report names no recipient", NULL);
        res = HTTP_REPLIED;
    } else
        res = record_reply(req, app, &in);
    free(r);
    return res;
}

/* Contact and campaign of the "token" field: a VERP token (or a whole bounces+TOKEN@ address)
 * or an unsubscribe token. */
static int json_token(struct app *app, const char *token, struct mail_bounce_input *in)
{
    char local[MAIL_TOKEN_MAX];
    if (strchr(token, '@') && mail_bounce_local_token(token, "bounces", local))
        token = local;
    struct mail_token t;
    int64_t now_s = clock_now_ms() / 1000;
    if (strlen(token) >= MAIL_TOKEN_MAX ||
        (mail_token_parse(&app->mail_keys, MAIL_TOKEN_BOUNCE, token, NULL, now_s, &t) &&
         mail_token_parse(&app->mail_keys, MAIL_TOKEN_UNSUBSCRIBE, token, NULL, now_s, &t)))
        return HERALD_ERR_TOKEN_INVALID;
    in->contact_id = t.contact_id;
    in->campaign_id = t.campaign_id;
    return HERALD_OK;
}

static enum http_result bounces_json(struct http_request *req, struct app *app)
{
    const char *email = NULL, *token = NULL, *type = NULL, *reason = NULL, *report = NULL;
    long long campaign = 0;
    struct http_field spec[] = {
        {"email", HF_STRING, false, 3, 254, &email},
        {"token", HF_STRING, false, 1, 300, &token},
        {"type", HF_STRING, true, 1, 16, &type},
        {"reason", HF_STRING, false, 0, 1000, &reason},
        {"campaignId", HF_INT, false, 0, INT64_MAX, &campaign},
        {"reportId", HF_STRING, false, 1, 250, &report},
    };
    json_t *doc = NULL;
    if (http_parse_json(req, spec, sizeof(spec) / sizeof(spec[0]), &doc))
        return HTTP_REPLIED;
    struct mail_bounce_input in = {.campaign_id = campaign, .detail = reason, .report_id = report};
    char addr[256];
    int rc = HERALD_OK;
    if (mail_bounce_kind_parse(type, &in.kind))
        http_reply_error(req, HERALD_ERR_INVALID, "type must be hard, soft or complaint", "type");
    else if (!email && !token)
        http_reply_error(req, HERALD_ERR_INVALID, "email or token is required", "email");
    else if (token && (rc = json_token(app, token, &in)))
        http_reply_error(req, rc, NULL, "token");
    else {
        if (!token) {
            size_t n = 0;
            while (isspace((unsigned char)*email))
                email++;
            for (; email[n] && n + 1 < sizeof(addr); n++)
                addr[n] = (char)tolower((unsigned char)email[n]);
            while (n && isspace((unsigned char)addr[n - 1]))
                n--;
            addr[n] = '\0';
            in.email = addr;
        }
        if (campaign > 0)
            in.campaign_id = campaign;
        record_reply(req, app, &in);
    }
    json_decref(doc);
    return HTTP_REPLIED;
}

enum http_result api_bounces_post(struct http_request *req, void *ctx)
{
    const char *ct = http_req_header(req, "Content-Type");
    while (ct && *ct == ' ')
        ct++;
    if (ct && (strncasecmp(ct, "message/", 8) == 0 || strncasecmp(ct, "multipart/", 10) == 0))
        return bounces_raw(req, ctx, ct);
    return bounces_json(req, ctx);
}
