/* Privacy's table of sources: every table group holding data about an address, with the
 * columns its export shows. Export and erasure walk this table; one entry per group. */
#include "privacy/privacy.h"

#define COLS(a) a, (int)(sizeof(a) / sizeof(a[0]))

static const struct privacy_col contact_cols[] = {
    {"id", 'i'},        {"email", 's'},     {"name", 's'},        {"attributes", 'j'},
    {"status", 's'},    {"delivery", 's'},  {"softBounces", 'i'}, {"unsubscribedAt", 't'},
    {"createdAt", 't'}, {"updatedAt", 't'},
};
static const struct privacy_col subscription_cols[] = {
    {"listId", 'i'},         {"listName", 's'},  {"status", 's'},      {"consentMethod", 's'},
    {"consentAt", 't'},      {"consentIp", 's'}, {"consentText", 's'}, {"confirmedAt", 't'},
    {"unsubscribedAt", 't'}, {"createdAt", 't'},
};
static const struct privacy_col event_cols[] = {
    {"id", 'i'},         {"platform", 's'},  {"campaignId", 's'}, {"eventType", 's'},
    {"eventKey", 's'},   {"sourceId", 's'},  {"namespace", 's'},  {"properties", 'j'},
    {"occurredAt", 't'}, {"eventTime", 't'}, {"createdAt", 't'},
};
static const struct privacy_col send_cols[] = {
    {"id", 'i'},     {"campaignId", 'i'}, {"campaignName", 's'}, {"listId", 'i'},
    {"status", 's'}, {"attempts", 'i'},   {"messageId", 's'},    {"lastError", 's'},
    {"sentAt", 't'}, {"updatedAt", 't'},
};
static const struct privacy_col feedback_cols[] = {
    {"id", 'i'},  {"campaignId", 'i'}, {"kind", 's'},
    {"url", 's'}, {"detail", 's'},     {"createdAt", 't'},
};
static const struct privacy_col dead_letter_cols[] = {
    {"id", 'i'},      {"jobId", 's'},   {"kind", 's'},      {"reason", 's'},
    {"request", 's'}, {"payload", 's'}, {"createdAt", 't'},
};
static const struct privacy_col audit_cols[] = {
    {"id", 'i'},     {"at", 't'}, {"actor", 's'},     {"action", 's'},
    {"status", 'i'}, {"ip", 's'}, {"requestId", 's'}, {"detail", 'j'},
};

static const struct privacy_col reservation_cols[] = {
    {"revisionId", 'i'},  {"reservationId", 'i'},  {"channelId", 'i'},
    {"hotelCode", 's'},   {"resId", 's'},          {"seq", 'i'},
    {"messageKind", 's'}, {"status", 's'},         {"arrival", 's'},
    {"departure", 's'},   {"rooms", 'j'},          {"adults", 'i'},
    {"children", 'i'},    {"total", 's'},          {"currency", 's'},
    {"language", 's'},    {"country", 's'},        {"bookingChannel", 's'},
    {"guestEmail", 's'},  {"guestGivenName", 's'}, {"guestSurname", 's'},
    {"guestPhone", 's'},  {"consent", 's'},        {"consentText", 's'},
    {"comments", 's'},    {"receivedAt", 't'},
};

/* Erasure runs in this order; "contact" reads its id first and deletes the row last of all
 * (erase.c), the others are keyed by the address or that id. */
const struct privacy_source privacy_sources[] = {
    {"contact", "contacts", STORE_PSRC_CONTACT, COLS(contact_cols), false},
    {"subscriptions", "subscriptions", STORE_PSRC_SUBSCRIPTIONS, COLS(subscription_cols), false},
    {"events", "event_source", STORE_PSRC_EVENTS, COLS(event_cols), true},
    {"sends", "send_queue", STORE_PSRC_SENDS, COLS(send_cols), false},
    {"feedback", "mail_feedback", STORE_PSRC_FEEDBACK, COLS(feedback_cols), false},
    {"deadLetters", "dead_letters", STORE_PSRC_DEAD_LETTERS, COLS(dead_letter_cols), false},
    {"audit", "audit_log", STORE_PSRC_AUDIT, COLS(audit_cols), false},
    {"reservations", "ota_reservations", STORE_PSRC_RESERVATIONS, COLS(reservation_cols), false},
};
const size_t privacy_source_count = sizeof(privacy_sources) / sizeof(privacy_sources[0]);
