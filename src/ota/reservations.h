/* Reservations from OTAs: the parsed form of an OpenTravel reservation message (pulled or
 * pushed, any channel type), and their ingestion: every revision stored once, in one
 * transaction with its event (platform "ota") and whatever the registered revision hook
 * (guests -> contacts, automations) writes. Card data never reaches this struct. */
#ifndef HERALD_OTA_RESERVATIONS_H
#define HERALD_OTA_RESERVATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "ota/channels.h"
#include "store/store.h"

enum ota_res_status {
    OTA_RES_COMMIT,      /* new booking (OpenTravel ResStatus "Commit"/"Book", SMX "Reserved") */
    OTA_RES_MODIFY,      /* "Modify" */
    OTA_RES_CANCEL,      /* "Cancel"/"Cancelled" */
    OTA_RES_RESERVED,    /* SMX-style PMS states */
    OTA_RES_IN_HOUSE,    /* "In-house" */
    OTA_RES_CHECKED_OUT, /* "Checked-Out" */
    OTA_RES_NO_SHOW,     /* "No-show" */
};
const char *ota_res_status_name(enum ota_res_status s); /* "commit", "modify", "cancel", … */

enum ota_msg_kind {
    OTA_MSG_RES_NOTIF,        /* OTA_HotelResNotifRQ */
    OTA_MSG_RES_MODIFY_NOTIF, /* OTA_HotelResModifyNotifRQ */
    OTA_MSG_CANCEL,           /* OTA_CancelRQ */
    OTA_MSG_RES_RETRIEVE,     /* OTA_ResRetrieveRS (a pull answer) */
};
const char *ota_msg_kind_name(enum ota_msg_kind kind); /* "OTA_HotelResNotifRQ", … */

#define OTA_DATE_LEN 11 /* "YYYY-MM-DD" + NUL */

struct ota_room_stay {
    char room_type[64];
    char rate_plan[64];
    char arrival[OTA_DATE_LEN], departure[OTA_DATE_LEN];
    int adults, children;
    char amount[32]; /* decimal text as sent, "" when absent */
};

struct ota_guest {
    char given_name[128], surname[128];
    char email[320]; /* lower-cased; "" when the message has none */
    char phone[64];
    char language[16];      /* ISO 639-1 ("de") when given */
    char country[8];        /* ISO 3166 alpha-2 when given */
    bool consent_given;     /* the message carries an explicit marketing opt-in */
    bool consent_refused;   /* … or an explicit refusal */
    char consent_text[128]; /* the marker as sent, e.g. "newsletter:yes" */
};

struct ota_reservation {
    char hotel_code[64];
    char res_id[128]; /* the channel's reservation id */
    enum ota_res_status status;
    char arrival[OTA_DATE_LEN], departure[OTA_DATE_LEN]; /* earliest arrival, latest departure */
    struct ota_room_stay *rooms;
    size_t nrooms;
    int adults, children; /* totals over the rooms */
    char total[32];       /* decimal text, "" when absent */
    char currency[4];
    char booking_channel[64]; /* the source the message names (e.g. "Booking.com"), else "" */
    struct ota_guest guest;
    char *comments;      /* free text (special requests); never copied into contact fields */
    int64_t created_ms;  /* CreateDateTime, 0 when absent */
    int64_t modified_ms; /* LastModifyDateTime, 0 when absent */
    /* SHA-256 hex over the canonical content above: the same revision delivered twice has
     * the same key, any change in it gives a new one. */
    char revision_key[65];
    enum ota_msg_kind kind; /* the message that carried it (ota_res_parse sets it) */
};

struct ota_res_message {
    enum ota_msg_kind kind;
    char echo_token[128];
    char root_name[64]; /* the document element's local name */
    bool soap;          /* it came in a SOAP 1.1/1.2 envelope */
    struct ota_reservation *items;
    size_t n;
};

/* Parses an OpenTravel reservation message (bare or in a SOAP envelope) with the hardened
 * reader of ota/xml.h. Guarantee, PaymentCard and any card-like element are skipped before
 * anything is copied. HERALD_ERR_XML_INVALID (malformed, DTD/entities, too large/deep),
 * HERALD_ERR_INVALID (well-formed but not a reservation message, or a reservation without an
 * id or with impossible dates; err names the element), HERALD_ERR_UPSTREAM (an
 * OTA_ResRetrieveRS carrying <Errors>: err->message gives its Type and Code). An
 * OTA_ResRetrieveRS with an empty ReservationsList gives n == 0. A reservation without a hotel
 * code gets its channel's at ingestion. */
enum herald_err ota_res_parse(const char *xml, size_t len, size_t max_bytes,
                              struct ota_res_message *out, struct herald_error *err);
