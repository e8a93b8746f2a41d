/* The store's stay-triggered automations (store/automations.c, block STMT_AUTOMATIONS,
 * migration 0016): the automations rows, the automation_sends they schedule (one per
 * reservation revision an automation applies to, UNIQUE (automation_id, revision_id)), and
 * the hand-over of a due send to the sending queue: a campaign row of its own
 * (campaigns.automation_id = the automation, campaigns.service = 1 for service mail) holding
 * the template's content snapshot and one send_queue row, so the sender, DKIM,
 * List-Unsubscribe, tracking, events and stats are the campaigns' own.
 *
 * Send status: 'scheduled' (waiting for due_at_ms; a later revision reschedules it in place),
 * 'queued' (its campaign and send_queue row exist: the delivery status is the queue row's),
 * 'skipped' (not sent, reason says why), 'cancelled' (a cancellation or the automation's
 * deletion). Every function runs on the caller's connection inside the caller's transaction.
 * Ownership: strings in row structs are allocated; _clear/_free release them. Errors:
 * HERALD_ERR_NOT_FOUND, HERALD_ERR_DUPLICATE (a send for that revision exists),
 * HERALD_ERR_DB / HERALD_ERR_DB_SOFT, HERALD_ERR_NOMEM. */
#ifndef HERALD_STORE_AUTOMATIONS_H
#define HERALD_STORE_AUTOMATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

struct store_automation {
    int64_t id;
    char *name;
    char trigger[24]; /* pre_arrival post_stay booking_confirmed cancelled */
    int offset_days;
    int64_t template_id;
    char kind[16];     /* service marketing */
    char *lists;       /* JSON array of list ids */
    char *hotel_codes; /* JSON array of strings; [] = every hotel */
    char *from_email, *from_name, *reply_to;
    bool tracking, enabled;
    int64_t created_at_ms, updated_at_ms;
};
void store_automation_clear(struct store_automation *a);
void store_automations_free(struct store_automation *rows, size_t count);

/* Writes the new id. */
enum herald_err store_automation_insert(struct store_conn *c, const struct store_automation *a,
                                        int64_t now_ms, int64_t *id);
/* NOT_FOUND. */
enum herald_err store_automation_get(struct store_conn *c, int64_t id,
                                     struct store_automation *out);
/* Ascending id above after_id, at most limit; only enabled ones when enabled_only. Allocates
 * *out. */
enum herald_err store_automation_list(struct store_conn *c, int64_t after_id, int limit,
                                      bool enabled_only, struct store_automation **out,
                                      size_t *count);
/* Rewrites every editable column from a (a->id names the row). NOT_FOUND. */
enum herald_err store_automation_update(struct store_conn *c, const struct store_automation *a,
                                        int64_t now_ms);
/* Deletes the automation and its sends (its queued campaigns stay, for the statistics).
 * NOT_FOUND. */
enum herald_err store_automation_delete(struct store_conn *c, int64_t id);

struct store_automation_send {
    int64_t id, automation_id, reservation_id, revision_id, contact_id;
    char hotel_code[64];
    char status[16]; /* scheduled queued skipped cancelled */
    int64_t due_at_ms;
    int64_t campaign_id; /* 0 until queued */
    char reason[128];    /* why skipped/cancelled; "" */
    /* Read by store_automation_sends_list() for queued sends: the send_queue row's status
     * (pending sent failed bounced skipped cancelled) and when it was sent (0: not yet). */
    char delivery[16];
    int64_t sent_at_ms;
    int64_t created_at_ms, updated_at_ms;
};

/* The sends of (automation, reservation), ascending id, at most 32. */
enum herald_err store_automation_sends_of(struct store_conn *c, int64_t automation_id,
                                          int64_t reservation_id,
                                          struct store_automation_send **out, size_t *count);
/* Inserts a send (status, due, contact, revision from s); *id 0 when that revision already has
 * one (nothing written). */
enum herald_err store_automation_send_insert(struct store_conn *c,
                                             const struct store_automation_send *s, int64_t now_ms,
                                             int64_t *id);
/* A scheduled send takes a new revision, contact and due time. *changed false when it was no
 * longer scheduled (queued meanwhile). */
enum herald_err store_automation_send_reschedule(struct store_conn *c, int64_t id,
                                                 int64_t revision_id, int64_t contact_id,
                                                 int64_t due_at_ms, int64_t now_ms, bool *changed);
/* scheduled → status ("skipped" or "cancelled") with a reason; *changed false when it was
 * no longer scheduled. */
enum herald_err store_automation_send_close(struct store_conn *c, int64_t id, const char *status,
                                            const char *reason, int64_t now_ms, bool *changed);
/* Up to limit scheduled sends of enabled automations due at or before now_ms, oldest due
 * first, locked for this transaction (FOR UPDATE SKIP LOCKED on PostgreSQL). Allocates *out. */
enum herald_err store_automation_sends_due(struct store_conn *c, int64_t now_ms, int limit,
                                           struct store_automation_send **out, size_t *count);
/* One automation's sends, newest first, ids below before_id (0: from the newest), with the
 * queue row's delivery status. Allocates *out. */
enum herald_err store_automation_sends_list(struct store_conn *c, int64_t automation_id,
                                            int64_t before_id, int limit,
                                            struct store_automation_send **out, size_t *count);

/* What the scheduler checks about a send's recipient at the time it is due. */
struct store_automation_recipient {
    bool exists;
    char email[320];
    char status[16], delivery[16]; /* enabled|blocklisted, ok|bounced|complained */
    bool unsubscribed;             /* global opt-out */
    int64_t list_id; /* the lowest of `lists` with a confirmed subscription, 0: none */
};
enum herald_err store_automation_recipient(struct store_conn *c, int64_t contact_id,
                                           const int64_t *lists, size_t nlists,
                                           struct store_automation_recipient *out);

/* Whether the template exists (*template_ok) and the first of `lists` that does not
 * (*missing_list, 0: all exist), for a create or change. */
enum herald_err store_automation_refs(struct store_conn *c, int64_t template_id,
                                      const int64_t *lists, size_t nlists, bool *template_ok,
                                      int64_t *missing_list);

/* Hands a scheduled send to the sending queue: a campaign row (name, from, reply-to, tracking
 * and template of the automation, the automation's lists, automation_id, service = kind is
 * service) with the template's content snapshot, running, with one pending send_queue row
 * for the send's contact through list_id (0 for service mail); the send becomes queued.
 * NOT_FOUND when the template is gone (nothing written); *changed false when the send was no
 * longer scheduled (nothing written). */
enum herald_err store_automation_send_enqueue(struct store_conn *c,
                                              const struct store_automation *a,
                                              const int64_t *lists, size_t nlists,
                                              const struct store_automation_send *s,
                                              int64_t list_id, int64_t now_ms, bool *changed,
                                              int64_t *campaign_id);

#endif
