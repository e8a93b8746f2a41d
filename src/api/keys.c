/* Owns /api/keys: list, create, rotate and revoke API keys over HTTP (scope admin), the same
 * operations as `herald keys`; a secret appears once, in the answer that made it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "keys/keys.h"

static json_t *key_json(const struct store_key *k)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", k->id, "name", k->name,
                     "prefix", k->prefix, "scopes", k->scopes, "rateLimit", k->rate_limit,
                     "createdAt", api_time(k->created_at_ms), "rotatedAt",
                     k->rotated_at_ms ? api_time(k->rotated_at_ms) : json_null(), "revokedAt",
                     k->revoked_at_ms ? api_time(k->revoked_at_ms) : json_null());
}

/* {"success":true,"key":{…},"secret":"…"} with `status`; wipes the secret. */
static enum http_result reply_secret(struct http_request *req, int status,
                                     const struct store_key *k, char secret[KEYS_SECRET_MAX])
{
    json_t *body = json_pack("{s:b, s:o, s:s}", "success", 1, "key", key_json(k), "secret", secret);
    memset(secret, 0, KEYS_SECRET_MAX);
    if (!body)
        return api_fail(req, HERALD_ERR_NOMEM);
    http_reply_json(req, status, body);
    return HTTP_REPLIED;
}

enum http_result api_keys_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct store_key *keys = NULL;
    size_t n = 0;
    enum herald_err rc = keys_list(app->store, &keys, &n);
    if (rc)
        return api_fail(req, rc);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, key_json(&keys[i]));
    free(keys);
    json_t *body = arr ? json_pack("{s:b, s:o}", "success", 1, "keys", arr) : NULL;
    if (!body)
        return api_fail(req, HERALD_ERR_NOMEM);
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}

enum http_result api_keys_create(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct keys_new spec = {0};
    const struct http_field fields[] = {
        {"name", HF_STRING, true, 1, 128, &spec.name},
        {"scopes", HF_STRING, false, 1, 255, &spec.scopes},
        {"rateLimit", HF_STRING, false, 1, 31, &spec.rate_limit},
    };
    json_t *doc = NULL;
    if (http_parse_json(req, fields, sizeof(fields) / sizeof(fields[0]), &doc))
        return HTTP_REPLIED;
    char secret[KEYS_SECRET_MAX];
    struct store_key key;
    struct herald_error err = {0};
    enum herald_err rc = keys_create(app->store, &spec, secret, &key, &err);
    json_decref(doc);
    if (rc == HERALD_ERR_INVALID && strcmp(err.field, "rate_limit") == 0)
        snprintf(err.field, sizeof(err.field), "rateLimit");
    if (rc) {
        if (!err.code)
            err.code = rc;
        http_reply_err(req, &err);
        return HTTP_REPLIED;
    }
    return reply_secret(req, 201, &key, secret);
}

enum http_result api_keys_rotate(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    char secret[KEYS_SECRET_MAX];
    struct store_key key;
    enum herald_err rc = keys_rotate(app->store, http_req_param(req, "id"), secret, &key);
    if (rc == HERALD_ERR_NOT_FOUND) {
        http_reply_error(req, rc, "no active key with this id", "id");
        return HTTP_REPLIED;
    }
    if (rc)
        return api_fail(req, rc);
    return reply_secret(req, 200, &key, secret);
}

enum http_result api_keys_revoke(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    const char *id = http_req_param(req, "id");
    const struct http_principal *me = http_req_principal(req);
    if (me && strcmp(me->key_id, id) == 0) {
        http_reply_error(req, HERALD_ERR_CONFLICT,
                         "a key cannot revoke itself: sign in with another admin key", "id");
        return HTTP_REPLIED;
    }
    enum herald_err rc = keys_revoke(app->store, id);
    if (rc == HERALD_ERR_NOT_FOUND) {
        http_reply_error(req, rc, "no active key with this id", "id");
        return HTTP_REPLIED;
    }
    if (rc)
        return api_fail(req, rc);
    http_reply_json(req, 200, json_pack("{s:b, s:s, s:b}", "success", 1, "id", id, "revoked", 1));
    return HTTP_REPLIED;
}
