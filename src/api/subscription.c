/* Owns the public double opt-in endpoints: the confirmation page (GET shows a button, POST
 * confirms) and the subscribe form (POST /subscription/form: same-origin only, rate-limited per
 * client IP, urlencoded or JSON, answered as a page or JSON by Accept). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/pages.h"
#include "mail/optin.h"

#define FORM_LISTS_MAX 20

/* ---- the confirmation page ---- */

/* The page for a token that cannot be used. */
static enum http_result token_page(struct http_request *req, int rc)
{
    if (rc == HERALD_ERR_TOKEN_EXPIRED)
        api_page_message(req, 410, "This link has expired",
                         "Confirmation links are valid for a limited time. Please sign up again "
                         "to receive a new one.");
    else if (rc == HERALD_ERR_TOKEN_INVALID)
        api_page_message(req, 400, "This link is not valid",
                         "The link is incomplete or was changed. Please use the link exactly as "
                         "it appears in the mail.");
    else if (rc == HERALD_ERR_CONFLICT)
        api_page_message(req, 409, "You have unsubscribed",
                         "You unsubscribed from this list after this link was sent. Please sign "
                         "up again if you want to receive it.");
    else
        api_page_message(req, herald_err_http_status((enum herald_err)rc), "Something went wrong",
                         "Please try again in a moment.");
    return HTTP_REPLIED;
}

enum http_result api_subscription_confirm_page(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    const char *token = http_req_param(req, "token");
    struct mail_optin_target t;
    int rc = mail_optin_check(app->mail_optin, token, &t);
    if (rc)
        return token_page(req, rc);
    if (t.confirmed) {
        api_page_message(req, 200, "Subscription confirmed",
                         "Your subscription is already confirmed. Thank you!");
        return HTTP_REPLIED;
    }
    struct buf b;
    buf_init(&b, 1 << 16);
    int e = buf_append_str(&b, "<h1>Confirm your subscription</h1><p>Please confirm that <strong>");
    e = e ? e : buf_append_html(&b, t.email);
    e = e ? e : buf_append_str(&b, "</strong> wants to receive <strong>");
    e = e ? e : buf_append_html(&b, t.list_name);
    /* Relative to this page's URL, so it holds behind a proxy that adds a path prefix. */
    e = e ? e : buf_append_str(&b, "</strong>.</p><form method=\"post\" action=\"");
    e = e ? e : buf_append_html(&b, token);
    e = e ? e
          : buf_append_str(&b, "\"><button type=\"submit\">Confirm my subscription</button>"
                               "</form>");
    if (e)
        api_page_message(req, 500, "Something went wrong", "Please try again in a moment.");
    else
        api_page_reply(req, 200, "Confirm your subscription", b.data);
    buf_free(&b);
    return HTTP_REPLIED;
}

enum http_result api_subscription_confirm(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct mail_optin_target t;
    int rc = mail_optin_confirm(app->mail_optin, http_req_param(req, "token"), &t);
    if (rc)
        return token_page(req, rc);
    struct buf b;
    buf_init(&b, 1 << 16);
    int e = buf_append_str(&b, "<h1>Subscription confirmed</h1><p>Thank you! <strong>");
    e = e ? e : buf_append_html(&b, t.email);
    e = e ? e : buf_append_str(&b, "</strong> is now subscribed to <strong>");
    e = e ? e : buf_append_html(&b, t.list_name);
    e = e ? e : buf_append_str(&b, "</strong>. Every mail has a link to unsubscribe.</p>");
    if (e)
        api_page_message(req, 200, "Subscription confirmed", "Thank you!");
    else
        api_page_reply(req, 200, "Subscription confirmed", b.data);
    buf_free(&b);
    return HTTP_REPLIED;
}

/* ---- the subscribe form ---- */

/* scheme://host[:port] of a URL, lower-cased (what a browser sends as Origin). */
static void url_origin(const char *url, char *out, size_t cap)
{
    const char *s = strstr(url, "://");
    size_t n = s ? (size_t)(s - url) + 3 + strcspn(s + 3, "/?#") : strlen(url);
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)url[i]);
    out[n] = '\0';
}

/* True when `origin` is an entry of the comma-separated list (exact, case-insensitive). */
static bool origin_listed(const char *list, const char *origin)
{
    size_t on = strlen(origin);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '/'))
            m--;
        if (m == on && m > 0 && strncasecmp(p, origin, m) == 0)
            return true;
        p += n;
    }
    return false;
}

