/* Inbound JSON webhooks from channel managers, verified per Standard Webhooks 1.0
 * (standardwebhooks.com): headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature` ("v1,<base64 HMAC-SHA256>" entries, space-separated, any one may match),
 * signed content `<id>.<timestamp>.<raw body>`, secret "whsec_<base64 key>". The comparison is
 * constant-time; a timestamp further than the tolerance from now is refused.
 *
 * The accepted JSON events (booking_new, booking_modification, booking_cancellation; the
 * shape is in docs/api.md) are mapped onto the same struct ota_reservation an OpenTravel
 * message gives. Only the documented fields are read: payment data a sender adds is never
 * looked at nor copied.
 *
 * Pure functions: no store, no logging (a body may carry card data; a secret is never
 * quoted). Errors: HERALD_ERR_SIGNATURE (missing/malformed header, stale timestamp, no
 * matching signature, unusable secret), HERALD_ERR_INVALID (the event: err names the field),
 * HERALD_ERR_NOMEM. */
#ifndef HERALD_OTA_WEBHOOKS_H
#define HERALD_OTA_WEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "ota/reservations.h"

#define OTA_WEBHOOK_ID_MAX 255 /* longest webhook-id accepted */

struct ota_webhook_headers {
    const char *id;        /* webhook-id */
    const char *timestamp; /* webhook-timestamp */
    const char *signature; /* webhook-signature */
};

/* Whether any of the three headers is present (a request that means to be signed). */
bool ota_webhook_present(const struct ota_webhook_headers *h);

/* Verifies the signature of body with secret ("whsec_<base64>", or bare base64) at now_s with
 * the tolerance in seconds. HERALD_OK or HERALD_ERR_SIGNATURE (err->message says which
 * check failed, never quoting the secret). */
enum herald_err ota_webhook_verify(const char *secret, const struct ota_webhook_headers *h,
                                   const char *body, size_t len, int64_t now_s, int tolerance_s,
                                   struct herald_error *err);

/* Signs as a sender would: "v1,<base64>" into out (at least 48 bytes). For tests and tools.
 * HERALD_ERR_SIGNATURE when the secret cannot be decoded. */
enum herald_err ota_webhook_sign(const char *secret, const char *id, const char *timestamp,
                                 const char *body, size_t len, char *out, size_t out_size);

/* Maps one JSON event onto a message of one reservation (kind OTA_MSG_RES_NOTIF for
 * booking_new, OTA_MSG_RES_MODIFY_NOTIF, OTA_MSG_CANCEL), computing its revision key. An event
 * without hotelCode gets default_hotel_code. Free *out with ota_webhook_message_free().
 * HERALD_ERR_INVALID (err->field is the JSON path, e.g. "data.arrival") or NOMEM. */
enum herald_err ota_webhook_parse(const char *body, size_t len, const char *default_hotel_code,
                                  struct ota_res_message *out, struct herald_error *err);
void ota_webhook_message_free(struct ota_res_message *msg);

/* Standard base64 (RFC 4648 section 4; padding optional, no whitespace) into out (at most cap
 * bytes). False on a character outside the alphabet or an output longer than cap. */
bool ota_b64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len);

#endif
