/* Periodic incremental sync: on each tick of HERALD_SYNC_SCHEDULE one node (whichever wins the
 * compare-and-set on the schedule row) queues an incremental sync of every configured
 * platform; the job queue then runs it like any other. */
#ifndef HERALD_SYNC_PERIODIC_H
#define HERALD_SYNC_PERIODIC_H

#include <stdint.h>

#include "store/store.h"
#include "sync/engine.h"

struct periodic;

/* `schedule` is a cron expression (jobs/cron.h) or "off". HERALD_ERR_INVALID with a message
 * in err when it does not parse. */
int periodic_start(struct store *st, struct sync_engine *engine, const struct cfg *cfg,
                   struct periodic **out, char *err, size_t err_size);
void periodic_stop(struct periodic *p);

struct periodic_status {
    const char *status;               /* disabled, healthy, failing */
    int64_t last_run_ms, next_run_ms; /* 0: none */
    char last_error[300];
};
int periodic_get_status(struct periodic *p, struct periodic_status *out);

#endif
