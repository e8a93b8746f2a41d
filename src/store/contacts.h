/* The store's lists, contacts and subscriptions (migration 0007, statements in the
 * STMT_CONTACTS block, store/contacts.c). Every function runs on the caller's connection,
 * inside the caller's transaction (store_run_tx()), so other modules (imports, campaigns,
 * feedback) can change a contact together with their own rows.
 *
 * Ownership: the strings in the row structs are allocated; release one row with its _clear
 * function, an array with its _free function. Errors: HERALD_ERR_NOT_FOUND for an id that
 * matches nothing, HERALD_ERR_DUPLICATE for a list name or contact email already taken,
 * HERALD_ERR_DB / HERALD_ERR_DB_SOFT from the backend, HERALD_ERR_NOMEM.
 *
 * Values are checked by the domain (mail/contacts.h, mail/lists.h); the store only keeps them:
 * list optin 'single'|'double'; contact status 'enabled'|'blocklisted', delivery
 * 'ok'|'bounced'|'complained'; subscription status 'unconfirmed'|'confirmed'|'unsubscribed',
 * consent method 'api'|'import'|'form'|'ota'. Times are unix ms; 0 stands for SQL NULL. */
#ifndef HERALD_STORE_CONTACTS_H
#define HERALD_STORE_CONTACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* ---- lists (mail_lists) ---- */
struct store_list {
    int64_t id;
    char *name;
    char *description;
    char optin[8]; /* single, double */
    int64_t created_at_ms, updated_at_ms;
    /* Subscriptions per status (filled by store_list_get() and store_list_list()). */
    int64_t unconfirmed, confirmed, unsubscribed;
};
void store_list_clear(struct store_list *l);
void store_lists_free(struct store_list *rows, size_t count);
/* Writes the new id. DUPLICATE when the name is taken. */
enum herald_err store_list_insert(struct store_conn *c, const char *name, const char *optin,
                                  const char *description, int64_t now_ms, int64_t *id);
enum herald_err store_list_get(struct store_conn *c, int64_t id, struct store_list *out);
/* Lists with id > after_id, ascending, at most `limit`. Allocates *out. */
enum herald_err store_list_list(struct store_conn *c, int64_t after_id, int limit,
                                struct store_list **out, size_t *count);
/* The list's optin ("single" or "double") without counting its subscribers. NOT_FOUND. */
enum herald_err store_list_optin(struct store_conn *c, int64_t id, char optin[8]);
/* Sets every column from `l` (id names the row). DUPLICATE, NOT_FOUND. */
enum herald_err store_list_update(struct store_conn *c, const struct store_list *l, int64_t now_ms);
/* Deletes the list and its subscriptions. NOT_FOUND. */
enum herald_err store_list_delete(struct store_conn *c, int64_t id);

/* ---- contacts ---- */
struct store_contact {
    int64_t id;
    char *email;                /* trimmed, lower-cased */
    char *name;                 /* "" when none */
    char *attributes;           /* JSON object text */
    char status[16];            /* enabled, blocklisted */
    char delivery[16];          /* ok, bounced, complained */
    int64_t soft_bounces;       /* in a row */
    int64_t unsubscribed_at_ms; /* global opt-out; 0: none */
    int64_t created_at_ms, updated_at_ms;
};
void store_contact_clear(struct store_contact *ct);
void store_contacts_free(struct store_contact *rows, size_t count);
/* Inserts email, name, attributes, status, delivery, soft_bounces, unsubscribed_at_ms from
 * `ct`; writes the new id. DUPLICATE when the email is taken. */
enum herald_err store_contact_insert(struct store_conn *c, const struct store_contact *ct,
                                     int64_t now_ms, int64_t *id);
enum herald_err store_contact_get(struct store_conn *c, int64_t id, struct store_contact *out);
/* The same, locking the row until the transaction ends (PostgreSQL FOR UPDATE; SQLite's write
 * transactions are serial): for read-modify-write of a contact (attributes merge). */
enum herald_err store_contact_get_for_update(struct store_conn *c, int64_t id,
                                             struct store_contact *out);
