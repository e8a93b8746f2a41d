/* Contacts and their subscriptions (domain, mail/contacts.c): validation, create / upsert /
 * change / delete, filtered listing, and the subscription rule with its consent record.
 *
 * Validation: email trimmed, lower-cased, then evkey_email_valid() (events/key.h); name at
 * most MAIL_CONTACT_NAME_MAX bytes; attributes a JSON object of at most MAIL_ATTRIBUTES_MAX_KEYS
 * keys and MAIL_ATTRIBUTES_MAX_BYTES serialised; status enabled|blocklisted.
 *
 * Subscribing (mail_subscription_add_tx()): on a single opt-in list the subscription is
 * `confirmed` at once; on a double opt-in list it is `unconfirmed`, and a confirmation mail
 * must be queued (mail_optin_queue(), after the commit). A subscription already `confirmed`
 * stays as it is (its consent record is kept); an `unconfirmed` one takes the new consent
 * record and starts again (unconfirmed again on a double list: a new mail); an `unsubscribed`
 * one stays unsubscribed unless the consent says the person asked again (resubscribe, or the
 * form), then it starts again the same way.
 *
 * Errors: HERALD_ERR_INVALID with the field in *err ("email", "name", "attributes", "status",
 * "lists[2]", "delivery"), HERALD_ERR_DUPLICATE (email exists and no upsert; field "email"),
 * HERALD_ERR_NOT_FOUND (unknown contact id; an unknown list id is INVALID with its field),
 * store errors. */
#ifndef HERALD_MAIL_CONTACTS_H
#define HERALD_MAIL_CONTACTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/contacts.h"
#include "store/store.h"

struct mail_optin;

#define MAIL_EMAIL_MAX 255 /* with its NUL: addresses are at most 254 bytes */
#define MAIL_CONTACT_NAME_MAX 256
#define MAIL_ATTRIBUTES_MAX_BYTES 65536
#define MAIL_ATTRIBUTES_MAX_KEYS 100
#define MAIL_CONSENT_TEXT_MAX 4096
#define MAIL_CONTACT_LISTS_MAX 100 /* lists named in one request */

/* Trims and lower-cases `in` into out; HERALD_ERR_INVALID unless the result is a valid
 * address (evkey_email_valid()). */
enum herald_err mail_email_normalize(const char *in, char out[MAIL_EMAIL_MAX]);
/* Skips leading and trailing white space: returns the start, *len the length left. */
const char *mail_text_trim(const char *s, size_t *len);
/* True when s[0..len) is valid UTF-8 without control characters (but for tab, CR and LF when
 * `multiline`). */
bool mail_text_ok(const char *s, size_t len, bool multiline);
/* True for "enabled" and "blocklisted". */
bool mail_contact_status_valid(const char *status);
/* Checks an attributes value (a JSON object within the bounds above); INVALID with field
 * "attributes" otherwise. */
enum herald_err mail_attributes_check(json_t *attributes, struct herald_error *err);

/* How a subscription was agreed: the consent record kept with it. */
struct mail_consent {
    const char *method; /* "api", "import", "form" or "ota" */
    const char *ip;     /* the client's address, or NULL */
    const char *text;   /* the text/version agreed to, or NULL */
    /* The person gave consent again after unsubscribing (the API's "resubscribe": true with
     * a consentText). Without it an `unsubscribed` subscription stays so: a nightly sync
     * re-adding its whole list must not undo anyone's unsubscribe. The form counts as asking
     * again (it is the person, and on a double opt-in list they confirm by mail). */
    bool resubscribe;
};

/* A creation (email required) or a change; NULL / 0 members are left as they are. */
struct mail_contact_input {
    const char *email;
    const char *name;
    /* Merged into the stored object at the top level; a null value removes its key (on
     * creation: the object as given, nulls dropped). */
    json_t *attributes;
    const char *status;   /* enabled, blocklisted */
    const char *delivery; /* only "ok": clears a bounce or complaint and the soft-bounce count */
    const int64_t *add_lists;
    size_t nadd;
    const int64_t *remove_lists; /* the subscription rows are deleted */
    size_t nremove;
    struct mail_consent consent; /* for the subscriptions added */
};

/* Creates a contact and subscribes it to add_lists. An existing email is DUPLICATE unless
 * `upsert`, which applies the input to that contact as mail_contact_update() does (merges
 * attributes, adds lists). *id is the contact's, *created says which happened. Confirmation
 * mails for double opt-in lists are queued through `optin` (NULL: none queued). */
enum herald_err mail_contact_create(struct store *st, struct mail_optin *optin,
                                    const struct mail_contact_input *in, bool upsert, int64_t *id,
                                    bool *created, struct herald_error *err);
/* Applies a change to contact `id` (email may change too: DUPLICATE when taken). */
enum herald_err mail_contact_update(struct store *st, struct mail_optin *optin, int64_t id,
                                    const struct mail_contact_input *in, struct herald_error *err);
/* The contact and its subscriptions (consent records, list names). Free both with
 * store_contact_clear() and store_subscriptions_free(). */
enum herald_err mail_contact_get(struct store *st, int64_t id, struct store_contact *out,
                                 struct store_subscription **subs, size_t *nsubs);
/* Deletes the contact and its subscriptions. */
enum herald_err mail_contact_delete(struct store *st, int64_t id);
/* Filtered listing (store_contact_filter; email normalised here, INVALID "email" when it is
 * not an address; query lower-cased here). Allocates *out (store_contacts_free()). */
enum herald_err mail_contact_list(struct store *st, const struct store_contact_filter *f,
                                  struct store_contact **out, size_t *count,
                                  struct herald_error *err);

/* Inside the caller's transaction: subscribes contact to list by the rule above. *needs_mail
 * is true when the subscription is (again) unconfirmed on a double opt-in list: queue the
 * confirmation mail after the commit. NOT_FOUND when the list does not exist. */
enum herald_err mail_subscription_add_tx(struct store_conn *c, int64_t contact_id, int64_t list_id,
                                         const struct mail_consent *consent, int64_t now_ms,
                                         bool *needs_mail);

/* mail_contact_create() with upsert, inside the caller's transaction (an OTA guest is made a
 * contact in the reservation's ingestion transaction): the same validation and rules, the
 * same checks on every path that creates a contact. Confirmation mails are not queued: the
 * lists that need one are written to mails[0..*nmails) (room for MAIL_CONTACT_LISTS_MAX), for
 * the caller to queue in its transaction (jobs_submit_tx of MAIL_OPTIN_JOB_KIND) or after it. */
enum herald_err mail_contact_upsert_tx(struct store_conn *c, const struct mail_contact_input *in,
                                       int64_t *id, bool *created, int64_t *mails, size_t *nmails,
                                       struct herald_error *err);

#endif
