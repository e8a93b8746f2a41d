/* Declarative JSON parsing: a handler lists its fields once and makes one call, which answers
 * 400/415 itself naming the offending field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

static bool is_json_content_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void field_error(struct http_request *req, const char *path, const char *name,
                        const char *what)
{
    char field[192], message[320];
    if (path && *path)
        snprintf(field, sizeof(field), "%s.%s", path, name);
    else
        snprintf(field, sizeof(field), "%s", name);
    snprintf(message, sizeof(message), "%s %s", field, what);
    http_reply_error(req, HERALD_ERR_INVALID, message, field);
}

static int check_bounds(struct http_request *req, const char *path, const struct http_field *f,
                        long long v, const char *unit)
{
    if (f->min == 0 && f->max == 0)
        return HERALD_OK;
    if (v < f->min || v > f->max) {
        char what[160];
        snprintf(what, sizeof(what), "must be %s %lld to %lld%s", unit[0] ? "of" : "from", f->min,
                 f->max, unit);
        field_error(req, path, f->name, what);
        return HERALD_ERR_INVALID;
    }
    return HERALD_OK;
}

int http_parse_object(struct http_request *req, json_t *obj, const struct http_field *spec,
                      size_t n, const char *path)
{
    if (!json_is_object(obj)) {
        if (path && *path)
            http_reply_error(req, HERALD_ERR_INVALID, "each item must be a JSON object", path);
        else
            http_reply_error(req, HERALD_ERR_INVALID, "body must be a JSON object", NULL);
        return HERALD_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        const struct http_field *f = &spec[i];
        json_t *v = json_object_get(obj, f->name);
        if (!v || json_is_null(v)) {
            if (f->required) {
                field_error(req, path, f->name, "is required");
                return HERALD_ERR_INVALID;
            }
            continue;
        }
        switch (f->type) {
        case HF_STRING:
            if (!json_is_string(v)) {
                field_error(req, path, f->name, "must be a string");
                return HERALD_ERR_INVALID;
            }
            if (check_bounds(req, path, f, (long long)json_string_length(v), " characters"))
                return HERALD_ERR_INVALID;
            if (strlen(json_string_value(v)) != json_string_length(v)) {
                field_error(req, path, f->name, "must not contain NUL characters");
                return HERALD_ERR_INVALID;
            }
            *(const char **)f->out = json_string_value(v);
            break;
        case HF_INT:
            if (!json_is_integer(v)) {
                field_error(req, path, f->name, "must be an integer");
                return HERALD_ERR_INVALID;
            }
            if (check_bounds(req, path, f, json_integer_value(v), ""))
                return HERALD_ERR_INVALID;
            *(long long *)f->out = json_integer_value(v);
            break;
        case HF_BOOL:
            if (!json_is_boolean(v)) {
                field_error(req, path, f->name, "must be true or false");
                return HERALD_ERR_INVALID;
            }
            *(bool *)f->out = json_is_true(v);
            break;
        case HF_ARRAY:
        case HF_STRINGS:
            if (f->type == HF_STRINGS && json_is_string(v)) {
                *(json_t **)f->out = v;
                break;
            }
            if (!json_is_array(v)) {
                field_error(req, path, f->name,
                            f->type == HF_STRINGS ? "must be a string or a list of strings"
                                                  : "must be a list");
                return HERALD_ERR_INVALID;
            }
            if (check_bounds(req, path, f, (long long)json_array_size(v), " items"))
                return HERALD_ERR_INVALID;
            if (f->type == HF_STRINGS) {
                size_t k;
                json_t *item;
                json_array_foreach(v, k, item) if (!json_is_string(item))
                {
                    field_error(req, path, f->name, "must be a string or a list of strings");
                    return HERALD_ERR_INVALID;
                }
            }
            *(json_t **)f->out = v;
            break;
        case HF_OBJECT:
            if (!json_is_object(v)) {
                field_error(req, path, f->name, "must be an object");
                return HERALD_ERR_INVALID;
            }
            *(json_t **)f->out = v;
            break;
        }
    }
    return HERALD_OK;
}

int http_parse_json(struct http_request *req, const struct http_field *spec, size_t n, json_t **doc)
{
    *doc = NULL;
    if (!is_json_content_type(http_req_header(req, "Content-Type"))) {
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
    int rc = http_parse_object(req, root, spec, n, "");
    if (rc) {
        json_decref(root);
        return rc;
    }
    *doc = root;
    return HERALD_OK;
}

int http_query_int(struct http_request *req, const char *name, long long min, long long max,
                   long long def, long long *out)
{
    const char *s = http_req_query(req, name);
    if (!s) {
        *out = def;
        return HERALD_OK;
    }
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < min || v > max) {
        char message[160];
        snprintf(message, sizeof(message), "%s must be an integer from %lld to %lld", name, min,
                 max);
        http_reply_error(req, HERALD_ERR_INVALID, message, name);
        return HERALD_ERR_INVALID;
    }
    *out = v;
    return HERALD_OK;
}
