/* Retrying Mixpanel dead letters through the job layer: the "mixpanel_retry" kind takes a dead
 * letter labelled "mixpanel" (an event Mixpanel refused) and imports that one event again; a
 * second refusal makes a new dead letter. POST /api/jobs/dead-letters/{id}/retry queues it. */
#ifndef HERALD_SYNC_MIXPANEL_RETRY_H
#define HERALD_SYNC_MIXPANEL_RETRY_H

#include "base/err.h"
#include "jobs/jobs.h"
#include "sync/mixpanel.h"

/* The kind itself (registered by mixpanel_retry_register(); public for the fuzz target). */
extern const struct jobs_kind mixpanel_retry_job_kind;

struct mixpanel_retry;
/* Registers the kind with `jobs` (before jobs_start()). The strings of opts must outlive it. */
enum herald_err mixpanel_retry_register(struct jobs *jobs, const struct mixpanel_opts *opts,
                                        struct mixpanel_retry **out);
void mixpanel_retry_free(struct mixpanel_retry *r);

#endif
