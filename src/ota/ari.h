/* Private to the rates-and-availability modules (updates.c, ari_*.c): the per channel type
 * shapes of the outgoing messages (ari_shape.c), the message builders (ari_build.c), the reading
 * of the channel's answer (ari_reply.c) and the delivery job kind (ari_deliver.c).
 *
 * Shapes and the public documents they follow:
 *   booking     Booking.com connectivity: POST {base}/hotels/ota/OTA_HotelRateAmountNotif and
 *               .../OTA_HotelAvailNotif (counts as BookingLimit, restrictions as LengthsOfStay /
 *               RestrictionStatus), headers Accept-Version: 1.1 and Content-Type:
 *               application/xml, HTTP Basic; one hotel and one calendar month per request,
 *               room-rates grouped, deltas only.
 *   siteminder  SiteMinder pmsXchange: the same two OpenTravel 2003/05 messages in a SOAP 1.1
 *               envelope with a WS-Security UsernameToken (ota_channel_post() wraps it), counts
 *               as BookingLimit in OTA_HotelAvailNotifRQ.
 *   generic     bare OpenTravel 2003/05: OTA_HotelRateAmountNotifRQ, OTA_HotelAvailNotifRQ and
 *               OTA_HotelInvCountNotifRQ (CountType 2) posted to base_url.
 *   alpinebits  AlpineBits FreeRooms: OTA_HotelInvCountNotifRQ with the action
 *               "OTA_HotelInvCountNotif:FreeRooms" (multipart, by ota_channel_post()); rates and
 *               restrictions are not AlpineBits messages of this kind, so not sent.
 *   expedia     Expedia's availability/rates API is not OpenTravel: not sent. */
#ifndef HERALD_OTA_ARI_H
#define HERALD_OTA_ARI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "jobs/jobs.h"
#include "ota/channels.h"
#include "ota/updates.h"
#include "store/ota_updates.h"

enum ari_kind { ARI_RATES, ARI_RESTRICTIONS, ARI_INVENTORY };
enum ari_msg { ARI_MSG_NONE, ARI_MSG_RATE_AMOUNT, ARI_MSG_AVAIL, ARI_MSG_INV_COUNT };

struct ari_shape {
    enum ota_channel_type type;
    enum ari_msg msg[3];        /* by enum ari_kind; ARI_MSG_NONE: not sent to this type */
    bool month_batches;         /* one calendar month per request (and per outbox row) */
    bool deltas;                /* skip rows that would change nothing */
    bool soap;                  /* ota_channel_post() wraps; the SOAPAction is the RQ name */
    const char *path_prefix;    /* appended: path_prefix + message name ("" = base_url) */
    const char *const *headers; /* extra request headers */
    const char *const *actions; /* by enum ari_msg: the action handed to ota_channel_post() */
};

/* The shape of a channel type (never NULL). */
const struct ari_shape *ari_shape_of(enum ota_channel_type type);
/* "rates", "restrictions", "inventory" and back (-1 when unknown). */
const char *ari_kind_name(enum ari_kind k);
int ari_kind_parse(const char *s);
/* The OpenTravel RQ root for a message ("OTA_HotelAvailNotifRQ"). */
const char *ari_msg_root(enum ari_msg m);

/* Picks, from the channel's pending rows (oldest first), the ones that go in one request: the
 * first row's kind and hotel code (and month where the shape batches by month), at most
 * OTA_ARI_BATCH, and never a row after an earlier row of the same kind, room type and rate plan
 * that stays behind (so the order per key holds). Writes indexes into pick; returns how many. */
size_t ari_pick_batch(const struct ari_shape *shape, const struct store_ari_update *rows, size_t n,
                      size_t *pick);

/* Appends the request document for the picked rows (one hotel; item i carries LocatorID i+1)
 * to out. HERALD_ERR_INVALID for a payload it cannot read, buf errors. */
enum herald_err ari_build(enum ari_msg msg, const char *hotel_code,
                          const struct store_ari_update *const *items, size_t n, int64_t now_ms,
                          struct buf *out);

/* What the channel said about each item of a request. */
struct ari_item_result {
    bool failed;
    json_t *errors, *warnings; /* arrays of {"type","code","text"} (owned) */
};
enum ari_reply_kind {
    ARI_REPLY_DONE,      /* items[] say delivered or failed */
    ARI_REPLY_TRANSIENT, /* try the whole request again later (why in `why`) */
};
/* Reads an answer with HTTP status `status` to a request of n items. items must hold n zeroed
 * entries; free them with ari_items_clear(). 4xx other than 429 fail every item with the reply's
 * errors (or the status); <Errors> without a LocatorID/RPH/RecordID fail every item, with one
 * only that item; <Warnings> likewise; Error Type 12 Code 187/448 (system unavailable, system
 * error) is transient, as is an answer that is neither <Success/> nor <Errors>. */
enum ari_reply_kind ari_read_reply(long status, const char *body, size_t len, size_t n,
                                   struct ari_item_result *items, char *why, size_t why_cap);
void ari_items_clear(struct ari_item_result *items, size_t n);

/* The domain (updates.h) as its modules see it. */
struct ota_updates {
    struct store *st;
    struct ota_channels *chs;
    bool own_chs; /* opened here: closed by ota_updates_free() */
    struct jobs *jobs;
    long timeout_ms;
};

/* One intent on its way into the outbox: up to two row templates (kind, fields, payload). */
struct ari_tpl {
    enum ari_kind kind;
    int fields;
    char *payload;
};
struct ari_intent {
    const char *kind; /* "rates" | "availability" */
    const char *hotel_code, *room_type, *rate_plan, *from, *to;
    int weekdays;
    struct ari_tpl tpl[2];
    size_t ntpl;
};
/* Stores the intent and its outbox rows for every channel that takes them, supersedes what
 * they cover and queues one `ota_deliver` job per channel, in one transaction (ari_fanout.c). */
enum herald_err ari_fan_out(struct ota_updates *u, const struct ari_intent *it,
                            struct ota_intent_result *out);

/* The delivery job kind (ari_deliver.c). */
int ari_deliver_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem);
int ari_deliver_run(struct jobs_ctx *ctx);

#endif
