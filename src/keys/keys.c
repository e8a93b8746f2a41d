/* Owns API keys: validating a new key's name, scopes and rate limit, making secrets (only
 * their SHA-256 is stored), and the create/rotate/revoke/list/lookup/bootstrap transactions. */
#include "keys/keys.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/crypto.h"

const char *const keys_known_scopes[] = {"admin",
                                         "events:read",
                                         "events:write",
                                         "events:import",
                                         "sync:run",
                                         "jobs:read",
                                         "jobs:write",
                                         "ops",
                                         "contacts:read",
                                         "contacts:write",
                                         "campaigns:read",
                                         "campaigns:write",
                                         "campaigns:send",
                                         "ota:read",
                                         "ota:write",
                                         "privacy",
                                         NULL};

enum herald_err keys_validate_scopes(const char *scopes, struct herald_error *err)
{
    size_t total = strlen(scopes);
    if (total == 0 || total >= sizeof(((struct store_key *)0)->scopes))
        return herald_error_set(err, HERALD_ERR_INVALID, "scopes",
                                "scopes must be a non-empty comma-separated list");
    for (const char *p = scopes;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool known = false;
        for (int i = 0; keys_known_scopes[i]; i++)
            if (strlen(keys_known_scopes[i]) == n && strncmp(keys_known_scopes[i], p, n) == 0)
                known = true;
        if (!known)
            return herald_error_set(
                err, HERALD_ERR_INVALID, "scopes",
                "unknown scope \"%.*s\" (known: admin, events:read, events:write, "
                "events:import, sync:run, jobs:read, jobs:write, ops, contacts:read, "
                "contacts:write, campaigns:read, campaigns:write, campaigns:send, ota:read, "
                "ota:write, privacy)",
                (int)(n > 40 ? 40 : n), p);
        if (!end)
            return HERALD_OK;
        p = end + 1;
    }
}

static enum herald_err new_secret(char secret[KEYS_SECRET_MAX], char hash[65], char prefix[24])
{
    uint8_t rnd[32];
    char body[48];
    enum herald_err rc = crypto_random(rnd, sizeof(rnd));
    if (rc)
        return rc;
    crypto_b64url(rnd, sizeof(rnd), body);
    snprintf(secret, KEYS_SECRET_MAX, "hrld_%s", body);
    crypto_sha256_hex(secret, hash);
    snprintf(prefix, 24, "%.12s", secret);
    memset(rnd, 0, sizeof(rnd));
    return HERALD_OK;
}

struct key_tx {
    struct store_key *key;
    const char *id;
    int64_t now;
    int64_t count;
};

static int insert_tx(struct store_conn *c, void *arg)
{
    return store_key_insert(c, ((struct key_tx *)arg)->key);
}

/* Checks the name, scopes and rate limit of a new key; fills the matching fields of *out. */
static enum herald_err check_new_key(const struct keys_new *spec, struct store_key *out,
                                     struct herald_error *err)
{
    size_t name_len = spec->name ? strlen(spec->name) : 0;
    if (name_len == 0 || name_len > 128)
        return herald_error_set(err, HERALD_ERR_INVALID, "name",
                                "name must be 1 to 128 characters");
    for (size_t i = 0; i < name_len; i++)
        if ((unsigned char)spec->name[i] < 0x20 || spec->name[i] == 0x7f)
            return herald_error_set(err, HERALD_ERR_INVALID, "name",
                                    "name must not contain control characters");
    const char *scopes = spec->scopes ? spec->scopes : KEYS_DEFAULT_SCOPES;
    enum herald_err rc = keys_validate_scopes(scopes, err);
    if (rc)
        return rc;
    struct cfg_rate rate;
    if (spec->rate_limit && cfg_parse_rate(spec->rate_limit, &rate))
        return herald_error_set(err, HERALD_ERR_INVALID, "rate_limit",
                                "rate limit must look like 100/min, 10/s or 5000/h");
    if (spec->rate_limit)
        snprintf(out->rate_limit, sizeof(out->rate_limit), "%s", spec->rate_limit);
    snprintf(out->name, sizeof(out->name), "%s", spec->name);
    snprintf(out->scopes, sizeof(out->scopes), "%s", scopes);
    return HERALD_OK;
}

