/* Reservations pushed to Herald by channels: OpenTravel messages posted to
 * /ota/{channelId}/{message} (OTA_HotelResNotifRQ, OTA_HotelResModifyNotifRQ, OTA_CancelRQ; bare
 * or in a SOAP 1.1/1.2 envelope) and JSON webhooks posted to /webhooks/ota/{channelId}.
 *
 * Authentication is per channel (ota/channels.h credentials), every comparison constant-time:
 *  - HTTP Basic with the channel's username/password;
 *  - WS-Security UsernameToken in the SOAP header (OASIS UsernameToken Profile 1.1):
 *    PasswordText, or PasswordDigest = Base64(SHA-1(nonce + created + password)) with a fresh
 *    wsu:Created (within the tolerance) and a nonce never seen before for the channel;
 *  - a Standard Webhooks signature (ota/webhooks.h) made with the channel's webhook secret.
 * JSON webhooks take the signature only; a replayed webhook-id is answered 200 without effect.
 *
 * Answers: an OpenTravel RS for OTA messages (ota/xml.h writer, same envelope as the request:
 * <Success/> with HotelReservationIDs carrying Herald's id as ResID_Type="3", or <Errors> with
 * EWT/ERR codes), a JSON body for webhooks. Nothing is stored on any error: a message is
 * ingested whole or not at all (ota_reservations_ingest). Bodies and secrets are never logged.
 *
 * Thread-safe: one struct ota_push serves every HTTP thread. */
#ifndef HERALD_OTA_PUSH_H
#define HERALD_OTA_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "ota/channels.h"
#include "ota/reservations.h"
#include "ota/webhooks.h"
#include "store/store.h"

struct ota_push_opts {
    struct store *store;
    struct ota_channels *channels;
    struct ota_reservations *reservations;
    size_t max_message_bytes; /* HERALD_OTA_MAX_MESSAGE_BYTES */
    int tolerance_s;          /* HERALD_OTA_WEBHOOK_TOLERANCE_SECONDS */
};

struct ota_push;
/* The options' pointers must outlive the object. HERALD_ERR_INTERNAL when one is NULL,
 * HERALD_ERR_NOMEM. */
enum herald_err ota_push_open(const struct ota_push_opts *opts, struct ota_push **out);
void ota_push_close(struct ota_push *p);

/* What the HTTP side hands over (borrowed for the call). */
struct ota_push_request {
    const char *channel_id;    /* the {channelId} path segment, as sent */
    const char *message;       /* the {message} path segment (OTA pushes only) */
    const char *authorization; /* the Authorization header, or NULL */
    const char *content_type;  /* the Content-Type header, or NULL */
    bool xml_content_type;     /* an XML media type (http_req_is_xml) */
    struct ota_webhook_headers webhook;
    const char *body;
    size_t len;
};

/* The reply to send. body is owned: ota_push_answer_free(). */
struct ota_push_answer {
    int status;               /* HTTP status */
    const char *content_type; /* static */
    struct buf body;
    enum herald_err err; /* the error class answered (HERALD_OK on success), for the logs */
    bool auth_failed;    /* credentials were presented and refused (charge the IP) */
    size_t stored;       /* revisions newly stored */
    size_t duplicates;   /* revisions already stored (re-deliveries, replays) */
    char reason[192];    /* why it was refused ("" on success): for the log, never a secret */
};
void ota_push_answer_free(struct ota_push_answer *a);

/* Called on the writer thread with the answer of a push handed to it (ans valid during the
 * call only; rc HERALD_ERR_NOMEM when no answer could be written). */
typedef void (*ota_push_done_fn)(void *arg, enum herald_err rc, struct ota_push_answer *ans);

/* An OTA push: authenticates, parses, checks the message against its endpoint and the
 * channel's hotel code, ingests, and writes the RS. With done NULL the ingestion runs here;
 * otherwise an accepted message is handed to the writer thread, which ingests it with the other
 * pushes waiting (group commit): *pending is then true, *ans is empty and done() answers later.
 * Returns HERALD_OK whenever the answer is (or will be) written, errors included, as they are
 * in the RS; HERALD_ERR_NOMEM otherwise. */
enum herald_err ota_push_message(struct ota_push *p, const struct ota_push_request *rq,
                                 int64_t now_ms, struct ota_push_answer *ans, ota_push_done_fn done,
                                 void *arg, bool *pending);

/* What a webhook did. */
struct ota_webhook_result {
    int64_t reservation_id, revision_id; /* Herald's ids (0 for a replay) */
    bool duplicate;                      /* the revision was already stored */
    bool replay;                         /* the webhook-id was seen: nothing was done */
    bool auth_failed;                    /* the signature was refused (charge the IP) */
};

/* A JSON webhook: verifies the signature, skips a replayed webhook-id (HERALD_OK, replay),
 * parses the event, ingests it, remembers the id. On error err is filled for the JSON error
 * body: HERALD_ERR_SIGNATURE (401; also for an unknown channel), HERALD_ERR_FORBIDDEN (the
 * channel is disabled or not in push mode), HERALD_ERR_MEDIA_TYPE, HERALD_ERR_TOO_LARGE,
 * HERALD_ERR_INVALID (the event; err->field names the member), store errors. */
enum herald_err ota_push_webhook(struct ota_push *p, const struct ota_push_request *rq,
                                 int64_t now_ms, struct ota_webhook_result *out,
                                 struct herald_error *err);

/* WS-Security PasswordDigest = Base64(SHA-1(decoded nonce + created + password)) into out.
 * False when the nonce is not base64 (at most 64 bytes decoded). For tests and tools. */
#define OTA_WSSE_DIGEST_LEN 32
bool ota_wsse_password_digest(const char *nonce_b64, const char *created, const char *password,
                              char out[OTA_WSSE_DIGEST_LEN]);

/* An error the HTTP layer answers on an OTA push route (rate limit, body too large, shutting
 * down), as an RS of the message named in the path, in the envelope the request's
 * Content-Type suggests. */
enum herald_err ota_push_refusal(const char *message, const char *content_type, enum herald_err err,
                                 const char *text, int64_t now_ms, struct ota_push_answer *ans);

#endif
