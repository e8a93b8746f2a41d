/* Double opt-in (mail/optin.c): the confirmation mail as a job kind, the signed link it
 * carries, confirming through that link, and the public subscribe form.
 *
 * - Job kind "optin_mail" (params {"contactId","listId"}): builds the confirmation message
 *   and sends it with mail_transport_send(). Nothing is sent when the subscription is no longer
 *   unconfirmed. Without a configured transport the job fails permanently
 *   (HERALD_ERR_SENDING_NOT_CONFIGURED, a dead letter says so) and the subscription stays
 *   unconfirmed; a relay's 4xx is retried by the job layer, a 5xx fails it.
 * - The link: HERALD_PUBLIC_URL + "/subscription/confirm/" + a MAIL_TOKEN_CONFIRM token
 *   (mail/token.h) naming contact and list, expiring after HERALD_OPTIN_TOKEN_HOURS.
 * - Confirming is a POST (mail scanners follow GET links): idempotent.
 * - The form: anonymous signups only to double opt-in lists, so every one is confirmed by mail
 *   before anything is sent; the answer is the same whether the email was known or not.
 *
 * Errors: HERALD_ERR_TOKEN_INVALID (malformed, forged, or naming a contact/list/subscription
 * that no longer exists), HERALD_ERR_TOKEN_EXPIRED, HERALD_ERR_CONFLICT (confirming a
 * subscription that was unsubscribed meanwhile), HERALD_ERR_INVALID with a field, store and
 * job errors. */
#ifndef HERALD_MAIL_OPTIN_H
#define HERALD_MAIL_OPTIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "mail/contacts.h"
#include "mail/token.h"
#include "store/store.h"

struct jobs;
struct mail_transport;
struct mail_optin;

#define MAIL_OPTIN_JOB_KIND "optin_mail"

struct mail_optin_opts {
    struct store *st;
    struct jobs *jobs; /* the kind is registered here; mails are queued here */
    const struct mail_keyring *keys;
    const char *public_url; /* HERALD_PUBLIC_URL */
    int token_hours;        /* HERALD_OPTIN_TOKEN_HOURS */
    /* From of the confirmation mails: mail_from (HERALD_MAIL_FROM) when set, else noreply@
     * dkim_domain (HERALD_DKIM_DOMAIN) when set, else noreply@ the host of public_url. */
    const char *mail_from;
    const char *dkim_domain;
    /* The app's transport slot, read when a job runs (the transport may start after this
     * module); *transport NULL means sending is not configured. */
    struct mail_transport *const *transport;
};

/* Creates the module and registers the "optin_mail" job kind (before jobs_start()). */
enum herald_err mail_optin_start(const struct mail_optin_opts *opts, struct mail_optin **out);
/* After the job workers have stopped. Takes NULL. */
void mail_optin_free(struct mail_optin *o);

/* Queues the confirmation mail for (contact, list): one job. Call after the transaction that
 * made the subscription unconfirmed has committed. */
enum herald_err mail_optin_queue(struct mail_optin *o, int64_t contact_id, int64_t list_id);
/* The confirmation link for (contact, list), expiring token_hours from now_s. */
void mail_optin_link(const struct mail_optin *o, int64_t contact_id, int64_t list_id, int64_t now_s,
                     char *out, size_t cap);

/* What a confirmation token names, for the pages. */
struct mail_optin_target {
    int64_t contact_id, list_id;
    char email[MAIL_EMAIL_MAX];
    char list_name[129];
    bool confirmed; /* the subscription is confirmed (before or by this call) */
};
/* Checks a token and reads what it names (no change): for the GET page. */
enum herald_err mail_optin_check(struct mail_optin *o, const char *token,
                                 struct mail_optin_target *out);
/* Confirms the subscription the token names (idempotent: confirming twice is fine). */
enum herald_err mail_optin_confirm(struct mail_optin *o, const char *token,
                                   struct mail_optin_target *out);

/* A signup from the public form. */
struct mail_optin_form {
    const char *email;
    const char *name;         /* may be NULL */
    const char *consent_text; /* may be NULL */
    const char *ip;           /* the client's address */
    const int64_t *lists;
    size_t nlists;
};
/* Creates the contact if needed (never changes an existing one's name or attributes) and an
 * unconfirmed subscription with a "form" consent record per list, then queues the mails.
 * INVALID ("email", "lists", "lists[i]" for an unknown or single opt-in list, "name",
 * "consentText"). A contact already confirmed on a list gets no new mail for it. */
enum herald_err mail_optin_form_subscribe(struct mail_optin *o, const struct mail_optin_form *f,
                                          struct herald_error *err);

#endif
