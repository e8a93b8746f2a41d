/* The store's side of what partners push to Herald (store/ota_inbound.c, statement block
 * STMT_OTA_INBOUND, table ota_inbound_seen of migration 0014): the ids already taken, so that
 * a replayed Standard Webhooks delivery (kind "webhook") is answered without effect and a
 * reused WS-Security UsernameToken nonce (kind "wsse_nonce") is refused. A row counts until its
 * expiry; expired rows are swept in bounded batches.
 *
 * Values are at most OTA_SEEN_VALUE_MAX bytes (the caller checks). Every function runs inside
 * the caller's transaction (or alone on a pooled connection). Errors: store errors (store.h). */
#ifndef HERALD_STORE_OTA_INBOUND_H
#define HERALD_STORE_OTA_INBOUND_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define OTA_SEEN_VALUE_MAX 256

/* Whether (channel, kind, value) was taken and has not expired at now_ms. */
enum herald_err store_ota_seen_get(struct store_conn *c, int64_t channel_id, const char *kind,
                                   const char *value, int64_t now_ms, bool *seen);
/* Takes (channel, kind, value) until expires_ms, in one statement: *fresh is true when it was
 * not taken (or its row had expired and is renewed), false when it is a repeat. */
enum herald_err store_ota_seen_mark(struct store_conn *c, int64_t channel_id, const char *kind,
                                    const char *value, int64_t now_ms, int64_t expires_ms,
                                    bool *fresh);
/* Deletes at most `limit` rows expired at now_ms; *deleted counts them. */
enum herald_err store_ota_seen_sweep(struct store_conn *c, int64_t now_ms, int limit,
                                     int64_t *deleted);

#endif