/* `email` as stored (normalise first). NOT_FOUND. */
enum herald_err store_contact_find_by_email(struct store_conn *c, const char *email,
                                            struct store_contact *out);
/* Sets every column from `ct` (id names the row; email included). DUPLICATE, NOT_FOUND. */
enum herald_err store_contact_update(struct store_conn *c, const struct store_contact *ct,
                                     int64_t now_ms);
/* Deletes the contact and its subscriptions. NOT_FOUND. */
enum herald_err store_contact_delete(struct store_conn *c, int64_t id);

struct store_contact_filter {
    const char *email;  /* exact (normalised) or NULL */
    const char *status; /* enabled, blocklisted or NULL */
    const char *query;  /* case-insensitive substring of email or name (lower-cased) or NULL */
    int64_t list_id;    /* subscribed to it, whatever the status; 0: any */
    int64_t after_id;   /* keyset cursor: ids above it; 0 from the start */
    int limit;
};
/* Ascending id. Allocates *out. */
enum herald_err store_contact_list(struct store_conn *c, const struct store_contact_filter *f,
                                   struct store_contact **out, size_t *count);

/* Global opt-out: sets unsubscribed_at_ms (kept if already set). NOT_FOUND. */
enum herald_err store_contact_unsubscribe_all(struct store_conn *c, int64_t id, int64_t now_ms);
/* Sets delivery and soft_bounces. NOT_FOUND. */
enum herald_err store_contact_set_delivery(struct store_conn *c, int64_t id, const char *delivery,
                                           int64_t soft_bounces, int64_t now_ms);
/* The MAILABLE rule of the SPEC at this moment: status enabled, delivery ok, no global
 * opt-out, and a confirmed subscription to list_id. False for an unknown contact or list. */
enum herald_err store_contact_mailable(struct store_conn *c, int64_t contact_id, int64_t list_id,
                                       bool *mailable);

/* ---- subscriptions ---- */
struct store_subscription {
    int64_t contact_id, list_id;
    char status[16];        /* unconfirmed, confirmed, unsubscribed */
    char consent_method[8]; /* api, import, form, ota */
    int64_t consent_at_ms;
    char *consent_ip;   /* NULL when unknown */
    char *consent_text; /* NULL when none */
    int64_t confirmed_at_ms, unsubscribed_at_ms, created_at_ms, updated_at_ms; /* 0: none */
    /* The list's, filled by store_subscription_get() and store_subscription_list(). */
    char *list_name;
    char list_optin[8];
};
void store_subscription_clear(struct store_subscription *s);
void store_subscriptions_free(struct store_subscription *rows, size_t count);
/* Inserts, or replaces every column but created_at_ms of the (contact, list) row, from `s`.
 * NOT_FOUND when the contact or the list does not exist. */
enum herald_err store_subscription_upsert(struct store_conn *c, const struct store_subscription *s,
                                          int64_t now_ms);
/* NOT_FOUND when there is no such subscription. */
enum herald_err store_subscription_get(struct store_conn *c, int64_t contact_id, int64_t list_id,
                                       struct store_subscription *out);
/* One contact's subscriptions, by list id. Allocates *out. */
enum herald_err store_subscription_list(struct store_conn *c, int64_t contact_id,
                                        struct store_subscription **out, size_t *count);
/* Removes the row. NOT_FOUND. */
enum herald_err store_subscription_delete(struct store_conn *c, int64_t contact_id,
                                          int64_t list_id);
/* unconfirmed → confirmed (confirmed_at_ms = now). *changed is false when it was already
 * confirmed (idempotent). CONFLICT when unsubscribed, NOT_FOUND when there is none. */
enum herald_err store_subscription_confirm(struct store_conn *c, int64_t contact_id,
                                           int64_t list_id, int64_t now_ms, bool *changed);
/* → unsubscribed (unsubscribed_at_ms = now). *changed is false when it already was.
 * NOT_FOUND when there is none. */
enum herald_err store_subscription_unsubscribe(struct store_conn *c, int64_t contact_id,
                                               int64_t list_id, int64_t now_ms, bool *changed);

#endif
