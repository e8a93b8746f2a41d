#include "keys/keys.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/crypto.h"

const char *const keys_known_scopes[] = {"admin",    "events:read", "events:write",
                                         "sync:run", "jobs:read",   NULL};

int keys_validate_scopes(const char *scopes, char *err, size_t err_size)
{
    size_t total = strlen(scopes);
    if (total == 0 || total >= sizeof(((struct store_key *)0)->scopes)) {
        snprintf(err, err_size, "scopes must be a non-empty comma-separated list");
        return HERALD_ERR_INVALID;
    }
    const char *p = scopes;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool known = false;
        for (int i = 0; keys_known_scopes[i]; i++)
            if (strlen(keys_known_scopes[i]) == n && strncmp(keys_known_scopes[i], p, n) == 0)
                known = true;
        if (!known) {
            snprintf(err, err_size,
                     "unknown scope \"%.*s\" (known: admin, events:read, "
                     "events:write, sync:run, jobs:read)",
                     (int)(n > 40 ? 40 : n), p);
            return HERALD_ERR_INVALID;
        }
        if (!end)
            return HERALD_OK;
        p = end + 1;
    }
}

static int new_secret(char secret[KEYS_SECRET_MAX], char hash[65], char prefix[24])
{
    uint8_t rnd[32];
    char body[48];
    int rc = crypto_random(rnd, sizeof(rnd));
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

int keys_create(struct store *st, const struct keys_new *spec, char secret[KEYS_SECRET_MAX],
                struct store_key *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    size_t name_len = spec->name ? strlen(spec->name) : 0;
    if (name_len == 0 || name_len > 128) {
        snprintf(err, err_size, "name must be 1 to 128 characters");
        return HERALD_ERR_INVALID;
    }
    for (size_t i = 0; i < name_len; i++)
        if ((unsigned char)spec->name[i] < 0x20 || spec->name[i] == 0x7f) {
            snprintf(err, err_size, "name must not contain control characters");
            return HERALD_ERR_INVALID;
        }
    const char *scopes = spec->scopes ? spec->scopes : KEYS_DEFAULT_SCOPES;
    int rc = keys_validate_scopes(scopes, err, err_size);
    if (rc)
        return rc;
    if (spec->rate_limit) {
        struct cfg_rate rate;
        if (cfg_parse_rate(spec->rate_limit, &rate)) {
            snprintf(err, err_size, "rate limit must look like 100/min, 10/s or 5000/h");
            return HERALD_ERR_INVALID;
        }
        snprintf(out->rate_limit, sizeof(out->rate_limit), "%s", spec->rate_limit);
    }
    uint8_t rnd[6];
    if ((rc = crypto_random(rnd, sizeof(rnd))))
        return rc;
    char hex[13];
    crypto_hex(rnd, sizeof(rnd), hex);
    snprintf(out->id, sizeof(out->id), "key_%s", hex);
    snprintf(out->name, sizeof(out->name), "%s", spec->name);
    snprintf(out->scopes, sizeof(out->scopes), "%s", scopes);
    out->created_at_ms = clock_now_ms();
    if ((rc = new_secret(secret, out->secret_hash, out->prefix)))
        return rc;
    struct key_tx tx = {.key = out};
    return store_run_tx(st, insert_tx, &tx);
}

static int rotate_tx(struct store_conn *c, void *arg)
{
    struct key_tx *tx = arg;
    int rc = store_key_rotate(c, tx->id, tx->key->secret_hash, tx->key->prefix, tx->now);
    if (!rc)
        rc = store_key_find_by_id(c, tx->id, tx->key);
    return rc;
}

int keys_rotate(struct store *st, const char *id, char secret[KEYS_SECRET_MAX],
                struct store_key *out)
{
    memset(out, 0, sizeof(*out));
    int rc = new_secret(secret, out->secret_hash, out->prefix);
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

int keys_revoke(struct store *st, const char *id)
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

int keys_list(struct store *st, struct store_key **out, size_t *count)
{
    struct list_tx tx = {out, count};
    return store_run_read(st, list_tx, &tx);
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

int keys_lookup(struct store *st, const char *secret, struct store_key *out)
{
    char hash[65];
    crypto_sha256_hex(secret, hash);
    struct lookup_tx tx = {hash, out};
    int rc = store_run_read(st, lookup_tx, &tx);
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

int keys_bootstrap(struct store *st, char secret[KEYS_SECRET_MAX], struct store_key *out,
                   bool *created)
{
    struct key_tx tx = {0};
    *created = false;
    int rc = store_run_read(st, count_tx, &tx);
    if (rc || tx.count > 0)
        return rc;
    char err[128];
    struct keys_new spec = {.name = "admin", .scopes = "admin"};
    rc = keys_create(st, &spec, secret, out, err, sizeof(err));
    *created = rc == HERALD_OK;
    return rc;
}
