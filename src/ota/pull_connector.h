/* Pull connectors, one file per channel type (pull_booking.c, pull_siteminder.c,
 * pull_alpinebits.c, pull_generic.c), in one table (pull_common.c). Private to ota/.
 *
 * A connector reads one or more queues of the channel (Booking.com: new reservations, then
 * modified/cancelled ones; the OpenTravel read types: the one "undelivered" queue). For each
 * queue the pull job fetches, parses (ota_res_parse), ingests in one transaction, and ONLY
 * THEN acknowledges what it stored, so a crash in between makes the channel deliver again and
 * the ingest recognise the same revisions (duplicate). */
#ifndef HERALD_OTA_PULL_CONNECTOR_H
#define HERALD_OTA_PULL_CONNECTOR_H

#include <stddef.h>

#include "base/buf.h"
#include "ota/channels.h"
#include "ota/reservations.h"

struct ota_connector {
    enum ota_channel_type type;
    size_t nqueues;
    const char *const *queues; /* names, for logs and the job's progress */
    /* GET path probed without credentials by validation's "reachable" check. */
    const char *probe_path;
    /* Reads queue q: HERALD_OK with a 2xx reply (its body is the message to parse), or the
     * error of ota_channel_post/get (reply filled). */
    enum herald_err (*fetch)(struct ota_channels *chs, const struct ota_channel *ch, size_t q,
                             const struct ota_send_opts *o, struct ota_reply *reply);
    /* Acknowledges the n reservations of msg read from queue q and stored as results[]. */
    enum herald_err (*ack)(struct ota_channels *chs, const struct ota_channel *ch, size_t q,
                           const struct ota_res_message *msg,
                           const struct ota_ingest_result *results, const struct ota_send_opts *o,
                           struct ota_reply *reply);
};

/* The connector of a type; NULL when the type has no pull connector (expedia). */
const struct ota_connector *ota_connector_find(enum ota_channel_type type);

extern const struct ota_connector ota_pull_booking, ota_pull_siteminder, ota_pull_alpinebits,
    ota_pull_generic;

/* ---- shared by the OpenTravel read/report connectors (pull_common.c) ---- */
/* An OTA_ReadRQ for ch's hotel: SelectionCriteria SelectionType="Undelivered" (siteminder,
 * generic) or without selection (alpinebits: the server sends what was not acknowledged). */
enum herald_err ota_build_read_rq(const struct ota_channel *ch, const char *version,
                                  bool undelivered, struct buf *out);
/* An OTA_NotifReportRQ with <Success/> acknowledging each reservation of msg: its ResStatus
 * (Book/Modify/Cancel), UniqueID Type="14" (Type="15" for a cancellation when
 * cancel_type_15) ID = the channel's id, and Herald's id as HotelReservationID with
 * ResID_Type = herald_id_type (NULL: not sent). */
enum herald_err ota_build_notif_report(const struct ota_res_message *msg,
                                       const struct ota_ingest_result *results, const char *version,
                                       bool cancel_type_15, const char *herald_id_type,
                                       struct buf *out);
/* A reply that is 2xx but carries OpenTravel <Errors> or a SOAP Fault: HERALD_ERR_SIGNATURE
 * when the error is about authentication (EWT 4, 5, 6, 9; a WS-Security fault), else
 * HERALD_ERR_UPSTREAM, with reply->error set to the error's type, code and short text.
 * HERALD_ERR_UPSTREAM_MALFORMED when a non-empty body is not XML. HERALD_OK otherwise (an
 * empty body included). */
enum herald_err ota_reply_check(struct ota_reply *reply);
/* True when the reply is a Booking.com-style notification carrying no reservation (an empty
 * queue: OTA_HotelResNotifRQ / OTA_HotelResModifyNotifRQ without items), which ota_res_parse
 * refuses as a push but a pull reads as "nothing new". */
bool ota_reply_is_empty_batch(const struct ota_reply *reply);
/* For a failed request whose body explains it: HERALD_ERR_SIGNATURE when the body is an
 * authentication error or WS-Security fault (reply->error then says so), else rc. */
enum herald_err ota_reply_refine(enum herald_err rc, struct ota_reply *reply);
/* "YYYY-MM-DDTHH:MM:SSZ" of now. */
void ota_timestamp(char out[32]);

#endif