/* Browsers name the page a form was posted from: only Herald's own pages (HERALD_PUBLIC_URL)
 * and the origins in HERALD_CORS_ORIGINS may post. Without Origin and Sec-Fetch-Site (not a
 * browser), the request stands on its own: no cookie or session exists to ride on. */
static bool same_origin(struct http_request *req, const struct cfg *cfg)
{
    const char *origin = http_req_header(req, "Origin");
    if (origin) {
        char own[1100];
        url_origin(cfg->public_url, own, sizeof(own));
        return strcasecmp(origin, own) == 0 || origin_listed(cfg->cors_origins, origin);
    }
    const char *site = http_req_header(req, "Sec-Fetch-Site");
    return !site || strcmp(site, "same-origin") == 0 || strcmp(site, "none") == 0;
}

static bool wants_json(struct http_request *req, bool body_json)
{
    const char *accept = http_req_header(req, "Accept");
    if (accept && strstr(accept, "application/json"))
        return true;
    return body_json && !(accept && strstr(accept, "text/html"));
}

struct form_in {
    struct mail_optin_form f;
    int64_t lists[FORM_LISTS_MAX];
    char *email, *name, *consent; /* urlencoded values (owned) */
    json_t *doc;
    bool json;
    char field[32]; /* the offending field when parsing failed */
};

/* Decodes one application/x-www-form-urlencoded component of n bytes (owned result); NULL
 * for an encoded NUL byte or no memory. */
static char *form_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; out && i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
                   isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            c = (char)strtol(hex, NULL, 16);
            i += 2;
        }
        if (c == '\0') {
            free(out);
            return NULL;
        }
        out[o++] = c;
    }
    if (out)
        out[o] = '\0';
    return out;
}

/* Adds the list ids of one value ("3" or "3,4"); false on anything else. */
static bool add_list_ids(struct form_in *in, const char *v)
{
    while (*v) {
        size_t n = strcspn(v, ", ");
        char id[24];
        int64_t x;
        if (n == 0 || n >= sizeof(id) || in->f.nlists >= FORM_LISTS_MAX)
            return false;
        memcpy(id, v, n);
        id[n] = '\0';
        if (!api_positive_id(id, &x))
            return false;
        in->lists[in->f.nlists++] = x;
        v += n;
        while (*v == ',' || *v == ' ')
            v++;
    }
    return true;
}

/* Stores one name=value pair; false (with in->field) for a bad value. */
static bool form_pair(struct form_in *in, const char *name, char *value)
{
    char **slot = !strcmp(name, "email")         ? &in->email
                  : !strcmp(name, "name")        ? &in->name
                  : !strcmp(name, "consentText") ? &in->consent
                                                 : NULL;
    if (slot) {
        free(*slot);
        *slot = value;
        return true;
    }
    bool ok = true;
    if (!strcmp(name, "list") || !strcmp(name, "lists"))
        ok = add_list_ids(in, value);
    if (!ok)
        snprintf(in->field, sizeof(in->field), "lists");
    free(value);
    return ok;
}

static bool parse_urlencoded(struct form_in *in, const char *body, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = 0;
        while (i + n < len && body[i + n] != '&')
            n++;
        const char *eq = memchr(body + i, '=', n);
        size_t kn = eq ? (size_t)(eq - (body + i)) : n;
        char *key = form_decode(body + i, kn);
        char *value = eq ? form_decode(eq + 1, n - kn - 1) : strdup("");
        bool ok = key && value;
        if (!ok)
            snprintf(in->field, sizeof(in->field), "%s", key ? key : "body");
        if (ok)
            ok = form_pair(in, key, value);
        else
            free(value);
        free(key);
        if (!ok)
            return false;
        i += n + 1;
    }
    return true;
}