/* The same over a document already parsed with ota_xml_parse (e.g. for its WS-Security
 * header), so a message is read once. Scrubs payment data out of doc in place; doc stays the
 * caller's. Errors as ota_res_parse, but for HERALD_ERR_XML_INVALID. */
struct ota_xml_doc;
enum herald_err ota_res_parse_doc(struct ota_xml_doc *doc, struct ota_res_message *out,
                                  struct herald_error *err);
void ota_res_message_free(struct ota_res_message *msg);
/* Frees what one reservation owns (rooms, comments) and zeroes it. */
void ota_reservation_clear(struct ota_reservation *r);
/* Sets r->revision_key from the fields above (for reservations built by hand, e.g. from a
 * JSON webhook: fill every field, then call this). ota_res_parse already does it. */
void ota_reservation_compute_key(struct ota_reservation *r);

/* ---- ingestion ---- */

/* Called inside the ingestion transaction for a NEW revision (never for a re-delivery) that
 * becomes the reservation's current one (`current`), or that is older (its LastModifyDateTime
 * before the current one's, delivered late) but carries a guest the reservation has none of
 * yet (the newer revisions were bare cancellations). An older revision must not take the
 * guest's contact, consent or scheduled mail back to an earlier state; it is otherwise stored,
 * evented, and not handed to the hook. A non-zero return rolls the whole batch back;
 * HERALD_ERR_DB_SOFT (a concurrent write won a race) makes the transaction run again. */
struct ota_revision_hook {
    int (*on_revision)(void *arg, struct store_conn *c, const struct ota_channel *ch,
                       const struct ota_reservation *res, int64_t reservation_id,
                       int64_t revision_id, bool current, int64_t now_ms);
    void *arg;
};

struct ota_reservations;
enum herald_err ota_reservations_open(struct store *st, struct ota_reservations **out);
void ota_reservations_close(struct ota_reservations *r);
/* Registers the hook (before the server starts). */
void ota_reservations_set_hook(struct ota_reservations *r, const struct ota_revision_hook *hook);

struct ota_ingest_result {
    int64_t reservation_id; /* Herald's id: sent back as HotelReservationID ResID_Type="3" */
    int64_t revision_id;
    bool duplicate; /* this revision was already stored: nothing written */
};

/* Stores a batch in ONE transaction: each reservation keyed by (channel, hotel code,
 * res_id), each new revision appended with its event (platform "ota"), the hook run. All or
 * nothing: on error nothing of the batch is stored. results has n entries.
 * An item without a hotel code takes ch->hotel_code. The event (campaign = hotel code, type
 * reservationCreated|Modified|Cancelled|StatusChanged) goes to the revision's guest address,
 * else the reservation's; none when neither exists. The reservation's summary takes what the
 * revision carries (what it leaves out keeps its value) unless the revision is older, by
 * LastModifyDateTime, than the summary's. HERALD_ERR_INVALID (an item without res_id or
 * revision_key, nothing written), HERALD_ERR_INTERNAL (the hook refused: err->field "hook"),
 * store errors. */
enum herald_err ota_reservations_ingest(struct ota_reservations *r, const struct ota_channel *ch,
                                        const struct ota_reservation *items, size_t n,
                                        int64_t now_ms, struct ota_ingest_result *results,
                                        struct herald_error *err);

/* ---- reading (GET /api/ota/reservations[/{id}]) ---- */

struct ota_res_query {
    const char *hotel_code;   /* NULL = any */
    const char *status;       /* a status name ("commit", "cancel", …), NULL = any */
    const char *arrival_from; /* "YYYY-MM-DD", inclusive, NULL = open */
    const char *arrival_to;   /* "YYYY-MM-DD", inclusive, NULL = open */
    int64_t after_id;         /* paging: reservations with a larger id, ascending */
    int limit;                /* 1..100 */
};

/* *items: a new JSON array of reservation summaries ({id, channelId, hotelCode, resId, status,
 * arrival, departure, guestEmail, guestName, revisionCount, currentRevisionId, createdAt,
 * updatedAt}); *next_after: the last id when the page is full (more may follow), else 0.
 * HERALD_ERR_INVALID (err->field "status", "arrivalFrom", "arrivalTo"), store errors. */
enum herald_err ota_reservations_list(struct ota_reservations *r, const struct ota_res_query *q,
                                      json_t **items, int64_t *next_after,
                                      struct herald_error *err);
/* *out: a new JSON object, the summary plus "revisions": every revision in order (status,
 * stay, rooms, guests, totals, guest, consent, comments, message kind, times).
 * HERALD_ERR_NOT_FOUND, store errors. */
enum herald_err ota_reservations_get(struct ota_reservations *r, int64_t id, json_t **out,
                                     struct herald_error *err);

#endif
