/* Campaigns (mail/campaigns.c, mail/campaign_start.c): validation and storage of a campaign,
 * its life cycle (draft → scheduled → running ⇄ paused → finished | cancelled), test sends,
 * and the `campaign_start` job kind that materialises the send queue and sets it running.
 * The sender (mail/sender.h) then drains the queue.
 *
 * States and who moves them:
 *   draft      created; PATCH/DELETE allowed
 *   scheduled  /send with a future sendAt: a campaign_start job due at sendAt (PATCH/DELETE
 *              allowed: PATCH re-schedules, DELETE/cancel cancels the job)
 *   running    the campaign_start job filled the queue; the sender claims its rows
 *   paused     /pause: senders release unsent claimed rows within a second
 *   finished   every row is done (sent, failed, bounced, skipped)
 *   cancelled  /cancel: pending rows are cancelled
 * /send answers 409 sending_not_configured while HERALD_SMTP_URL or HERALD_POSTAL_ADDRESS is
 * empty; /pause, /resume, /cancel answer 409 conflict from a state they do not apply to.
 *
 * Errors: HERALD_ERR_INVALID (with field) for a bad body, HERALD_ERR_NOT_FOUND,
 * HERALD_ERR_CONFLICT, HERALD_ERR_SENDING_NOT_CONFIGURED, HERALD_ERR_SMTP (test sends),
 * store errors. */
#ifndef HERALD_MAIL_CAMPAIGNS_H
#define HERALD_MAIL_CAMPAIGNS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "jobs/jobs.h"
#include "mail/token.h"
#include "store/store.h"

struct mail_campaigns;
struct mail_transport;
struct mail_sender;

struct mail_campaigns_opts {
    struct store *store;
    struct jobs *jobs;                /* campaign_start jobs are submitted here */
    const struct mail_keyring *keys;  /* signs unsubscribe/open/click/bounce tokens */
    struct mail_transport *transport; /* test sends; NULL when SMTP is not configured */
    const char *public_url;           /* HERALD_PUBLIC_URL, no trailing slash needed */
    const char *postal_address;       /* HERALD_POSTAL_ADDRESS ("" = not configured) */
    const char *smtp_url;             /* HERALD_SMTP_URL ("" = not configured) */
    const char *bounce_domain;        /* HERALD_BOUNCE_DOMAIN ("" = the From domain) */
    const char *mail_from;            /* HERALD_MAIL_FROM: fromEmail when a create gives none */
    struct mail_sender *sender;       /* woken when a campaign starts running; may be NULL */
};

/* The domain context (copies the strings). HERALD_ERR_NOMEM. */
enum herald_err mail_campaigns_new(const struct mail_campaigns_opts *opts,
                                   struct mail_campaigns **out);
void mail_campaigns_free(struct mail_campaigns *m);

/* The job kind "campaign_start" (params {"campaignId": n}); register it with arg = the
 * struct mail_campaigns. Its run fills the queue in chunks of 5,000 contacts (idempotent: a
 * resumed run inserts nothing twice), sets recipients and moves the campaign to running. */
extern const struct jobs_kind mail_campaign_start_kind;

/* POST /api/campaigns: validates body (addresses, lists exist, template exists, merge tags
 * of subject/html/text compile, html sanitised, text generated when absent) and stores a
 * draft. *out is the campaign's JSON view (a new reference). */
enum herald_err mail_campaign_create(struct mail_campaigns *m, json_t *body, json_t **out,
                                     struct herald_error *err);
/* The JSON view: fields, status, recipients, sent, failed, bounced, skipped, opened,
 * clicked, unsubscribed, progress (percent), ratePerMinute. NOT_FOUND. */
enum herald_err mail_campaign_get(struct mail_campaigns *m, int64_t id, json_t **out);
/* Newest first, ids below before_id (0: newest); *out a JSON array, *next_before the cursor
 * for the next page (0: none). */
enum herald_err mail_campaign_list(struct mail_campaigns *m, int64_t before_id, int limit,
                                   json_t **out, int64_t *next_before);
/* PATCH: any field of create; only while draft or scheduled (CONFLICT otherwise). */
enum herald_err mail_campaign_update(struct mail_campaigns *m, int64_t id, json_t *body,
                                     json_t **out, struct herald_error *err);
/* DELETE: only while draft or scheduled (a scheduled start job is cancelled). */
enum herald_err mail_campaign_delete(struct mail_campaigns *m, int64_t id,
                                     struct herald_error *err);
/* /send: from draft; a sendAt in the future → scheduled with a job due then, else a
 * campaign_start job at once (the campaign stays draft until the job sets it running; a
 * second /send meanwhile is a CONFLICT). */
enum herald_err mail_campaign_send(struct mail_campaigns *m, int64_t id, json_t **out,
                                   struct herald_error *err);
/* running → paused; paused → running; draft|scheduled|running|paused → cancelled. */
enum herald_err mail_campaign_pause(struct mail_campaigns *m, int64_t id, struct herald_error *err);
enum herald_err mail_campaign_resume(struct mail_campaigns *m, int64_t id,
                                     struct herald_error *err);
enum herald_err mail_campaign_cancel(struct mail_campaigns *m, int64_t id,
                                     struct herald_error *err);
/* /test: renders the campaign for each address (as a contact of that email when one exists,
 * else an empty contact) and sends it now with "[Test]" prefixed to the subject, outside
 * the queue and the counts. At most 10 addresses. */
enum herald_err mail_campaign_test(struct mail_campaigns *m, int64_t id, const char *const *emails,
                                   size_t n, struct herald_error *err);

#endif
