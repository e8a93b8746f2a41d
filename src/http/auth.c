/* Authentication helpers: Bearer parsing, scope checks, and fixed-size short-lived caches of key
 * lookups by the secret's SHA-256 (successes: revoked within the TTL; failures: no re-lookup). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "http/internal.h"

#define AUTH_CACHE_SLOTS 4096

struct auth_entry {
    char hash[65];
    int64_t expires_ms;
    struct http_principal p;
};

struct auth_cache {
    pthread_mutex_t mu;
    int64_t ttl_ms;
    struct auth_entry slots[AUTH_CACHE_SLOTS];
};

enum herald_err auth_cache_new(int64_t ttl_ms, struct auth_cache **out)
{
    struct auth_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return HERALD_ERR_NOMEM;
    c->ttl_ms = ttl_ms;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return HERALD_OK;
}

void auth_cache_free(struct auth_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void auth_cache_clear(struct auth_cache *c)
{
    pthread_mutex_lock(&c->mu);
    memset(c->slots, 0, sizeof(c->slots));
    pthread_mutex_unlock(&c->mu);
}

static size_t slot_of(const char *hash)
{
    /* The hash is hex of SHA-256: its first digits are already uniformly spread. */
    return strtoul((char[9]){hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7],
                             '\0'},
                   NULL, 16) %
           AUTH_CACHE_SLOTS;
}

bool auth_cache_get(struct auth_cache *c, const char *hash, int64_t now_ms,
                    struct http_principal *out)
{
    struct auth_entry *e = &c->slots[slot_of(hash)];
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    if (e->expires_ms > now_ms && crypto_ct_equal(e->hash, 64, hash, 64)) {
        if (out)
            *out = e->p;
        hit = true;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void auth_cache_put(struct auth_cache *c, const char *hash, int64_t now_ms,
                    const struct http_principal *p)
{
    struct auth_entry *e = &c->slots[slot_of(hash)];
    pthread_mutex_lock(&c->mu);
    memcpy(e->hash, hash, 65);
    e->expires_ms = now_ms + c->ttl_ms;
    if (p)
        e->p = *p;
    else
        memset(&e->p, 0, sizeof(e->p));
    pthread_mutex_unlock(&c->mu);
}

bool auth_bearer_token(const char *header, const char **token)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return false;
    const char *t = header + 7;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    if (n == 0 || n > 256)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] > 0x7e)
            return false;
    *token = t;
    return true;
}

bool auth_scope_ok(const char *scopes, const char *needed)
{
    if (!needed)
        return true;
    size_t need_len = strlen(needed);
    const char *p = scopes;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if ((n == 5 && strncmp(p, "admin", 5) == 0) || (n == need_len && !strncmp(p, needed, n)))
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}
