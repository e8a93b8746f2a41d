/* What the job layer's own files share (worker.c, jobs.c, schedule.c): the pool's state, the
 * kinds table, and the one place a job row is inserted. Not for use outside src/jobs/. */
#ifndef HERALD_JOBS_INTERNAL_H
#define HERALD_JOBS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "jobs/jobs.h"

#define JOBS_MAX_WORKERS 64
#define JOBS_MAX_KINDS 16

struct jobs_worker {
    struct jobs *j;
    pthread_t thread;
    char job_id[40]; /* under j->mu */
    /* Who holds the current claim: "<node>/<claim number>". Each claim is its own owner, so a
     * run whose lease lapsed cannot write over a later claim of the same job on this node. */
    char owner[48];
    atomic_bool cancel;
    int64_t last_poll_ms;
};

struct jobs_kind_entry {
    const struct jobs_kind *kind;
    void *arg;
};

struct jobs {
    struct store *st;
    struct jobs_opts opts;
    char node[40];
    atomic_uint claims; /* numbers this node's claims (the owners of its workers) */
    struct jobs_kind_entry kinds[JOBS_MAX_KINDS];
    size_t nkinds;
    char kind_names[JOBS_MAX_KINDS * 17]; /* "sync,mixpanel_retry": what this node claims */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_bool stopping;
    atomic_bool paused; /* jobs_pause(): claim nothing, hand running jobs back */
    int nworkers;
    struct jobs_worker workers[JOBS_MAX_WORKERS];
};

const struct jobs_kind_entry *jobs_kind_find(const struct jobs *j, const char *name);
/* Validates raw params through the kind; *text is the normalised JSON (free() it). */
int jobs_normalise(const struct jobs *j, const char *kind, json_t *raw, char **text,
                   struct jobs_problem *problem);
/* A new job id (a random UUID). */
int jobs_new_id(char id[40]);
/* Inserts a pending job with normalised params: the one place job rows are created. */
int jobs_insert_tx(struct store_conn *c, const char *id, const char *kind, const char *params,
                   int64_t now_ms);
/* Writes a dead letter inside a transaction: the one place dead letters are created. */
int jobs_dead_letter_tx(struct store_conn *c, const char *job_id, const char *kind,
                        const char *reason, const char *request, const char *payload);
/* Tells idle workers that a job was queued. */
void jobs_wake(struct jobs *j);
/* Makes a job this node runs notice a cancel at once. */
void jobs_cancel_local(struct jobs *j, const char *id);

#endif
