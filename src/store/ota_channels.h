/* The store's side of OTA channels (store/ota_channels.c, statement block STMT_OTA_CHANNELS,
 * migration 0012): one row per channel with its sealed credentials (text written by
 * ota/credentials.c, never readable here), and its pull state: next_pull_at_ms (the
 * compare-and-set token of the pull scheduler, so one node queues each pull), pull_job_id
 * (the ota_pull job in flight: no second one is queued while it is pending or running),
 * last_pull_at_ms / last_pull_status / last_error (what GET shows).
 *
 * All functions run inside the caller's transaction. Errors: HERALD_ERR_NOT_FOUND (no such
 * channel), HERALD_ERR_DUPLICATE (name taken), HERALD_ERR_CONFLICT (the compare-and-set lost),
 * HERALD_ERR_NOMEM, store errors (store.h). */
#ifndef HERALD_STORE_OTA_CHANNELS_H
#define HERALD_STORE_OTA_CHANNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

struct store_ota_channel {
    int64_t id;
    char name[128];
    char type[16]; /* booking, expedia, siteminder, alpinebits, generic */
    char mode[8];  /* pull, push */
    char hotel_code[64];
    char base_url[1024];
    char updates_url[1024]; /* "": rates and availability go to base_url */
    int64_t poll_seconds;
    bool enabled, takes_updates;
    char *credentials; /* sealed text ("" when none); owned */
    int64_t next_pull_at_ms;
    int64_t last_pull_at_ms; /* 0: never */
    char last_pull_status[32];
    char *last_error; /* NULL when none; owned */
    int64_t created_at_ms, updated_at_ms;
};
void store_ota_channel_clear(struct store_ota_channel *ch);
void store_ota_channels_free(struct store_ota_channel *rows, size_t n);

/* Inserts the row (id ignored; next_pull_at_ms = now) and writes the new id. */
enum herald_err store_ota_channel_insert(struct store_conn *c, const struct store_ota_channel *ch,
                                         int64_t now_ms, int64_t *id);
/* Rewrites name, type, mode, hotel_code, base_url, updates_url, poll_seconds, enabled,
 * takes_updates and credentials of row ch->id, and next_pull_at_ms = now (a changed channel is
 * pulled at once). */
enum herald_err store_ota_channel_update(struct store_conn *c, const struct store_ota_channel *ch,
                                         int64_t now_ms);
enum herald_err store_ota_channel_delete(struct store_conn *c, int64_t id);
enum herald_err store_ota_channel_get(struct store_conn *c, int64_t id,
                                      struct store_ota_channel *out);
/* Channels with id > after_id, ascending, at most limit (limit <= 0: all). Allocates *out. */
enum herald_err store_ota_channel_list(struct store_conn *c, int64_t after_id, int limit,
                                       struct store_ota_channel **out, size_t *n);

/* A due channel: its id, next_pull_at_ms (the compare-and-set token) and poll period. */
struct store_ota_due {
    int64_t id, token, poll_seconds;
};
/* Enabled pull channels with a base URL whose next_pull_at_ms <= now, most overdue first; at
 * most max. */
enum herald_err store_ota_channel_due(struct store_conn *c, int64_t now_ms,
                                      struct store_ota_due *rows, size_t max, size_t *n);
/* Moves a due channel's next_pull_at_ms from `token` to `next_ms` and records `job_id` as its
 * pull in flight, unless another node did first or its previous pull job is still pending or
 * running: HERALD_ERR_CONFLICT then. */
enum herald_err store_ota_channel_claim_pull(struct store_conn *c, int64_t id, int64_t token,
                                             int64_t next_ms, const char *job_id);
/* Records a pull's outcome: last_pull_at_ms = now, last_pull_status, last_error (NULL clears). */
enum herald_err store_ota_channel_pull_result(struct store_conn *c, int64_t id, int64_t now_ms,
                                              const char *status, const char *error);

#endif
