/* api/: one file per resource; each handler parses, calls the domain, and replies once. */
#ifndef HERALD_API_API_H
#define HERALD_API_API_H

#include <stddef.h>

#include "app.h"
#include "events/key.h"
#include "http/http.h"

/* The route table the server dispatches on. */
extern const struct http_route api_routes[];
extern const size_t api_route_count;

/* http_key_lookup_fn over keys_lookup(); ctx is the struct app. */
int api_key_lookup(void *ctx, const char *secret, struct http_principal *out);

/* Handlers, by resource file. */
enum http_result api_livez(struct http_request *req, void *ctx);
enum http_result api_health(struct http_request *req, void *ctx);
enum http_result api_prometheus(struct http_request *req, void *ctx);
enum http_result api_process_metrics(struct http_request *req, void *ctx);
enum http_result api_event_keys_generate(struct http_request *req, void *ctx);
enum http_result api_events_list(struct http_request *req, void *ctx);
enum http_result api_jobs_status(struct http_request *req, void *ctx);
enum http_result api_database_performance(struct http_request *req, void *ctx);
enum http_result api_database_optimize(struct http_request *req, void *ctx);
enum http_result api_migrations_list(struct http_request *req, void *ctx);
enum http_result api_migrations_rollback(struct http_request *req, void *ctx);
enum http_result api_full_sync_execute(struct http_request *req, void *ctx);
enum http_result api_full_sync_status(struct http_request *req, void *ctx);
enum http_result api_full_sync_cancel(struct http_request *req, void *ctx);
enum http_result api_full_sync_jobs(struct http_request *req, void *ctx);
enum http_result api_dead_letters_list(struct http_request *req, void *ctx);
enum http_result api_dead_letters_retry(struct http_request *req, void *ctx);
/* email: lists, contacts, subscriptions, imports, double opt-in (lists.c, contacts.c) */
enum http_result api_lists_create(struct http_request *req, void *ctx);
enum http_result api_lists_list(struct http_request *req, void *ctx);
enum http_result api_lists_get(struct http_request *req, void *ctx);
enum http_result api_lists_update(struct http_request *req, void *ctx);
enum http_result api_lists_delete(struct http_request *req, void *ctx);
enum http_result api_contacts_create(struct http_request *req, void *ctx);
enum http_result api_contacts_list(struct http_request *req, void *ctx);
enum http_result api_contacts_get(struct http_request *req, void *ctx);
enum http_result api_contacts_update(struct http_request *req, void *ctx);
enum http_result api_contacts_delete(struct http_request *req, void *ctx);
/* subscription.c: the public confirmation page (GET shows, POST confirms) and form. */
enum http_result api_subscription_confirm_page(struct http_request *req, void *ctx);
enum http_result api_subscription_confirm(struct http_request *req, void *ctx);
enum http_result api_subscription_form(struct http_request *req, void *ctx);
/* paging.c, shared by every list route. True when s is a positive decimal id. */
bool api_positive_id(const char *s, int64_t *out);
/* An opaque paging cursor naming an id ("the rows after/before it"), tagged per resource. */
void api_id_cursor_encode(const char *tag, int64_t id, char out[64]);
/* False unless cursor is one api_id_cursor_encode() wrote with this tag. */
bool api_id_cursor_decode(const char *tag, const char *cursor, int64_t *id);
/* ?limit= (1..100, default 50) and ?cursor= (from api_id_cursor_encode() with `tag`; 0 when
 * absent); answers 400 itself and returns false on a bad one. */
bool api_page_args(struct http_request *req, const char *tag, int *limit, int64_t *after_id);
/* Answers 200 {"success":true, <name>: items, "nextCursor": cursor of next_id under `tag` or
 * null when next_id is 0, "limit": limit}; takes items. */
enum http_result api_reply_page(struct http_request *req, const char *name, json_t *items,
                                const char *tag, int64_t next_id, int limit);

/* email: CSV contact imports (imports.c) */
/* Streaming (HTTP_STREAM): runs on the headers, then the body goes to the upload. */
enum http_result api_contacts_import(struct http_request *req, void *ctx);
enum http_result api_contacts_import_status(struct http_request *req, void *ctx);

/* email: templates (templates.c) */
enum http_result api_templates_create(struct http_request *req, void *ctx);
enum http_result api_templates_list(struct http_request *req, void *ctx);
enum http_result api_templates_get(struct http_request *req, void *ctx);
enum http_result api_templates_update(struct http_request *req, void *ctx);
enum http_result api_templates_delete(struct http_request *req, void *ctx);
enum http_result api_templates_preview(struct http_request *req, void *ctx);

/* email: campaigns and sending (campaigns.c) */
enum http_result api_campaigns_create(struct http_request *req, void *ctx);
enum http_result api_campaigns_list(struct http_request *req, void *ctx);
enum http_result api_campaigns_get(struct http_request *req, void *ctx);
enum http_result api_campaigns_update(struct http_request *req, void *ctx);
enum http_result api_campaigns_delete(struct http_request *req, void *ctx);
enum http_result api_campaigns_send(struct http_request *req, void *ctx);
enum http_result api_campaigns_pause(struct http_request *req, void *ctx);
enum http_result api_campaigns_resume(struct http_request *req, void *ctx);
enum http_result api_campaigns_cancel(struct http_request *req, void *ctx);
enum http_result api_campaigns_test(struct http_request *req, void *ctx);
/* Public tracking routes (tracking.c). */
enum http_result api_tracking_open(struct http_request *req, void *ctx);
enum http_result api_tracking_click(struct http_request *req, void *ctx);
/* The campaigns domain, the campaign_start job kind and (with a transport) the sender, from
 * the configuration: called by cli/serve.c after the transport opens, before jobs_start(). */
