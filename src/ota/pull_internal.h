/* Private to ota/pull.c (kind + scheduler) and ota/pull_run.c (one pull). */
#ifndef HERALD_OTA_PULL_INTERNAL_H
#define HERALD_OTA_PULL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "ota/pull.h"

struct ota_pull {
    struct ota_pull_opts o;
    struct jobs *jobs;
    pthread_t thread;
    bool started, halted;
    atomic_bool stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* The kind's run function (pull_run.c). */
int ota_pull_run(struct jobs_ctx *ctx);

#endif
