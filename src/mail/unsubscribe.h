/* Unsubscribing and the preferences page: what the public /unsubscribe/{token} and
 * /preferences/{token} pages show and do, and the mailto: unsubscribe the inbound listener
 * takes. Each change commits (with its mail_feedback 'unsubscribe' row and its
 * emailsUnsubscribed event, in one transaction) before the caller answers, so the sender, which
 * re-checks that a contact is mailable when it sends, skips the contact from the next message.
 *
 * An unsubscribe token (MAIL_TOKEN_UNSUBSCRIBE) names a contact, the campaign and the list the
 * mail came through. With a list it unsubscribes from that list and, when it names a campaign,
 * from every other list of that campaign the contact is subscribed to (the campaign mailed the
 * contact once, through one of them, but would mail it again through any): so the next
 * campaign to those lists does not reach it. With no list it unsubscribes globally
 * (contacts.unsubscribed_at_ms). One change is recorded as one feedback row and one event
 * naming every list it covered; repeating it changes nothing and records nothing more.
 *
 * Errors: HERALD_ERR_TOKEN_INVALID (malformed, forged, another kind), HERALD_ERR_TOKEN_EXPIRED,
 * HERALD_ERR_NOT_FOUND (the contact no longer exists), store errors. */
#ifndef HERALD_MAIL_UNSUBSCRIBE_H
#define HERALD_MAIL_UNSUBSCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "mail/token.h"

struct store;

/* What the unsubscribe page shows before the contact confirms, and what applying covered. */
struct mail_unsub_view {
    int64_t contact_id, campaign_id, list_id; /* list_id 0: the global opt-out */
    char email[256];
    char lists[1024]; /* the lists' names, ", "-joined (truncated); "" when global or none */
    int nlists;       /* how many lists `lists` names */
    bool already;     /* nothing left to do: already unsubscribed */
};
enum herald_err mail_unsubscribe_view(struct store *st, const struct mail_keyring *keys,
                                      const char *token, int64_t now_ms,
                                      struct mail_unsub_view *out);

/* Applies an unsubscribe token; *changed (may be NULL) says whether anything changed; *out
 * (may be NULL) gets the contact and every list the token covers (unsubscribed now or before). */
enum herald_err mail_unsubscribe_apply(struct store *st, const struct mail_keyring *keys,
                                       const char *token, int64_t now_ms, bool *changed,
                                       struct mail_unsub_view *out);

/* One list on the preferences page. */
struct mail_pref_list {
    int64_t list_id;
    char *name, *description; /* owned */
    char status[16];          /* unconfirmed, confirmed, unsubscribed */
};
struct mail_prefs {
    int64_t contact_id;
    char email[256];
    bool unsubscribed_all; /* the global opt-out is set */
    struct mail_pref_list *lists;
    size_t nlists;
};
/* Reads a preferences token (MAIL_TOKEN_PREFERENCES) and the contact's lists. Release with
 * mail_prefs_free(). */
enum herald_err mail_preferences_get(struct store *st, const struct mail_keyring *keys,
                                     const char *token, int64_t now_ms, struct mail_prefs *out);
void mail_prefs_free(struct mail_prefs *p);

/* Applies the preferences form: `keep` holds the list ids left ticked; every other list of the
 * contact is unsubscribed, an unsubscribed list ticked again is confirmed again (consent
 * 'form', "preferences page"), an unconfirmed one stays unconfirmed. `all` sets the global
 * opt-out; without it the global opt-out is cleared. Ids not among the contact's lists are
 * ignored. */
enum herald_err mail_preferences_apply(struct store *st, const struct mail_keyring *keys,
                                       const char *token, const int64_t *keep, size_t nkeep,
                                       bool all, int64_t now_ms);

/* An application/x-www-form-urlencoded body, one field at a time: from *pos, decodes the next
 * name and value (truncated to fit; '+' is a space, %XX decoded) and returns true, or false
 * at the end. */
bool mail_form_next(const char *body, size_t len, size_t *pos, char *name, size_t name_size,
                    char *value, size_t value_size);

#endif
