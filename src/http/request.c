/* Declarative JSON parsing: a handler lists its fields once and makes one call, which answers
 * 400/415 itself naming the offending field; and bounded integer query arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

static bool media_type_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* A JSON body may come as application/json, with no Content-Type, or with curl's default for
 * -d (application/x-www-form-urlencoded): scripts written as `curl -d '{...}'` then work. Any
 * other explicit type is refused. */
static bool json_body_allowed(const char *ct)
{
    if (!ct)
        return true;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || media_type_is(ct, "application/json") ||
           media_type_is(ct, "application/x-www-form-urlencoded");
}

bool http_req_is_xml(struct http_request *req)
{
    const char *ct = http_req_header(req, "Content-Type");
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    return media_type_is(ct, "application/xml") || media_type_is(ct, "text/xml") ||
           media_type_is(ct, "application/soap+xml");
}

/* HERALD_ERR_INVALID for field `name` (under `path`): message "<field> <what>". */
static enum herald_err field_error(struct herald_error *err, const char *path, const char *name,
                                   const char *what)
{
    char field[HERALD_ERROR_FIELD_MAX], message[320];
    if (path && *path)
        snprintf(field, sizeof(field), "%s.%s", path, name);
    else
        snprintf(field, sizeof(field), "%s", name);
    snprintf(message, sizeof(message), "%s %s", field, what);
    return herald_error_set(err, HERALD_ERR_INVALID, field, "%s", message);
}

static enum herald_err check_bounds(const struct http_field *f, long long v, const char *unit,
                                    const char *path, struct herald_error *err)
{
    if ((f->min == 0 && f->max == 0) || (v >= f->min && v <= f->max))
        return HERALD_OK;
    char what[160];
    snprintf(what, sizeof(what), "must be %s %lld to %lld%s", unit[0] ? "of" : "from", f->min,
             f->max, unit);
    return field_error(err, path, f->name, what);
}

static enum herald_err check_string(const struct http_field *f, json_t *v, const char *path,
                                    struct herald_error *err)
{
    if (!json_is_string(v))
        return field_error(err, path, f->name, "must be a string");
    enum herald_err rc =
        check_bounds(f, (long long)json_string_length(v), " characters", path, err);
    if (rc)
        return rc;
    if (strlen(json_string_value(v)) != json_string_length(v))
        return field_error(err, path, f->name, "must not contain NUL characters");
    *(const char **)f->out = json_string_value(v);
    return HERALD_OK;
}

static enum herald_err check_int(const struct http_field *f, json_t *v, const char *path,
                                 struct herald_error *err)
{
    if (!json_is_integer(v))
        return field_error(err, path, f->name, "must be an integer");
    enum herald_err rc = check_bounds(f, json_integer_value(v), "", path, err);
    if (rc)
        return rc;
    *(long long *)f->out = json_integer_value(v);
    return HERALD_OK;
}

/* HF_ARRAY: a list within bounds. HF_STRINGS: one string, or a list of strings. */
static enum herald_err check_list(const struct http_field *f, json_t *v, const char *path,
                                  struct herald_error *err)
{
    bool strings = f->type == HF_STRINGS;
    const char *what = strings ? "must be a string or a list of strings" : "must be a list";
    if (strings && json_is_string(v)) {
        *(json_t **)f->out = v;
        return HERALD_OK;
    }
    if (!json_is_array(v))
        return field_error(err, path, f->name, what);
    enum herald_err rc = check_bounds(f, (long long)json_array_size(v), " items", path, err);
    if (rc)
        return rc;
    for (size_t k = 0; strings && k < json_array_size(v); k++)
        if (!json_is_string(json_array_get(v, k)))
            return field_error(err, path, f->name, what);
    *(json_t **)f->out = v;
    return HERALD_OK;
}

/* Checks one present, non-null value against its spec and stores it through f->out. */
static enum herald_err check_value(const struct http_field *f, json_t *v, const char *path,
                                   struct herald_error *err)
{
    switch (f->type) {
    case HF_STRING:
        return check_string(f, v, path, err);
    case HF_INT:
        return check_int(f, v, path, err);
    case HF_BOOL:
        if (!json_is_boolean(v))
            return field_error(err, path, f->name, "must be true or false");
        *(bool *)f->out = json_is_true(v);
        return HERALD_OK;
    case HF_ARRAY:
    case HF_STRINGS:
        return check_list(f, v, path, err);
    case HF_OBJECT:
        if (!json_is_object(v))
            return field_error(err, path, f->name, "must be an object");
        *(json_t **)f->out = v;
        return HERALD_OK;
    }
    return herald_error_set(err, HERALD_ERR_INTERNAL, NULL, NULL);
}

enum herald_err http_check_object(json_t *obj, const struct http_field *spec, size_t n,
                                  const char *path, struct herald_error *err)
{
    if (!json_is_object(obj)) {
        if (path && *path)
            return herald_error_set(err, HERALD_ERR_INVALID, path,
                                    "each item must be a JSON object");
        return herald_error_set(err, HERALD_ERR_INVALID, NULL, "body must be a JSON object");
    }
    for (size_t i = 0; i < n; i++) {
        const struct http_field *f = &spec[i];
        json_t *v = json_object_get(obj, f->name);
        enum herald_err rc = HERALD_OK;
        if (v && !json_is_null(v))
            rc = check_value(f, v, path, err);
        else if (f->required)
            rc = field_error(err, path, f->name, "is required");
        if (rc)
            return rc;
    }
    return HERALD_OK;
}

enum herald_err http_parse_object(struct http_request *req, json_t *obj,
                                  const struct http_field *spec, size_t n, const char *path)
{
    struct herald_error err;
    enum herald_err rc = http_check_object(obj, spec, n, path, &err);
    if (rc)
        http_reply_err(req, &err);
    return rc;
}

enum herald_err http_parse_json(struct http_request *req, const struct http_field *spec, size_t n,
                                json_t **doc)
{
    *doc = NULL;
    if (!json_body_allowed(http_req_header(req, "Content-Type"))) {
        http_reply_error(req, HERALD_ERR_MEDIA_TYPE, "Content-Type must be application/json", NULL);
        return HERALD_ERR_MEDIA_TYPE;
    }
    size_t len;
    const char *body = http_req_body(req, &len);
    json_error_t jerr;
    json_t *root = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!root) {
        char message[256];
        if (len)
            snprintf(message, sizeof(message), "invalid JSON at line %d column %d: %s", jerr.line,
                     jerr.column, jerr.text);
        else
            snprintf(message, sizeof(message), "request body is empty");
        http_reply_error(req, HERALD_ERR_BAD_JSON, message, NULL);
        return HERALD_ERR_BAD_JSON;
    }
    enum herald_err rc = http_parse_object(req, root, spec, n, "");
    if (rc) {
        json_decref(root);
        return rc;
    }
    *doc = root;
    return HERALD_OK;
}

enum herald_err http_query_int(struct http_request *req, const char *name, long long min,
                               long long max, long long def, long long *out)
{
    const char *s = http_req_query(req, name);
    if (!s) {
        *out = def;
        return HERALD_OK;
    }
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < min || v > max) {
        struct herald_error err;
        herald_error_set(&err, HERALD_ERR_INVALID, name, "%s must be an integer from %lld to %lld",
                         name, min, max);
        http_reply_err(req, &err);
        return HERALD_ERR_INVALID;
    }
    *out = v;
    return HERALD_OK;
}
