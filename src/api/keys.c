/* Owns /api/keys: list, create, rotate and revoke API keys over HTTP (scope admin), the same
 * operations as `herald keys`; a secret appears once, in the answer that made it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/crypto.h"
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

/* The cursor: base64url of "key1:<created ms>:<id>" of the page's last key. Keys have text
 * ids, so the integer id cursor of the other lists cannot carry them. */
static void cursor_encode(const struct store_key *k, char out[160])
{
    char plain[96];
    int n = snprintf(plain, sizeof(plain), "key1:%" PRId64 ":%s", k->created_at_ms, k->id);
    crypto_b64url((const uint8_t *)plain, (size_t)n, out);
}

static bool cursor_decode(const char *cursor, int64_t *ms, char id[40])
{
    char plain[96];
    size_t n = 0;
    if (strlen(cursor) > 150 ||
        crypto_b64url_decode(cursor, (uint8_t *)plain, sizeof(plain) - 1, &n))
        return false;
    plain[n] = '\0';
    char *end = NULL;
    if (strncmp(plain, "key1:", 5) != 0 || plain[5] < '0' || plain[5] > '9')
        return false;
    *ms = strtoll(plain + 5, &end, 10);
    size_t len = *end == ':' ? strlen(end + 1) : 0;
    if (len == 0 || len >= 40)
        return false;
    memcpy(id, end + 1, len + 1);
    return true;
}

enum http_result api_keys_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    long long limit;
    int64_t after_ms = -1;
    char after_id[40] = "";
    const char *cursor = http_req_query(req, "cursor");
    if (http_query_int(req, "limit", 1, 100, 50, &limit))
        return HTTP_REPLIED;
    if (cursor && !cursor_decode(cursor, &after_ms, after_id))
        return http_reply_error(req, HERALD_ERR_INVALID, "cursor is not one this server issued",
                                "cursor"),
               HTTP_REPLIED;
    struct store_key *keys = NULL;
    size_t n = 0;
    enum herald_err rc = keys_page(app->store, after_ms, after_id, (int)limit, &keys, &n);
    if (rc)
        return api_fail(req, rc);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, key_json(&keys[i]));
    char next[160];
    if (n == (size_t)limit)
        cursor_encode(&keys[n - 1], next);
    free(keys);
    json_t *body = arr ? json_pack("{s:b, s:o, s:o, s:I}", "success", 1, "keys", arr, "nextCursor",
                                   n == (size_t)limit ? json_string(next) : json_null(), "limit",
                                   (json_int_t)limit)
                       : NULL;
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
