/* Stay-triggered automations (ota/automations.c: rules and scheduling; ota/automation_tick.c:
 * the scheduler job kind): a rule {name, trigger, offsetDays, templateId, kind, lists?,
 * hotelCodes?} and the one send it makes per reservation revision it applies to.
 *
 * Triggers and due times (HERALD_AUTOMATION_SEND_HOUR, UTC):
 *   pre_arrival        arrival − offsetDays, at the send hour (a booking that arrives after
 *                      that moment but before the arrival day: at once)
 *   post_stay          departure + offsetDays, at the send hour
 *   booking_confirmed  the first revision of a reservation neither cancelled nor waitlisted
 *                      (OTA_RES_RESERVED): at once (offset 0)
 *                      or that day + offsetDays at the send hour
 *   cancelled          the cancelling revision: at once, or that day + offsetDays at the hour
 * Revisions: a new revision reschedules a still scheduled send in place (new due time,
 * revision, contact); a cancellation (or no-show) cancels scheduled pre_arrival, post_stay
 * and booking_confirmed sends; when the send was already queued, a later revision with a
 * different due time (the stay moved) schedules a new send, one with the same due time adds
 * nothing. booking_confirmed and cancelled send at most once per reservation.
 * Kinds: service mail goes to the stay's guest (no list subscription needed; blocklisted,
 * bounced, complained and globally unsubscribed contacts are still skipped); marketing mail
 * needs `lists` and goes only to a guest with a confirmed subscription to one of them, never
 * to a relay address. Both are checked when the send is due and again by the sender.
 *
 * The scheduler: job kind "automation_tick" on the schedule "automation_tick"
 * ("@every <HERALD_AUTOMATION_TICK_SECONDS>s"): its clock is now +
 * HERALD_AUTOMATION_CLOCK_OFFSET_SECONDS. Each due send (FOR UPDATE SKIP LOCKED on PostgreSQL,
 * compare-and-set on its status, so two nodes never queue one twice) is checked and handed to
 * the sending queue as a campaign row of its own with one send_queue row
 * (store_automation_send_enqueue()), or recorded skipped with a reason ("late": more than
 * 24 h past due; "relay_address", "no_consent", "unsubscribed", "blocklisted", "bounced",
 * "complained", "contact_deleted", "template_missing"). Nothing is queued while sending is
 * not configured (no relay or postal address): sends wait, scheduled.
 *
 * Errors: HERALD_ERR_INVALID with a field (bodies), HERALD_ERR_NOT_FOUND, store errors. */
#ifndef HERALD_OTA_AUTOMATIONS_H
#define HERALD_OTA_AUTOMATIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "jobs/jobs.h"
#include "ota/reservations.h"
#include "store/store.h"

#define OTA_AUTOMATION_TICK_KIND "automation_tick"
#define OTA_AUTOMATION_LATE_MS (24LL * 3600 * 1000)

struct ota_automations_opts {
    struct store *store;
    struct jobs *jobs;         /* the tick kind is registered here */
    const char *mail_from;     /* HERALD_MAIL_FROM: fromEmail when a create gives none */
    const char *relay_domains; /* HERALD_OTA_RELAY_DOMAINS */
    int send_hour;             /* HERALD_AUTOMATION_SEND_HOUR */
    int tick_seconds;          /* HERALD_AUTOMATION_TICK_SECONDS */
    int64_t clock_offset_ms;   /* HERALD_AUTOMATION_CLOCK_OFFSET_SECONDS × 1000 */
    bool sending_configured;   /* HERALD_SMTP_URL and HERALD_POSTAL_ADDRESS set */
    void (*wake)(void *arg);   /* makes the sender look for work (may be NULL) */
    void *wake_arg;
};
struct ota_automations;

/* Creates the module and registers the tick job kind (before jobs_start()). */
enum herald_err ota_automations_start(const struct ota_automations_opts *o,
                                      struct ota_automations **out);
/* After the job workers have stopped. Takes NULL. */
void ota_automations_free(struct ota_automations *m);
/* The schedule of the tick ("@every Ns") for jobs_schedule_start(); params {}. */
const char *ota_automations_schedule_expr(const struct ota_automations *m);

/* ---- the API ---- */
/* POST /api/automations: *out is the view (a new reference). */
enum herald_err ota_automation_create(struct ota_automations *m, json_t *body, json_t **out,
                                      struct herald_error *err);
enum herald_err ota_automation_get(struct ota_automations *m, int64_t id, json_t **out);
/* Ascending id after after_id; *next_after the cursor for the next page (0: none). */
enum herald_err ota_automation_list(struct ota_automations *m, int64_t after_id, int limit,
                                    json_t **out, int64_t *next_after);
/* PATCH: any field of create (the result is validated whole). Pending sends keep their due
 * times; a disabled automation's due sends wait. */
enum herald_err ota_automation_update(struct ota_automations *m, int64_t id, json_t *body,
                                      json_t **out, struct herald_error *err);
/* Deletes it with its scheduled sends (queued ones stay in the queue and the statistics). */
enum herald_err ota_automation_delete(struct ota_automations *m, int64_t id);
/* Its sends, newest first, ids below before_id; *next_before for the next page (0: none). */
enum herald_err ota_automation_sends(struct ota_automations *m, int64_t id, int64_t before_id,
                                     int limit, json_t **out, int64_t *next_before);

/* ---- called by the guests hook, inside the ingestion transaction ---- */
/* Schedules, reschedules or cancels every enabled automation's send for this revision
 * (contact_id 0: the guest is no contact; only cancellations apply). Only for a revision that
 * became the reservation's current one (the revision hook's contract: an older one delivered
 * late changes nothing); while its status is cancel or no-show only the "cancelled" trigger
 * schedules. */
enum herald_err ota_automations_on_revision(struct ota_automations *m, struct store_conn *c,
                                            const struct ota_reservation *res,
                                            int64_t reservation_id, int64_t revision_id,
                                            int64_t contact_id, int64_t now_ms);
/* The lists of the enabled marketing automations covering hotel_code (distinct, at most cap):
 * where a guest's explicit opt-in subscribes them. */
enum herald_err ota_automations_marketing_lists(struct store_conn *c, const char *hotel_code,
                                                int64_t *lists, size_t cap, size_t *n);

/* ---- the scheduler ---- */
/* One pass: queues (or skips) every send due at now_ms on the automation clock (the caller
 * adds the offset); *queued and *skipped say how many. */
enum herald_err ota_automations_tick(struct ota_automations *m, int64_t clock_ms, int *queued,
                                     int *skipped);
/* The due time of a trigger for a reservation (0: none: no dates, or a cancel for a stay
 * trigger). Pure. */
int64_t ota_automation_due_ms(const char *trigger, int offset_days, int send_hour,
                              const struct ota_reservation *res, int64_t now_ms);

#endif