static bool parse_json(struct form_in *in, const char *body, size_t len)
{
    in->doc = json_loadb(body, len, 0, NULL);
    if (!json_is_object(in->doc)) {
        snprintf(in->field, sizeof(in->field), "body");
        return false;
    }
    json_t *lists = json_object_get(in->doc, "lists");
    const char *names[] = {"email", "name", "consentText"};
    const char **outs[] = {&in->f.email, &in->f.name, &in->f.consent_text};
    for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(in->doc, names[i]);
        if (v && !json_is_string(v) && !json_is_null(v)) {
            snprintf(in->field, sizeof(in->field), "%s", names[i]);
            return false;
        }
        *outs[i] = json_string_value(v);
    }
    snprintf(in->field, sizeof(in->field), "lists");
    if ((lists && !json_is_array(lists)) || json_array_size(lists) > FORM_LISTS_MAX)
        return false;
    for (size_t i = 0; i < json_array_size(lists); i++) {
        json_t *v = json_array_get(lists, i);
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return false;
        in->lists[in->f.nlists++] = (int64_t)json_integer_value(v);
    }
    in->field[0] = '\0';
    return true;
}

/* JSON when the Content-Type says so or the body is an object (curl -d '{...}'). */
static bool body_is_json(struct http_request *req)
{
    size_t len, i = 0;
    const char *body = http_req_body(req, &len);
    const char *ct = http_req_header(req, "Content-Type");
    while (i < len && isspace((unsigned char)body[i]))
        i++;
    return (ct && strncasecmp(ct, "application/json", 16) == 0) || (i < len && body[i] == '{');
}

static bool parse_form(struct http_request *req, struct form_in *in)
{
    size_t len;
    const char *body = http_req_body(req, &len);
    in->json = body_is_json(req);
    in->f.lists = in->lists;
    if (in->json)
        return parse_json(in, body, len);
    if (!parse_urlencoded(in, body, len))
        return false;
    in->f.email = in->email;
    in->f.name = in->name;
    in->f.consent_text = in->consent;
    return true;
}

static void form_free(struct form_in *in)
{
    free(in->email);
    free(in->name);
    free(in->consent);
    json_decref(in->doc);
}

/* An error as JSON or as a page. */
static enum http_result form_error(struct http_request *req, bool json,
                                   const struct herald_error *err)
{
    if (json)
        return api_fail_err(req, err);
    char message[HERALD_ERROR_MESSAGE_MAX + HERALD_ERROR_FIELD_MAX + 8];
    snprintf(message, sizeof(message), "%s%s%s", err->field[0] ? err->field : "",
             err->field[0] ? ": " : "", herald_error_message(err));
    api_page_message(req, herald_err_http_status(err->code), "We could not sign you up", message);
    return HTTP_REPLIED;
}

/* Cross-site posts and the per-IP limit, before anything is read. */
static bool form_allowed(struct http_request *req, const struct app *app, bool json)
{
    struct herald_error err = {0};
    long retry = 0;
    if (!same_origin(req, &app->cfg)) {
        herald_error_set(&err, HERALD_ERR_FORBIDDEN, "Origin",
                         "cross-site form posts are refused: the form must be served by "
                         "Herald (HERALD_PUBLIC_URL) or an origin in HERALD_CORS_ORIGINS");
    } else if (!http_req_take_rate(req, "form", &app->cfg.form_rate, &retry)) {
        char value[24];
        snprintf(value, sizeof(value), "%ld", retry);
        http_reply_header(req, "Retry-After", value);
        herald_error_set(&err, HERALD_ERR_RATE_LIMITED, NULL,
                         "too many signups from this address: try again later");
    } else {
        return true;
    }
    form_error(req, json, &err);
    return false;
}

enum http_result api_subscription_form(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct form_in in = {0};
    if (!form_allowed(req, app, wants_json(req, body_is_json(req))))
        return HTTP_REPLIED;
    struct herald_error err = {0};
    int rc = HERALD_OK;
    if (!parse_form(req, &in) && !in.field[0])
        snprintf(in.field, sizeof(in.field), "body");
    if (in.field[0])
        rc = herald_error_set(&err, HERALD_ERR_INVALID, in.field, "%s is not valid", in.field);
    in.f.ip = http_req_client_ip(req);
    if (!rc)
        rc = mail_optin_form_subscribe(app->mail_optin, &in.f, &err);
    bool json = wants_json(req, in.json);
    form_free(&in);
    if (rc)
        return form_error(req, json, &err);
    const char *msg = "Thank you! Please check your inbox: the mail we sent has a link to "
                      "confirm the subscription.";
    if (json)
        http_reply_json(req, 202, json_pack("{s:b, s:s}", "success", 1, "message", msg));
    else
        api_page_message(req, 200, "Check your inbox", msg);
    return HTTP_REPLIED;
}
