/* The store's side of rates and availability out (store/ota_updates.c, statement block
 * STMT_OTA_UPDATES; migration 0015_ota_updates): the hotel's intents (ota_ari_intents), the
 * delivery outbox (ota_ari_updates: one row per intent, channel and message kind — and per
 * month for Booking.com — with its status pending|sending|delivered|failed|superseded, its
 * attempts and the channel's per-item <Errors>/<Warnings> as JSON arrays) and one delivery
 * state row per channel (ota_ari_channels: the node sending to it and until when, when it may be
 * tried again after a failure).
 *
 * Dates are "YYYY-MM-DD" text (they compare as text); weekdays is a bit mask (bit 0 = Monday ..
 * bit 6 = Sunday, 127 = every day); fields a bit mask of what a restrictions row sets
 * (ota/updates.h). All functions run inside the caller's transaction (store_run_tx()). Errors:
 * HERALD_ERR_NOMEM, HERALD_ERR_NOT_FOUND where a row must exist, store errors (store.h). */
#ifndef HERALD_STORE_OTA_UPDATES_H
#define HERALD_STORE_OTA_UPDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define STORE_ARI_CODE_MAX 65 /* hotel code, room type, rate plan (64 bytes + NUL) */

struct store_ari_update {
    int64_t id, intent_id, channel_id;
    char kind[16]; /* rates | restrictions | inventory */
    char hotel_code[STORE_ARI_CODE_MAX], room_type[STORE_ARI_CODE_MAX],
        rate_plan[STORE_ARI_CODE_MAX];
    char date_from[11], date_to[11];
    int weekdays, fields;
    char *payload; /* JSON object (owned) */
    char status[16];
    int attempts;
    char *errors, *warnings; /* JSON arrays (owned; NULL when not read) */
    int64_t superseded_by;   /* 0: none */
    int64_t created_at_ms, updated_at_ms, delivered_at_ms; /* 0: not delivered */
    char channel_name[129];                                /* list only */
};
void store_ari_updates_free(struct store_ari_update *rows, size_t n);

/* Inserts an intent; writes its id. */
enum herald_err store_ari_intent_insert(struct store_conn *c, const char *kind,
                                        const char *hotel_code, const char *room_type,
                                        const char *rate_plan, const char *from, const char *to,
                                        const char *body, int64_t now_ms, int64_t *id);
/* Inserts a pending outbox row from u (intent_id, channel_id, kind, codes, dates, weekdays,
 * fields, payload); writes its id. */
enum herald_err store_ari_update_insert(struct store_conn *c, const struct store_ari_update *u,
                                        int64_t now_ms, int64_t *id);
/* Marks superseded (by new_id) the still-pending rows of the same channel, kind, room type and
 * rate plan that u covers entirely: their dates inside u's, their weekdays and fields subsets
 * of u's. Rows being sent are left alone (u goes after them). *count gets how many. */
enum herald_err store_ari_supersede(struct store_conn *c, const struct store_ari_update *u,
                                    int64_t new_id, int64_t now_ms, int64_t *count);
/* Booking.com deltas: *same is true when the latest live row (pending, sending or delivered)
 * with exactly u's key, dates, weekdays and fields carries u's payload and no later live row of
 * that key overlaps its dates — so sending u would change nothing. */
enum herald_err store_ari_unchanged(struct store_conn *c, const struct store_ari_update *u,
                                    bool *same);

/* A channel's delivery state. */
struct store_ari_state {
    int64_t channel_id;
    char holder[64]; /* "" when nobody sends */
    int64_t lease_until_ms, retry_at_ms;
    int failures;
    char last_error[256];
    int64_t kicked_at_ms; /* a delivery job is queued since (0: none) */
};
/* Reads the channel's state, creating it when missing, locked until the transaction ends. */
enum herald_err store_ari_state_lock(struct store_conn *c, int64_t channel_id, int64_t now_ms,
                                     struct store_ari_state *out);
enum herald_err store_ari_state_save(struct store_conn *c, const struct store_ari_state *s,
                                     int64_t now_ms);
/* Whether a delivery job must be queued for the channel: true (and the time noted) unless one
 * was queued since stale_before_ms and has not started yet. Creates the state row if missing. */
enum herald_err store_ari_kick(struct store_conn *c, int64_t channel_id, int64_t now_ms,
                               int64_t stale_before_ms, bool *kicked);
/* Rows of the channel left 'sending' by a holder whose lease passed: pending again. */
enum herald_err store_ari_reset_sending(struct store_conn *c, int64_t channel_id);
/* The channel's pending rows, oldest first (errors/warnings not read). Allocates *out. */
enum herald_err store_ari_pending(struct store_conn *c, int64_t channel_id, int limit,
                                  struct store_ari_update **out, size_t *n);
/* The channel's pending rows of one kind and hotel lying entirely within [from, to] and with
 * no older pending row of their room type and rate plan outside it, oldest first (Booking.com's
 * month batches: every room-rate of a month in one request, each key still in date order).
 * Allocates *out. */
enum herald_err store_ari_pending_within(struct store_conn *c, int64_t channel_id, const char *kind,
                                         const char *hotel_code, const char *from, const char *to,
                                         int limit, struct store_ari_update **out, size_t *n);
/* pending → sending for the rows whose ids are in `ids` (a JSON array). */
enum herald_err store_ari_mark_sending(struct store_conn *c, int64_t channel_id, const char *ids,
                                       int64_t now_ms);
/* A row being sent gets its outcome (delivered or failed), one attempt more, its errors and
 * warnings (JSON arrays). NOT_FOUND when it is no longer being sent. */
enum herald_err store_ari_outcome(struct store_conn *c, int64_t id, const char *status,
                                  const char *errors, const char *warnings, int64_t now_ms);
/* Rows being sent whose delivery failed for a passing reason: one attempt more, `errors`
 * recorded, pending again — or failed once they reach max_attempts. */
enum herald_err store_ari_retry_rows(struct store_conn *c, const char *ids, const char *errors,
                                     int max_attempts, int64_t now_ms);
/* Every pending or sending row of the channel fails with `errors` (the channel was deleted,
 * disabled or stopped taking updates). */
enum herald_err store_ari_fail_channel(struct store_conn *c, int64_t channel_id, const char *errors,
                                       int64_t now_ms);

struct store_ari_filter {
    const char *status;     /* NULL/"": any; "pending" includes rows being sent */
    int64_t channel_id;     /* 0: any */
    const char *hotel_code; /* NULL/"": any */
    const char *kind;       /* NULL/"": any */
    int64_t intent_id;      /* 0: any */
};
/* Rows with ids above after_id, oldest first, with their channel's name. Allocates *out. */
enum herald_err store_ari_list(struct store_conn *c, const struct store_ari_filter *f,
                               int64_t after_id, int limit, struct store_ari_update **out,
                               size_t *n);

#endif
