/* The one job layer: every kind of background work goes through the store's durable queue,
 * run by one worker pool (worker.c) and reached through one API (jobs.c).
 *
 * A kind is registered in the table with {name, validate+normalise, run, progress}. Its params
 * are validated and normalised once, when a job is submitted (by the API or a schedule); the
 * run function gets a context (struct jobs_ctx) to checkpoint, check for a cancel, renew its
 * lease and record dead letters. It never touches leases itself: the worker claims the job,
 * holds its lease, renews it with each checkpoint, and records the outcome (completed,
 * cancelled, retried with backoff, released on shutdown, failed + dead letter). */
#ifndef HERALD_JOBS_JOBS_H
#define HERALD_JOBS_JOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

struct jobs;
struct jobs_ctx;

/* Why a submission was refused: the offending field and a sentence for the client. */
struct jobs_problem {
    char field[64];
    char message[200];
};

struct jobs_kind {
    const char *name; /* at most 15 characters */
    /* Checks raw params (a client's request body, a schedule's params) and sets *out to the
     * normalised params the job stores (a new reference). On refusal returns
     * HERALD_ERR_INVALID (or another error, e.g. HERALD_ERR_PLATFORM_NOT_CONFIGURED) and
     * fills `problem`. Must be pure: it may run inside a transaction that is retried. */
    int (*validate)(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem);
    /* Runs or resumes one job from its saved progress. Returns 0 when the work is done,
     * HERALD_ERR_CANCELLED once a context call said so, another error to fail (retried with
     * backoff unless jobs_ctx_fail() said the failure is permanent). */
    int (*run)(struct jobs_ctx *ctx);
    /* The public view of saved progress (a new reference); NULL shows it as saved. */
    json_t *(*progress)(json_t *saved);
    /* Label of the dead letters the run records (NULL: the kind's name). */
    const char *dead_letter_kind;
    /* Dead letters with this label, retried, become a new job of this kind with raw params
     * {"deadLetterId": id, "payload": "<the dead letter's payload>"} (NULL: none). */
    const char *retries;
    /* A schedule runs it every minute or so: its queueing, its start and its stop when
     * completed are logged at debug, not info (a failure is still logged at info). */
    bool routine;
};

struct jobs_opts {
    int workers;
    int64_t lease_ms;
    int max_attempts;
};

/* Creates the layer (no threads yet): a node id, the kinds table. */
enum herald_err jobs_new(struct store *st, const struct jobs_opts *opts, struct jobs **out);
/* Adds a kind; `arg` is handed to its validate function and to its run (jobs_ctx_arg()).
 * Before jobs_start(). HERALD_ERR_DUPLICATE for a name already registered. */
enum herald_err jobs_register(struct jobs *j, const struct jobs_kind *kind, void *arg);
/* Starts the workers. */
enum herald_err jobs_start(struct jobs *j);
/* Stops claiming new work and makes running jobs stop at their next checkpoint or
 * should_stop poll; they are released (pending again, progress kept). Waits up to timeout_ms
 * for this node's workers to be idle: HERALD_ERR_CONFLICT if they are not (still paused). */
enum herald_err jobs_pause(struct jobs *j, int timeout_ms);
/* Undoes jobs_pause(): released jobs are claimed again. */
void jobs_resume(struct jobs *j);
/* Stops the workers: jobs under way are released (back to pending, progress kept) so the
 * next start, here or on another node, resumes them at once. Then frees j. */
void jobs_free(struct jobs *j);
/* This node's id in job locks and leases ("node-<hex>"). */
const char *jobs_node(const struct jobs *j);

/* ---- the API (jobs.c) ---- */
/* Validates and normalises raw params through the kind, then queues the job; writes its id.
 * HERALD_ERR_NOT_FOUND for an unknown kind. */
enum herald_err jobs_submit(struct jobs *j, const char *kind, json_t *raw, char id[40],
                            struct jobs_problem *problem);
/* The same, due at run_after_ms (unix ms; a time already past means at once): workers poll
 * twice a second, so the job starts within about half a second of it. */
enum herald_err jobs_submit_at(struct jobs *j, const char *kind, json_t *raw, int64_t run_after_ms,
                               char id[40], struct jobs_problem *problem);
/* The same inside the caller's transaction on `c` (so the job exists exactly when the
 * caller's state change commits; the kind's validate is pure, so a retried transaction may
 * call it again). After the commit, jobs_notify() starts an idle worker at once. */
enum herald_err jobs_submit_tx(struct jobs *j, struct store_conn *c, const char *kind, json_t *raw,
                               int64_t run_after_ms, char id[40], struct jobs_problem *problem);
/* Wakes this node's idle workers (after a jobs_submit_tx() commit). */
void jobs_notify(struct jobs *j);
/* Pending jobs are cancelled at once (*now_cancelled); running ones are flagged (a worker
 * here notices at once, elsewhere within half a second). HERALD_ERR_NOT_FOUND,
 * HERALD_ERR_CONFLICT when the job has already finished. */
enum herald_err jobs_cancel(struct jobs *j, const char *id, bool *now_cancelled);

