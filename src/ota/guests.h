/* Guests (ota/guests.c): the reservation revision hook (ota/reservations.h) that turns a
 * reservation's guest into a contact with the consent the message actually carries, then lets
 * the automations schedule their mail for the revision (ota/automations.h).
 *
 * For each new revision with a valid guest email, inside the ingestion transaction:
 * - the contact is created or updated through the contacts domain (mail_contact_upsert_tx():
 *   the same validation and checks as every other path): name (given name + surname) when the
 *   message has one, attributes "language" and "country" when it has them. Free-text comments
 *   are never copied into any contact field; status, delivery and opt-outs are never touched.
 * - marketing consent: only an explicit opt-in in the message (AlpineBits
 *   Email Remark="newsletter:yes" style: ota_guest.consent_given) subscribes the guest, with
 *   consent method "ota", the marker as consent text and the message's time (LastModifyDateTime,
 *   else CreateDateTime, else the ingestion time), to the lists of the enabled marketing
 *   automations covering the hotel (mail_subscription_add_tx(): an unsubscribed subscription
 *   stays so; a double opt-in list gets its confirmation mail, queued in the same
 *   transaction). Never for a relay address (HERALD_OTA_RELAY_DOMAINS: service mail only),
 *   never for a contact with a global opt-out (permanent). An explicit refusal
 *   ("newsletter:no") unsubscribes the guest from those lists.
 * - the automations schedule, reschedule or cancel their sends (ota_automations_on_revision()).
 * A guest without a usable email is no contact (nothing sent, the reservation is still stored);
 * a name the contacts refuse is left out. Errors: only the store's (a non-zero return rolls the
 * ingestion batch back); HERALD_ERR_DB_SOFT when a concurrent ingestion created the same
 * contact meanwhile, so the transaction runner runs the batch again and finds it. */
#ifndef HERALD_OTA_GUESTS_H
#define HERALD_OTA_GUESTS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "ota/reservations.h"
#include "store/store.h"

struct jobs;
struct ota_automations;

struct ota_guests_opts {
    const char *relay_domains;           /* HERALD_OTA_RELAY_DOMAINS (copied) */
    struct jobs *jobs;                   /* confirmation mails (optin_mail); may be NULL */
    struct ota_automations *automations; /* may be NULL: contacts only */
};
struct ota_guests;

enum herald_err ota_guests_new(const struct ota_guests_opts *o, struct ota_guests **out);
void ota_guests_free(struct ota_guests *g);
/* The hook to register with ota_reservations_set_hook() (arg = g). */
struct ota_revision_hook ota_guests_hook(struct ota_guests *g);
/* The hook's function (exposed for tests). */
int ota_guests_on_revision(void *arg, struct store_conn *c, const struct ota_channel *ch,
                           const struct ota_reservation *res, int64_t reservation_id,
                           int64_t revision_id, bool current, int64_t now_ms);

/* True when email's domain (after the last '@', case-insensitive) is one of the
 * comma-separated relay domains or a subdomain of one. */
bool ota_guest_is_relay(const char *relay_domains, const char *email);

#endif
