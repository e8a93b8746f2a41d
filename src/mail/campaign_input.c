/* Validation of a campaign's create or patch body (campaigns_internal.h): every field, the
 * merge tags of subject and bodies, the sanitised HTML and generated text, and the store
 * references (lists, template) checked inside the write transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "mail/campaigns_internal.h"
#include "mail/mime.h"
#include "mail/template.h"
#include "mail/templates.h"

static const char *const known_fields[] = {"name",    "subject", "fromEmail", "fromName",
                                           "replyTo", "html",    "text",      "templateId",
                                           "lists",   "sendAt",  "tracking"};

static int invalid(struct herald_error *err, const char *field, const char *msg)
{
    return herald_error_set(err, HERALD_ERR_INVALID, field, "%s", msg);
}

static bool has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static int replace(char **dst, const char *src)
{
    char *d = strdup(src ? src : "");
    if (!d)
        return HERALD_ERR_NOMEM;
    free(*dst);
    *dst = d;
    return HERALD_OK;
}

static int check_unknown(json_t *body, struct herald_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(known_fields) / sizeof(known_fields[0]) && !known; i++)
            known = strcmp(key, known_fields[i]) == 0;
        if (!known)
            return herald_error_set(err, HERALD_ERR_INVALID, key, "unknown field");
    }
    return HERALD_OK;
}

/* A string field: absent leaves *dst; present must be a string of at most max bytes. */
static int take_string(json_t *body, const char *field, size_t max, bool one_line, char **dst,
                       struct herald_error *err)
{
    json_t *v = json_object_get(body, field);
    if (!v)
        return HERALD_OK;
    if (json_is_null(v))
        return replace(dst, "");
    if (!json_is_string(v))
        return invalid(err, field, "must be a string");
    const char *s = json_string_value(v);
    if (strlen(s) > max)
        return herald_error_set(err, HERALD_ERR_INVALID, field, "at most %zu bytes", max);
    if (one_line && has_line_break(s))
        return invalid(err, field, "must be one line");
    return replace(dst, s);
}

static int take_addresses(json_t *body, const struct mail_campaigns *m, bool create,
                          struct store_campaign *cp, struct herald_error *err)
{
    int rc = take_string(body, "fromEmail", 320, true, &cp->from_email, err);
    if (!rc && create && !json_object_get(body, "fromEmail"))
        rc = replace(&cp->from_email, m->mail_from);
    if (!rc && (!cp->from_email || !*cp->from_email))
        return invalid(err, "fromEmail", "required (or set HERALD_MAIL_FROM)");
    if (!rc && !mail_mime_address_ok(cp->from_email))
        return invalid(err, "fromEmail", "not an email address");
    if (!rc)
        rc = take_string(body, "fromName", CAMPAIGN_NAME_MAX, true, &cp->from_name, err);
    if (!rc)
        rc = take_string(body, "replyTo", 320, true, &cp->reply_to, err);
    if (!rc && cp->reply_to && *cp->reply_to && !mail_mime_address_ok(cp->reply_to))
        return invalid(err, "replyTo", "not an email address");
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int take_lists(json_t *body, bool create, struct store_campaign *cp,
                      struct herald_error *err)
{
    json_t *v = json_object_get(body, "lists");
    if (!v)
        return create ? invalid(err, "lists", "required: an array of list ids") : HERALD_OK;
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n == 0 || n > CAMPAIGN_LISTS_MAX)
        return invalid(err, "lists", "an array of 1 to 100 list ids");
    int64_t *ids = calloc(n, sizeof(*ids));
    if (!ids)
        return HERALD_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_integer(e) || json_integer_value(e) < 1) {
            free(ids);
            return herald_error_set(err, HERALD_ERR_INVALID, "lists", "lists[%zu] is not a list id",
                                    i);
        }
        ids[i] = json_integer_value(e);
    }
    qsort(ids, n, sizeof(*ids), cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || ids[k - 1] != ids[i])
            ids[k++] = ids[i];
    free(cp->lists);
    cp->lists = ids;
    cp->nlists = k;
    return HERALD_OK;
}

static int take_options(json_t *body, struct store_campaign *cp, struct herald_error *err)
{
    json_t *v = json_object_get(body, "tracking");
    if (v && !json_is_boolean(v))
        return invalid(err, "tracking", "must be true or false");
    if (v)
        cp->tracking = json_is_true(v);
    v = json_object_get(body, "sendAt");
    if (v && json_is_null(v))
        cp->send_at_ms = 0;
    else if (v && (!json_is_string(v) || clock_parse_iso(json_string_value(v), &cp->send_at_ms)))
        return invalid(err, "sendAt", "an ISO-8601 time (2025-01-31T09:00:00Z) or null");
    return HERALD_OK;
}

