/* The pull of reservations from channels in mode pull (ota/pull.c): the job kind `ota_pull`
 * (params {"channelId": N}: one pull of one channel, every queue of its connector: fetch,
 * parse, ingest in one transaction, acknowledge only after the commit), and the per-node
 * scheduler that queues it. Every HERALD tick the scheduler reads the due channels
 * (next_pull_at_ms <= now) and, for each, in ONE transaction inserts the job and moves
 * next_pull_at_ms to now + poll_seconds with a compare-and-set that also refuses while the
 * channel's previous pull job is pending or running: on PostgreSQL with several nodes exactly
 * one node queues each pull and one pull per channel runs at a time (the job's lease).
 *
 * Outcomes, recorded on the channel (last_pull_at_ms, last_pull_status, last_error):
 *   ok        everything fetched was stored and acknowledged;
 *   retrying  429, 5xx, timeouts, a failed acknowledgement, a database error: the job fails
 *             and the job layer retries it with its backoff (the channel re-delivers what was
 *             not acknowledged; the ingest recognises it as the same revision);
 *   failed    credentials refused (HTTP 401/403, an OpenTravel authentication error, a
 *             WS-Security fault), another 4xx, a malformed message: nothing is acknowledged,
 *             a dead letter (label ota_pull, the reply's body as payload) is written once per
 *             distinct error, and the job completes (the next poll tries again).
 * Errors of ota_pull_start: HERALD_ERR_DUPLICATE (kind registered twice), HERALD_ERR_NOMEM;
 * of ota_pull_schedule: HERALD_ERR_INTERNAL (thread). */
#ifndef HERALD_OTA_PULL_H
#define HERALD_OTA_PULL_H

#include <stddef.h>

#include "base/err.h"
#include "jobs/jobs.h"
#include "ota/channels.h"
#include "ota/reservations.h"

#define OTA_PULL_KIND "ota_pull"

struct ota_pull_opts {
    struct store *st;
    struct ota_channels *chs;
    /* The reservations domain, read when a job runs (it may be opened after this starts). */
    struct ota_reservations *const *reservations;
    long timeout_ms;          /* per request to a channel */
    size_t max_message_bytes; /* HERALD_OTA_MAX_MESSAGE_BYTES */
    int tick_ms;              /* how often the scheduler looks for due channels; 0: 1000 */
};

struct ota_pull;
/* Registers the kind (before jobs_start). */
enum herald_err ota_pull_start(struct jobs *j, const struct ota_pull_opts *o,
                               struct ota_pull **out);
/* Starts this node's scheduler thread, which submits jobs: after jobs_start(), when every kind
 * is registered. */
enum herald_err ota_pull_schedule(struct ota_pull *p);
/* Stops the scheduler thread, which queues through the job layer: before jobs_free(). */
void ota_pull_halt(struct ota_pull *p);
/* Halts (if not done yet) and frees; after jobs_free() (running pulls read `o`). */
void ota_pull_stop(struct ota_pull *p);

#endif
