/* Rates and availability out: the hotel's intents (PUT /api/ota/rates, PUT /api/ota/availability)
 * and their delivery to every channel that takes them, through an outbox on the job queue.
 *
 * An intent is stored with one outbox row per matching channel (enabled, takes_updates, same
 * hotel code, a type that carries that kind of message) and message kind — rates
 * (OTA_HotelRateAmountNotifRQ), restrictions (OTA_HotelAvailNotifRQ: open/close, MinLOS/MaxLOS,
 * closed to arrival/departure) and inventory (counts: OTA_HotelInvCountNotifRQ, or BookingLimit
 * in OTA_HotelAvailNotifRQ where the channel documents that) — split per calendar month for
 * Booking.com, all in one transaction with one `ota_deliver` job per channel. A still-pending row
 * that a newer one covers entirely (dates, weekdays, occupancies or restriction fields) is marked
 * superseded instead of being sent; rows already being sent are never raced (the newer one goes
 * after). For Booking.com a row that would change nothing (the latest live row with the same key
 * and dates carries the same values) is not queued (deltas only).
 *
 * Delivery (ari_deliver.c, job kind `ota_deliver`, params {"channelId"}): one node at a time per
 * channel (a lease on the channel's state row), rows in id order (so in date order per channel,
 * room type and rate plan, and in the order the hotel asked), batched per message kind (and month
 * for Booking.com). 5xx, 429, timeouts and unreadable answers put the batch back and the channel
 * is retried with backoff (1 s doubling to 5 min; a row gives up after OTA_ARI_MAX_ATTEMPTS);
 * a 4xx or an <Errors> answer fails the items it names (by LocatorID: RPH/RecordID), the others
 * are delivered, <Warnings> kept.
 *
 * Errors: HERALD_ERR_INVALID (field and message in err), HERALD_ERR_NOMEM, store errors. */
#ifndef HERALD_OTA_UPDATES_H
#define HERALD_OTA_UPDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "jobs/jobs.h"
#include "ota/channels.h"
#include "store/ota_updates.h"
#include "store/store.h"

#define OTA_ARI_MAX_AMOUNTS 20   /* occupancies per rate: guests 1..20 */
#define OTA_ARI_MAX_DAYS 750     /* longest date range of one intent */
#define OTA_ARI_MAX_ATTEMPTS 12  /* deliveries of one row before it fails */
#define OTA_ARI_BATCH 100        /* items per request */
#define OTA_ARI_MAX_LOS 999      /* MinLOS/MaxLOS bound */
#define OTA_ARI_MAX_COUNT 100000 /* rooms */

/* Restriction fields (store_ari_update.fields of a restrictions row). */
enum {
    OTA_ARI_F_STATUS = 1,
    OTA_ARI_F_MIN_LOS = 2,
    OTA_ARI_F_MAX_LOS = 4,
    OTA_ARI_F_CTA = 8,
    OTA_ARI_F_CTD = 16,
};

struct ota_rate_amount {
    int guests;         /* 1..OTA_ARI_MAX_AMOUNTS */
    const char *amount; /* decimal text, "120.00" */
};

struct ota_rates_input {
    const char *hotel_code, *room_type, *rate_plan;
    const char *from, *to; /* YYYY-MM-DD, inclusive */
    const char *currency;  /* ISO 4217, 3 upper-case letters */
    struct ota_rate_amount amounts[OTA_ARI_MAX_AMOUNTS];
    size_t namounts;
    int weekdays; /* bit 0 Monday .. bit 6 Sunday; 0 means every day */
};

struct ota_avail_input {
    const char *hotel_code, *room_type, *rate_plan; /* rate_plan NULL/"": the room type */
    const char *from, *to;
    bool has_count;
    int count;
    const char *status;   /* NULL, "open", "close" */
    int min_los, max_los; /* 0: not set */
    int cta, ctd;         /* -1 not set, 0 open, 1 closed */
    int weekdays;
};

/* What one intent queued for one channel. */
struct ota_fanout {
    int64_t channel_id;
    char channel_name[OTA_NAME_MAX];
    enum ota_channel_type type;
    int queued;     /* outbox rows */
    int unchanged;  /* Booking.com deltas: rows not queued because they would change nothing */
    int superseded; /* older pending rows this intent replaces */
};
struct ota_intent_result {
    int64_t intent_id;
    struct ota_fanout *channels; /* malloc'ed */
    size_t nchannels;
};
void ota_intent_result_clear(struct ota_intent_result *r);

struct ota_updates_opts {
    struct store *st;
    struct ota_channels *chs; /* NULL: the domain opens its own handle with key_file */
    const char *key_file;     /* HERALD_OTA_SECRET_FILE, when chs is NULL */
    struct jobs *jobs;
    long timeout_ms;      /* per request to a channel; 0: 30000 */
    int64_t job_lease_ms; /* the job layer's lease: a request never outlasts half of it */
};
struct ota_updates;

/* Creates the domain and registers the `ota_deliver` job kind (before jobs_start()).
 * HERALD_ERR_IO/CONFIG from ota_channels_open() when it opens its own channels handle. */
enum herald_err ota_updates_register(const struct ota_updates_opts *opts, struct ota_updates **out);
void ota_updates_free(struct ota_updates *u);

/* Validates, stores the intent and fans it out (see the top). HERALD_ERR_INVALID for bad input. */
enum herald_err ota_updates_put_rates(struct ota_updates *u, const struct ota_rates_input *in,
                                      struct ota_intent_result *out, struct herald_error *err);
enum herald_err ota_updates_put_availability(struct ota_updates *u,
                                             const struct ota_avail_input *in,
                                             struct ota_intent_result *out,
                                             struct herald_error *err);

/* Outbox rows above after_id, oldest first. Allocates *out (store_ari_updates_free()). */
enum herald_err ota_updates_list(struct ota_updates *u, const struct store_ari_filter *f,
                                 int64_t after_id, int limit, struct store_ari_update **out,
                                 size_t *n);

/* "monday".."sunday" or "mon".."sun" → its bit; 0 when it is neither. */
int ota_weekday_bit(const char *name);
/* Whether s is a real calendar date written YYYY-MM-DD. */
bool ota_date_valid(const char *s);

#endif