static int check_subject(const char *subject, bool required, struct herald_error *err)
{
    if (required && !*subject)
        return invalid(err, "subject", "required");
    if (strlen(subject) > MAIL_TEMPLATE_SUBJECT_MAX || has_line_break(subject))
        return invalid(err, "subject", "one line of at most 998 bytes");
    int rc = tmpl_check(subject, TMPL_TEXT, err);
    if (rc)
        snprintf(err->field, sizeof(err->field), "subject");
    return rc;
}

/* Inline html/text: sanitised, text generated when absent, every tag compiled. */
static int prepare_inline(json_t *body, struct store_campaign *cp, struct herald_error *err)
{
    json_t *h = json_object_get(body, "html"), *t = json_object_get(body, "text");
    if ((h && !json_is_string(h) && !json_is_null(h)) ||
        (t && !json_is_string(t) && !json_is_null(t)))
        return invalid(err, h && !json_is_string(h) && !json_is_null(h) ? "html" : "text",
                       "must be a string");
    const char *html = h ? json_string_value(h) : cp->html;
    const char *text = t ? json_string_value(t) : (h ? NULL : cp->text);
    struct mail_content prepared = {0};
    int rc = mail_content_prepare(cp->subject, html, text, &prepared, err);
    if (!rc) {
        free(cp->html);
        free(cp->text);
        cp->html = prepared.html;
        cp->text = prepared.text;
        prepared.html = prepared.text = NULL;
        cp->template_id = 0;
    }
    mail_content_clear(&prepared);
    return rc;
}

static int take_content(json_t *body, bool create, struct store_campaign *cp,
                        struct herald_error *err)
{
    json_t *tid = json_object_get(body, "templateId");
    bool inline_given = json_object_get(body, "html") || json_object_get(body, "text");
    if (tid && !json_is_null(tid) && inline_given)
        return invalid(err, "templateId", "give templateId or html/text, not both");
    if (tid && !json_is_null(tid)) {
        if (!json_is_integer(tid) || json_integer_value(tid) < 1)
            return invalid(err, "templateId", "must be a template id");
        cp->template_id = json_integer_value(tid);
        free(cp->html);
        free(cp->text);
        cp->html = cp->text = NULL;
        return check_subject(cp->subject, false, err);
    }
    if (inline_given || (tid && json_is_null(tid)) || (!cp->template_id && !create))
        return prepare_inline(body, cp, err);
    if (create)
        return invalid(err, "html", "give templateId or html and/or text");
    return check_subject(cp->subject, false, err);
}

int campaign_apply_body(const struct mail_campaigns *m, json_t *body, bool create,
                        struct store_campaign *cp, struct herald_error *err)
{
    if (!json_is_object(body))
        return invalid(err, "", "the body must be a JSON object");
    int rc = check_unknown(body, err);
    if (!rc)
        rc = take_string(body, "name", CAMPAIGN_NAME_MAX, true, &cp->name, err);
    if (!rc && (!cp->name || !*cp->name))
        return invalid(err, "name", "required: 1 to 200 bytes");
    if (!rc)
        rc = take_string(body, "subject", MAIL_TEMPLATE_SUBJECT_MAX, true, &cp->subject, err);
    if (!rc && !cp->subject)
        rc = replace(&cp->subject, "");
    if (!rc)
        rc = take_addresses(body, m, create, cp, err);
    if (!rc)
        rc = take_lists(body, create, cp, err);
    if (!rc)
        rc = take_options(body, cp, err);
    return rc ? rc : take_content(body, create, cp, err);
}

int campaign_check_refs(struct store_conn *c, struct store_campaign *cp, struct herald_error *err)
{
    int64_t missing = 0;
    int rc = store_campaign_lists_missing(c, cp->lists, cp->nlists, &missing);
    if (!rc && missing)
        return herald_error_set(err, HERALD_ERR_INVALID, "lists", "list %lld does not exist",
                                (long long)missing);
    if (rc || !cp->template_id)
        return rc;
    char *subject = NULL, *html = NULL, *text = NULL;
    rc = store_campaign_template(c, cp->template_id, &subject, &html, &text);
    if (rc == HERALD_ERR_NOT_FOUND)
        rc = herald_error_set(err, HERALD_ERR_INVALID, "templateId", "template %lld does not exist",
                              (long long)cp->template_id);
    if (!rc && !*cp->subject)
        rc = replace(&cp->subject, subject);
    free(subject);
    free(html);
    free(text);
    return rc;
}