enum herald_err keys_create(struct store *st, const struct keys_new *spec,
                            char secret[KEYS_SECRET_MAX], struct store_key *out,
                            struct herald_error *err)
{
    memset(out, 0, sizeof(*out));
    enum herald_err rc = check_new_key(spec, out, err);
    if (rc)
        return rc;
    uint8_t rnd[6];
    rc = crypto_random(rnd, sizeof(rnd));
    if (rc)
        return herald_error_set(err, rc, NULL, NULL);
    char hex[13];
    crypto_hex(rnd, sizeof(rnd), hex);
    snprintf(out->id, sizeof(out->id), "key_%s", hex);
    out->created_at_ms = clock_now_ms();
    rc = new_secret(secret, out->secret_hash, out->prefix);
    if (rc)
        return herald_error_set(err, rc, NULL, NULL);
    struct key_tx tx = {.key = out};
    rc = store_run_tx(st, insert_tx, &tx);
    return rc ? herald_error_set(err, rc, NULL, NULL) : HERALD_OK;
}

static int rotate_tx(struct store_conn *c, void *arg)
{
    struct key_tx *tx = arg;
    enum herald_err rc =
        store_key_rotate(c, tx->id, tx->key->secret_hash, tx->key->prefix, tx->now);
    if (rc)
        return rc;
    return store_key_find_by_id(c, tx->id, tx->key);
}

enum herald_err keys_rotate(struct store *st, const char *id, char secret[KEYS_SECRET_MAX],
                            struct store_key *out)
{
    memset(out, 0, sizeof(*out));
    enum herald_err rc = new_secret(secret, out->secret_hash, out->prefix);
    if (rc)
        return rc;
    struct key_tx tx = {.key = out, .id = id, .now = clock_now_ms()};
    return store_run_tx(st, rotate_tx, &tx);
}

static int revoke_tx(struct store_conn *c, void *arg)
{
    struct key_tx *tx = arg;
    return store_key_revoke(c, tx->id, tx->now);
}

enum herald_err keys_revoke(struct store *st, const char *id)
{
    struct key_tx tx = {.id = id, .now = clock_now_ms()};
    return store_run_tx(st, revoke_tx, &tx);
}

struct list_tx {
    struct store_key **out;
    size_t *count;
};

static int list_tx(struct store_conn *c, void *arg)
{
    struct list_tx *tx = arg;
    return store_key_list(c, tx->out, tx->count);
}

enum herald_err keys_list(struct store *st, struct store_key **out, size_t *count)
{
    struct list_tx tx = {out, count};
    return store_run_read(st, list_tx, &tx);
}

struct page_tx {
    int64_t after_ms;
    const char *after_id;
    int limit;
    struct store_key **out;
    size_t *count;
};

static int page_tx(struct store_conn *c, void *arg)
{
    struct page_tx *tx = arg;
    return store_key_page(c, tx->after_ms, tx->after_id, tx->limit, tx->out, tx->count);
}

enum herald_err keys_page(struct store *st, int64_t after_ms, const char *after_id, int limit,
                          struct store_key **out, size_t *count)
{
    struct page_tx tx = {after_ms, after_id, limit, out, count};
    return store_run_read(st, page_tx, &tx);
}

struct lookup_tx {
    const char *hash;
    struct store_key *out;
};

static int lookup_tx(struct store_conn *c, void *arg)
{
    struct lookup_tx *tx = arg;
    return store_key_find_by_hash(c, tx->hash, tx->out);
}

enum herald_err keys_lookup(struct store *st, const char *secret, struct store_key *out)
{
    char hash[65];
    crypto_sha256_hex(secret, hash);
    struct lookup_tx tx = {hash, out};
    enum herald_err rc = store_run_read(st, lookup_tx, &tx);
    if (rc == HERALD_ERR_NOT_FOUND)
        return HERALD_ERR_UNAUTHORIZED;
    if (rc)
        return rc;
    /* The index found the row; the comparison itself must not leak timing. */
    if (!crypto_ct_equal(out->secret_hash, strlen(out->secret_hash), hash, 64) ||
        out->revoked_at_ms != 0)
        return HERALD_ERR_UNAUTHORIZED;
    return HERALD_OK;
}

static int count_tx(struct store_conn *c, void *arg)
{
    return store_key_count_active(c, &((struct key_tx *)arg)->count);
}

enum herald_err keys_bootstrap(struct store *st, char secret[KEYS_SECRET_MAX],
                               struct store_key *out, bool *created)
{
    struct key_tx tx = {0};
    *created = false;
    enum herald_err rc = store_run_read(st, count_tx, &tx);
    if (rc || tx.count > 0)
        return rc;
    struct keys_new spec = {.name = "admin", .scopes = "admin"};
    rc = keys_create(st, &spec, secret, out, NULL);
    *created = rc == HERALD_OK;
    return rc;
}
