/* The sync engine: sync jobs live in the store's job queue; worker threads on every node claim
 * them (SKIP LOCKED on PostgreSQL), hold a lease they renew with each checkpoint, and run each
 * platform's connector from its saved cursor. A node that dies stops renewing: its jobs are
 * taken over, by any node, once the lease expires. */
#ifndef HERALD_SYNC_ENGINE_H
#define HERALD_SYNC_ENGINE_H

#include <stdbool.h>

#include "base/config.h"
#include "events/ingest.h"
#include "store/store.h"

struct sync_engine;

int sync_engine_start(struct store *st, struct ingest *ing, const struct cfg *cfg,
                      struct sync_engine **out);
/* Stops the workers: jobs under way are released (back to pending, cursor kept) so the next
 * start, here or on another node, resumes them at once. */
void sync_engine_stop(struct sync_engine *e);
/* This node's id in job locks and leases ("node-<hex>"). */
const char *sync_engine_node(const struct sync_engine *e);
bool sync_platform_known(const char *platform);
bool sync_platform_configured(const struct sync_engine *e, const char *platform);
/* A new job id (a random UUID). */
int sync_new_job_id(char id[40]);
/* Tells idle workers that a job was queued (by another path than sync_engine_enqueue). */
void sync_engine_wake(struct sync_engine *e);
/* Queues a job with the given params (validated JSON); writes its id. */
int sync_engine_enqueue(struct sync_engine *e, const char *params_json, char id[40]);
/* Makes a job this node runs notice a cancel at once (the store flag reaches other nodes). */
void sync_engine_cancel_local(struct sync_engine *e, const char *job_id);
/* Puts a failed job back in the queue, attempts reset, cursor kept. */
int sync_engine_requeue(struct sync_engine *e, const char *job_id);

/* "healthy", "unhealthy" or "unconfigured": a cheap authenticated request with a 2 s timeout,
 * cached for 30 s. */
const char *sync_engine_probe(struct sync_engine *e, const char *platform);

#endif