enum herald_err api_campaigns_start(struct app *app);
/* Stops the sender and frees the domain: after jobs_free(), before the transport closes. */
void api_campaigns_stop(struct app *app);
/* The sender's lines of /metrics (sent, failed, bounced, skipped, retried, queue depth). */

/* email: tracking, unsubscribe, preferences, bounces, statistics (feedback.c, stats.c) */
enum http_result api_unsubscribe_page(struct http_request *req, void *ctx);
enum http_result api_unsubscribe_post(struct http_request *req, void *ctx);
enum http_result api_preferences_page(struct http_request *req, void *ctx);
enum http_result api_preferences_post(struct http_request *req, void *ctx);
enum http_result api_bounces_post(struct http_request *req, void *ctx);
enum http_result api_email_stats(struct http_request *req, void *ctx);

/* hotels: OTA channels, validation and pull (ota_channels.c) */
enum http_result api_ota_channels_create(struct http_request *req, void *ctx);
enum http_result api_ota_channels_list(struct http_request *req, void *ctx);
enum http_result api_ota_channels_get(struct http_request *req, void *ctx);
enum http_result api_ota_channels_update(struct http_request *req, void *ctx);
enum http_result api_ota_channels_delete(struct http_request *req, void *ctx);
enum http_result api_ota_channels_validate(struct http_request *req, void *ctx);
struct ota_validation;
/* {"channelId","ok","checks":[{"name","result","message","durationMs"}]} (also the CLI's --json).
 */
json_t *api_ota_validation_json(const struct ota_validation *v);

/* hotels: reservations (ota_reservations.c) */
enum http_result api_ota_reservations_list(struct http_request *req, void *ctx);
enum http_result api_ota_reservations_get(struct http_request *req, void *ctx);

/* hotels: push endpoints and webhooks (ota_push.c) */
enum http_result api_ota_push(struct http_request *req, void *ctx);
enum http_result api_ota_webhook(struct http_request *req, void *ctx);
/* The server's partner_error: errors the HTTP layer answers on /ota/... as OpenTravel RS. */
bool api_ota_partner_error(struct http_request *req, enum herald_err err, const char *message,
                           void *ctx);

/* hotels: rates and availability out (ota_updates.c) */
enum http_result api_ota_rates_put(struct http_request *req, void *ctx);
enum http_result api_ota_availability_put(struct http_request *req, void *ctx);
enum http_result api_ota_updates_list(struct http_request *req, void *ctx);
enum http_result api_ota_updates_retry(struct http_request *req, void *ctx);

/* hotels: guests and automations (automations.c) */
enum http_result api_automations_create(struct http_request *req, void *ctx);
enum http_result api_automations_list(struct http_request *req, void *ctx);
enum http_result api_automations_get(struct http_request *req, void *ctx);
enum http_result api_automations_update(struct http_request *req, void *ctx);
enum http_result api_automations_delete(struct http_request *req, void *ctx);
enum http_result api_automations_sends(struct http_request *req, void *ctx);
/* The automations module and the guests hook (after api_campaigns_start: it wakes the
 * sender); stop after the job workers. */
enum herald_err api_automations_start(struct app *app);
void api_automations_stop(struct app *app);

/* privacy: export, erasure, retention, audit (privacy.c, audit.c) */
enum http_result api_privacy_export(struct http_request *req, void *ctx);
enum http_result api_privacy_erase(struct http_request *req, void *ctx);
enum http_result api_privacy_erasure_get(struct http_request *req, void *ctx);
enum http_result api_privacy_erasure_retry_mixpanel(struct http_request *req, void *ctx);
enum http_result api_privacy_retention(struct http_request *req, void *ctx);
enum http_result api_audit_list(struct http_request *req, void *ctx);
/* The HTTP layer's audit callback (ctx: struct app): queues one entry per keyed change. */
void api_audit_hook(void *ctx, const struct http_audit_entry *e);

/* dashboard: the web UI's static files (dashboard.c) */
enum http_result api_dashboard_index(struct http_request *req, void *ctx);
enum http_result api_dashboard_asset(struct http_request *req, void *ctx);
enum http_result api_dashboard_root_file(struct http_request *req, void *ctx);
/* dashboard: API keys over HTTP for its Settings page (keys.c, scope admin) */
enum http_result api_keys_list(struct http_request *req, void *ctx);
enum http_result api_keys_create(struct http_request *req, void *ctx);
enum http_result api_keys_rotate(struct http_request *req, void *ctx);
enum http_result api_keys_revoke(struct http_request *req, void *ctx);

/* Parses and validates one event object of a generate request (`path` prefixes field names:
 * "events[3]"), computing its key. Answers 400 itself on failure. On success *payload is the
 * normalised properties JSON or NULL (free() it). */
int api_event_parse(struct http_request *req, json_t *obj, const char *path,
                    struct evkey_fields *fields, char key[EVKEY_MAX_LEN], char **payload);

/* Shared by handlers: answers a store/domain error through the error table. */
enum http_result api_fail(struct http_request *req, int rc);
/* The same with the details a domain function filled in (field, message): the way a handler
 * answers an error it holds as struct herald_error (docs/errors.md). */
static inline enum http_result api_fail_err(struct http_request *req,
                                            const struct herald_error *err)
{
    http_reply_err(req, err);
    return HTTP_REPLIED;
}
/* Writes an ISO-8601 UTC timestamp as a JSON string. */
json_t *api_time(int64_t ms);

#endif
