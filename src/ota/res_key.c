/* The revision key of a reservation (ota/reservations.h): SHA-256 over a canonical,
 * versioned serialisation of every parsed field, so a re-delivery has the same key. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "ota/reservations.h"

#define US "\x1f" /* between fields */
#define RS "\x1e" /* between room stays */

static enum herald_err key_guest(struct buf *b, const struct ota_guest *g)
{
    return buf_printf(b, US "%s" US "%s" US "%s" US "%s" US "%s" US "%s" US "%d" US "%d" US "%s",
                      g->given_name, g->surname, g->email, g->phone, g->language, g->country,
                      g->consent_given, g->consent_refused, g->consent_text);
}

static enum herald_err key_material(const struct ota_reservation *r, struct buf *b)
{
    enum herald_err rc = buf_printf(b,
                                    "ota-rev-v1" US "%s" US "%s" US "%s" US "%s" US "%s" US "%d" US
                                    "%d" US "%s" US "%s" US "%s" US "%" PRId64 US "%" PRId64,
                                    r->hotel_code, r->res_id, ota_res_status_name(r->status),
                                    r->arrival, r->departure, r->adults, r->children, r->total,
                                    r->currency, r->booking_channel, r->created_ms, r->modified_ms);
    for (size_t i = 0; !rc && i < r->nrooms; i++) {
        const struct ota_room_stay *s = &r->rooms[i];
        rc = buf_printf(b, RS "%s" US "%s" US "%s" US "%s" US "%d" US "%d" US "%s", s->room_type,
                        s->rate_plan, s->arrival, s->departure, s->adults, s->children, s->amount);
    }
    rc = rc ? rc : key_guest(b, &r->guest);
    rc = rc ? rc : buf_append_str(b, US);
    return rc ? rc : buf_append_str(b, r->comments ? r->comments : "");
}

void ota_reservation_compute_key(struct ota_reservation *r)
{
    struct buf b;
    buf_init(&b, 4u * 1024u * 1024u);
    uint8_t digest[CRYPTO_SHA256_LEN];
    if (key_material(r, &b)) {
        /* Out of memory: fall back to the identity fields alone (still deterministic). */
        buf_reset(&b);
        buf_printf(&b, "ota-rev-v1-short" US "%s" US "%s" US "%s" US "%" PRId64, r->hotel_code,
                   r->res_id, ota_res_status_name(r->status), r->modified_ms);
    }
    crypto_sha256(b.data ? b.data : "", b.len, digest);
    crypto_hex(digest, sizeof(digest), r->revision_key);
    buf_free(&b);
}
