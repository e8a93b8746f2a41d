/* Schedules: periodic work for any job kind. Each schedule names a cron expression, a kind and
 * the raw params its jobs are submitted with. On each tick exactly one node (whichever wins
 * the compare-and-set on the schedule's store row) queues the job, in the same transaction. */
#ifndef HERALD_JOBS_SCHEDULE_H
#define HERALD_JOBS_SCHEDULE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "jobs/jobs.h"

struct jobs_schedule_def {
    const char *name; /* the store row's name, e.g. "periodic_sync" */
    const char *expr; /* a cron expression (jobs/cron.h) */
    const char *kind;
    json_t *params; /* raw params, as a client would submit them (the schedule keeps a reference) */
};

struct jobs_schedule;

/* Creates (or updates) each schedule's row and starts the ticking thread (none when n is 0).
 * HERALD_ERR_INVALID with a message in err when an expression does not parse or a
 * schedule's params do not validate. */
int jobs_schedule_start(struct jobs *j, const struct jobs_schedule_def *defs, size_t n,
                        struct jobs_schedule **out, char *err, size_t err_size);
void jobs_schedule_stop(struct jobs_schedule *s);

struct jobs_schedule_status {
    const char *status;               /* disabled, healthy, failing */
    int64_t last_run_ms, next_run_ms; /* 0: none */
    char last_error[300];
};
/* The state of the schedule `name`: "disabled" when this node does not run it. */
int jobs_schedule_status(struct jobs_schedule *s, const char *name,
                         struct jobs_schedule_status *out);

#endif