struct jobs_info {
    char id[40];
    char kind[16];
    char status[16]; /* pending, running, completed, failed, cancelled */
    json_t *params;
    json_t *progress; /* the kind's public view */
    char *error;      /* NULL when none */
    int attempts;
    bool cancel_requested;
    int64_t created_at_ms, started_at_ms, finished_at_ms; /* 0: none */
};
void jobs_info_clear(struct jobs_info *info);
void jobs_infos_free(struct jobs_info *infos, size_t count);
/* True for the form of id jobs_submit() writes (a UUID). */
bool jobs_id_valid(const char *id);
/* HERALD_ERR_NOT_FOUND for an unknown (or malformed) id. Clear *out with jobs_info_clear(). */
enum herald_err jobs_get(struct jobs *j, const char *id, struct jobs_info *out);
/* Newest first; status NULL for all; paging after (after_created_ms, after_id) when after_id
 * is set. Allocates *out (jobs_infos_free()). */
enum herald_err jobs_list(struct jobs *j, const char *status, int64_t after_created_ms,
                          const char *after_id, int limit, struct jobs_info **out, size_t *count);

struct jobs_queue_stats {
    int64_t pending, running;
    int64_t oldest_pending_age_ms; /* 0 when nothing is pending */
};
/* Depth of the durable queue (every kind, every node). */
enum herald_err jobs_queue_stats(struct jobs *j, struct jobs_queue_stats *out);

struct jobs_dead_letter {
    int64_t id;
    char *job_id, *kind, *reason, *request, *payload; /* job_id, request, payload may be NULL */
    int64_t created_at_ms, retried_at_ms;             /* 0: not retried */
};
/* Newest first, ids below before_id (0: from the newest). Allocates *out
 * (jobs_dead_letters_free()). */
enum herald_err jobs_dead_letters_list(struct jobs *j, int64_t before_id, int limit,
                                       struct jobs_dead_letter **out, size_t *count);
void jobs_dead_letters_free(struct jobs_dead_letter *rows, size_t count);
/* Retries a dead letter in one transaction: its failed job is requeued (attempts reset,
 * progress kept), or, for a label a kind retries, a new job of that kind is queued; the dead
 * letter is marked retried. Writes the job's id. HERALD_ERR_NOT_FOUND for no such dead letter;
 * HERALD_ERR_CONFLICT when there is nothing to retry (the job has not failed, the dead letter
 * was already retried by a job, or no kind retries it). */
enum herald_err jobs_retry_dead_letter(struct jobs *j, int64_t id, char job_id[40]);
/* Records a dead letter: the one writer (the worker's outcomes and jobs_ctx_dead_letter() go
 * through it too). job_id, request and payload may be NULL. */
enum herald_err jobs_dead_letter(struct store *st, const char *job_id, const char *kind,
                                 const char *reason, const char *request, const char *payload);

/* ---- what a run function gets (worker.c) ---- */
const char *jobs_ctx_id(const struct jobs_ctx *ctx);
int jobs_ctx_attempt(const struct jobs_ctx *ctx); /* 1 on the first run */
void *jobs_ctx_arg(const struct jobs_ctx *ctx);
json_t *jobs_ctx_params(const struct jobs_ctx *ctx);   /* borrowed, normalised */
json_t *jobs_ctx_progress(const struct jobs_ctx *ctx); /* borrowed; the run updates it */
/* Saves the progress and renews the lease, at most every 500 ms unless `force` (a crash loses
 * at most that much; re-reading stores nothing twice). HERALD_ERR_CANCELLED when the job was
 * cancelled, the lease lost or the node is stopping: the run should return it. */
enum herald_err jobs_ctx_checkpoint(struct jobs_ctx *ctx, bool force);
/* Inside the run's own transaction `c`: renews the lease there, so what the transaction writes
 * commits only while the job is still this run's. A run whose lease lapsed (a stall) and was
 * claimed again, on this node or another, gets HERALD_ERR_CANCELLED and its transaction must
 * roll back: two runs of one job never both commit work. */
enum herald_err jobs_ctx_fence(struct jobs_ctx *ctx, struct store_conn *c);
/* Renews the lease now (saving the progress with it). Same returns as jobs_ctx_checkpoint(). */
enum herald_err jobs_ctx_renew(struct jobs_ctx *ctx);
/* For runs that do not save their progress as they go: renews the lease when a third of it
 * has passed, rewriting the progress as it was last saved (so the job's visible progress, and
 * the point a takeover resumes from, stay where they were). The current progress is saved
 * with the outcome. Same returns as jobs_ctx_checkpoint(); cheap between renewals. */
enum herald_err jobs_ctx_keepalive(struct jobs_ctx *ctx);
/* True once the job should stop (cancelled here or on another node, node stopping). Cheap:
 * the store flag is read at most twice a second. Usable as an hc_stop_fn (arg = ctx). */
bool jobs_ctx_should_stop(void *ctx);
/* Records a dead letter for this job (payload cut to 64 KiB). */
void jobs_ctx_dead_letter(struct jobs_ctx *ctx, const char *reason, const char *request,
                          const char *payload);
/* Sets the job's error text; `permanent` says retrying cannot fix it. */
void jobs_ctx_fail(struct jobs_ctx *ctx, bool permanent, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
