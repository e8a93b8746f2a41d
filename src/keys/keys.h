/* API keys: creation, rotation, revocation and lookup. A secret is shown once, when created
 * or rotated; only its SHA-256 is stored. */
#ifndef HERALD_KEYS_KEYS_H
#define HERALD_KEYS_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "store/store.h"

#define KEYS_SECRET_MAX 64
#define KEYS_DEFAULT_SCOPES "events:read,events:write,sync:run"

struct keys_new {
    const char *name;       /* 1-128 printable characters */
    const char *scopes;     /* comma-separated known scopes; NULL = KEYS_DEFAULT_SCOPES */
    const char *rate_limit; /* "N/min" etc.; NULL = the server default */
};

/* The scopes Herald knows, NULL-terminated; docs/api.md has the table of scopes × routes.
 * admin: everything. events:read / events:write: list / store events. events:import: store
 * events under a connector's platform (lemlist, smartlead). sync:run: start, follow
 * and cancel full syncs. jobs:read: job status and dead letters (which hold raw upstream
 * personal data). jobs:write: retry dead letters. ops: database performance and optimize,
 * migration state, process metrics. Rolling migrations back needs admin. */
extern const char *const keys_known_scopes[];
/* HERALD_ERR_INVALID with field "scopes" and a message in *err (may be NULL) when a scope is
 * unknown or the list malformed. */
enum herald_err keys_validate_scopes(const char *scopes, struct herald_error *err);
/* Creates a key and writes its secret. HERALD_ERR_INVALID with the field ("name", "scopes",
 * "rate_limit") and message in *err (may be NULL), or a store/crypto error. */
enum herald_err keys_create(struct store *st, const struct keys_new *spec,
                            char secret[KEYS_SECRET_MAX], struct store_key *out,
                            struct herald_error *err);
/* New secret for an active key; the old one stops working. HERALD_ERR_NOT_FOUND otherwise. */
enum herald_err keys_rotate(struct store *st, const char *id, char secret[KEYS_SECRET_MAX],
                            struct store_key *out);
enum herald_err keys_revoke(struct store *st, const char *id);
/* Allocates *out (free() it). */
enum herald_err keys_list(struct store *st, struct store_key **out, size_t *count);
/* One page of keys in creation order, after the key (after_ms, after_id); after_ms -1 for the
 * first page. Allocates *out (free() it). */
enum herald_err keys_page(struct store *st, int64_t after_ms, const char *after_id, int limit,
                          struct store_key **out, size_t *count);
/* Finds the active key for a presented secret: HERALD_ERR_UNAUTHORIZED when unknown or
 * revoked. The stored hash is compared in constant time. */
enum herald_err keys_lookup(struct store *st, const char *secret, struct store_key *out);
/* Creates an admin key named "admin" when no active key exists; *created tells. */
enum herald_err keys_bootstrap(struct store *st, char secret[KEYS_SECRET_MAX],
                               struct store_key *out, bool *created);

#endif
