/* The worker pool: claims jobs, holds and renews their leases, runs each kind with a context
 * and records the outcome (finish, retry with backoff, release, cancel, dead letter). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "jobs/internal.h"

#define CHECKPOINT_EVERY_MS 500
#define CANCEL_POLL_MS 500
#define MAX_DEAD_LETTER_PAYLOAD 65536

struct jobs_ctx {
    struct jobs_worker *w;
    const struct jobs_kind_entry *k;
    struct store_job *job;
    json_t *params, *progress;
    int64_t saved_ms; /* last checkpoint (or keepalive) written */
    char *saved_text; /* the progress as last saved: what a keepalive rewrites */
    bool permanent;
    char error[300];
};

/* ---------------- the pool ---------------- */

enum herald_err jobs_new(struct store *st, const struct jobs_opts *opts, struct jobs **out)
{
    struct jobs *j = calloc(1, sizeof(*j));
    if (!j)
        return HERALD_ERR_NOMEM;
    j->st = st;
    j->opts = *opts;
    if (j->opts.workers > JOBS_MAX_WORKERS)
        j->opts.workers = JOBS_MAX_WORKERS;
    uint8_t rnd[8];
    crypto_random(rnd, sizeof(rnd));
    memcpy(j->node, "node-", 5);
    crypto_hex(rnd, sizeof(rnd), j->node + 5);
    pthread_mutex_init(&j->mu, NULL);
    clock_cond_init(&j->wake);
    *out = j;
    return HERALD_OK;
}

enum herald_err jobs_register(struct jobs *j, const struct jobs_kind *kind, void *arg)
{
    if (jobs_kind_find(j, kind->name))
        return HERALD_ERR_DUPLICATE;
    if (j->nkinds == JOBS_MAX_KINDS || strlen(kind->name) >= sizeof(((struct store_job *)0)->kind))
        return HERALD_ERR_INVALID;
    size_t len = strlen(j->kind_names);
    if (len + strlen(kind->name) + 2 > sizeof(j->kind_names))
        return HERALD_ERR_INVALID;
    snprintf(j->kind_names + len, sizeof(j->kind_names) - len, "%s%s", len ? "," : "", kind->name);
    j->kinds[j->nkinds++] = (struct jobs_kind_entry){kind, arg};
    return HERALD_OK;
}

const struct jobs_kind_entry *jobs_kind_find(const struct jobs *j, const char *name)
{
    for (size_t i = 0; name && i < j->nkinds; i++)
        if (strcmp(j->kinds[i].kind->name, name) == 0)
            return &j->kinds[i];
    return NULL;
}

const char *jobs_node(const struct jobs *j)
{
    return j->node;
}

void jobs_wake(struct jobs *j)
{
    pthread_mutex_lock(&j->mu);
    pthread_cond_broadcast(&j->wake);
    pthread_mutex_unlock(&j->mu);
}

void jobs_cancel_local(struct jobs *j, const char *id)
{
    pthread_mutex_lock(&j->mu);
    for (int i = 0; i < j->nworkers; i++)
        if (strcmp(j->workers[i].job_id, id) == 0)
            atomic_store(&j->workers[i].cancel, true);
    pthread_mutex_unlock(&j->mu);
}

/* ---------------- the context a run function gets ---------------- */

const char *jobs_ctx_id(const struct jobs_ctx *ctx)
{
    return ctx->job->id;
}

int jobs_ctx_attempt(const struct jobs_ctx *ctx)
{
    return ctx->job->attempts;
}

void *jobs_ctx_arg(const struct jobs_ctx *ctx)
{
    return ctx->k->arg;
}

json_t *jobs_ctx_params(const struct jobs_ctx *ctx)
{
    return ctx->params;
}

json_t *jobs_ctx_progress(const struct jobs_ctx *ctx)
{
    return ctx->progress;
}

static int get_tx(struct store_conn *c, void *arg)
{
    struct store_job *job = arg;
    return store_job_get(c, job->id, job);
}

bool jobs_ctx_should_stop(void *arg)
{
    struct jobs_ctx *ctx = arg;
    struct jobs_worker *w = ctx->w;
    if (atomic_load(&w->cancel) || atomic_load(&w->j->stopping) || atomic_load(&w->j->paused))
        return true;
    /* Another node's API may have cancelled the job: look at the flag twice a second. */
    int64_t now = clock_now_ms();
    if (now - w->last_poll_ms >= CANCEL_POLL_MS) {
        w->last_poll_ms = now;
        struct store_job job = {0};
        snprintf(job.id, sizeof(job.id), "%s", ctx->job->id);
        if (store_run_read(w->j->st, get_tx, &job) == 0) {
            if (job.cancel_requested || strcmp(job.locked_by, w->owner) != 0)
                atomic_store(&w->cancel, true);
            store_job_clear(&job);
        }
    }
    return atomic_load(&w->cancel);
}

struct progress_tx {
    const char *id, *node, *progress;
    int64_t until;
    bool cancel;
};

static int progress_tx(struct store_conn *c, void *arg)
{
    struct progress_tx *t = arg;
    return store_job_progress(c, t->id, t->node, t->progress, t->until, &t->cancel);
}

static char *progress_text(json_t *progress)
{
    return json_dumps(progress, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* Writes `text` as the job's progress and renews the lease, in one guarded UPDATE. */
static int save_progress(struct jobs_ctx *ctx, const char *text)
{
    struct jobs_worker *w = ctx->w;
    struct jobs *j = w->j;
    ctx->saved_ms = clock_now_ms();
    struct progress_tx t = {ctx->job->id, w->owner, text, clock_now_ms() + j->opts.lease_ms, false};
    int rc = store_run_tx(j->st, progress_tx, &t);
    if (rc == HERALD_ERR_NOT_FOUND) {
        /* The lease was lost (this node stalled past it): another node owns the job now. */
        atomic_store(&w->cancel, true);
        return HERALD_ERR_CANCELLED;
    }
    if (rc)
        return rc;
    if (t.cancel)
        atomic_store(&w->cancel, true);
    bool stop = atomic_load(&w->cancel) || atomic_load(&j->stopping) || atomic_load(&j->paused);
    return stop ? HERALD_ERR_CANCELLED : HERALD_OK;
}

enum herald_err jobs_ctx_fence(struct jobs_ctx *ctx, struct store_conn *c)
{
    struct jobs_worker *w = ctx->w;
    int rc = store_job_fence(c, ctx->job->id, w->owner, clock_now_ms() + w->j->opts.lease_ms);
    if (rc == HERALD_ERR_NOT_FOUND) {
        atomic_store(&w->cancel, true);
        return HERALD_ERR_CANCELLED;
    }
    return rc;
}

enum herald_err jobs_ctx_checkpoint(struct jobs_ctx *ctx, bool force)
{
    /* Saving costs a transaction (an fsync on SQLite): at most every 500 ms. Cancels are still
       seen at once (jobs_ctx_should_stop polls the flag). */
    if (clock_now_ms() - ctx->saved_ms < CHECKPOINT_EVERY_MS && !force)
        return jobs_ctx_should_stop(ctx) ? HERALD_ERR_CANCELLED : HERALD_OK;
    char *text = progress_text(ctx->progress);
    if (!text)
        return HERALD_ERR_NOMEM;
    free(ctx->saved_text);
    ctx->saved_text = text;
    return save_progress(ctx, text);
}

enum herald_err jobs_ctx_keepalive(struct jobs_ctx *ctx)
{
    if (clock_now_ms() - ctx->saved_ms < ctx->w->j->opts.lease_ms / 3)
        return jobs_ctx_should_stop(ctx) ? HERALD_ERR_CANCELLED : HERALD_OK;
    return save_progress(ctx, ctx->saved_text);
}

enum herald_err jobs_ctx_renew(struct jobs_ctx *ctx)
{
    return jobs_ctx_checkpoint(ctx, true);
}

void jobs_ctx_dead_letter(struct jobs_ctx *ctx, const char *reason, const char *request,
                          const char *payload)
{
    char *cut = NULL;
    if (payload && strlen(payload) > MAX_DEAD_LETTER_PAYLOAD)
        cut = strndup(payload, MAX_DEAD_LETTER_PAYLOAD); /* enough to see what went wrong */
    const struct jobs_kind *k = ctx->k->kind;
    jobs_dead_letter(ctx->w->j->st, ctx->job->id,
                     k->dead_letter_kind ? k->dead_letter_kind : k->name, reason, request,
                     cut ? cut : payload);
    free(cut);
}

void jobs_ctx_fail(struct jobs_ctx *ctx, bool permanent, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
    va_end(ap);
    ctx->permanent = permanent;
}

/* ---------------- one job ---------------- */

struct outcome_tx {
    const struct store_job *job;
    const char *node, *status, *error, *progress;
    int64_t now, until;
};

static int finish_tx(struct store_conn *c, void *arg)
{
    struct outcome_tx *t = arg;
    int rc = store_job_finish(c, t->job->id, t->node, t->status, t->error, t->progress, t->now);
    if (!rc && !strcmp(t->status, "failed"))
        rc = jobs_dead_letter_tx(c, t->job->id, t->job->kind, t->error ? t->error : "failed", NULL,
                                 t->job->params);
    return rc;
}

static int retry_tx(struct store_conn *c, void *arg)
{
    struct outcome_tx *t = arg;
    return store_job_retry_later(c, t->job->id, t->node, t->error, t->progress, t->until);
}

/* Decides and saves what became of a run that returned rc. Returns the outcome's name. */
static const char *record_outcome(struct jobs_ctx *ctx, int rc)
{
    struct jobs_worker *w = ctx->w;
    struct jobs *j = w->j;
    char *text = progress_text(ctx->progress);
    struct outcome_tx t = {ctx->job, w->owner, NULL, ctx->error, text, clock_now_ms(), 0};
    store_fn fn = finish_tx;
    if (rc == HERALD_OK) {
        t.status = "completed";
        t.error = NULL;
    } else if (rc == HERALD_ERR_CANCELLED &&
               (atomic_load(&j->stopping) || atomic_load(&j->paused)) && !atomic_load(&w->cancel)) {
        /* Shutting down or paused: hand the job back so it resumes at once, here or elsewhere. */
        t.status = "released";
        t.error = NULL;
        t.until = t.now;
        fn = retry_tx;
    } else if (rc == HERALD_ERR_CANCELLED) {
        t.status = "cancelled";
        t.error = NULL;
    } else if (ctx->permanent || ctx->job->attempts >= j->opts.max_attempts) {
        t.status = "failed";
    } else {
        static const struct backoff job_backoff = {.first_ms = 2000, .max_ms = 300000};
        t.status = "retrying";
        t.until = t.now + backoff_delay_ms(&job_backoff, ctx->job->attempts - 1, NULL);
        fn = retry_tx;
    }
    int src = store_run_tx(j->st, fn, &t);
    if (src && src != HERALD_ERR_NOT_FOUND)
        log_error("cannot save a job's outcome; its lease will expire and it will resume",
                  json_pack("{s:s, s:s}", "job_id", ctx->job->id, "error", herald_strerror(src)));
    free(text);
    return t.status;
}

static void run_job(struct jobs_worker *w, struct store_job *job)
{
    struct jobs_ctx ctx = {.w = w, .job = job};
    ctx.k = jobs_kind_find(w->j, job->kind);
    ctx.params = json_loads(job->params ? job->params : "", 0, NULL);
    ctx.progress = json_loads(job->progress ? job->progress : "", 0, NULL);
    if (!json_is_object(ctx.progress)) {
        json_decref(ctx.progress);
        ctx.progress = json_object();
    }
    ctx.saved_text = progress_text(ctx.progress);
    bool routine = ctx.k && ctx.k->kind->routine;
    char msg[48];
    snprintf(msg, sizeof(msg), "%s job started", job->kind);
    LOG_AT(routine ? LOG_DEBUG : LOG_INFO, msg,
           json_pack("{s:s, s:i}", "job_id", job->id, "attempt", job->attempts));
    int rc;
    if (!ctx.k) {
        jobs_ctx_fail(&ctx, false, "no kind \"%s\" on this node", job->kind);
        rc = HERALD_ERR_INVALID;
    } else if (!ctx.saved_text) {
        rc = HERALD_ERR_NOMEM;
    } else if (!ctx.params) {
        jobs_ctx_fail(&ctx, true, "%s", "the job's params are not JSON");
        rc = HERALD_ERR_INVALID;
    } else {
        rc = ctx.k->kind->run(&ctx);
    }
    if (rc && rc != HERALD_ERR_CANCELLED && !ctx.error[0])
        snprintf(ctx.error, sizeof(ctx.error), "%s", herald_strerror(rc));
    const char *outcome = record_outcome(&ctx, rc);
    snprintf(msg, sizeof(msg), "%s job stopped", job->kind);
    LOG_AT(routine && !rc ? LOG_DEBUG : LOG_INFO, msg,
           json_pack("{s:s, s:s, s:s?}", "job_id", job->id, "outcome", outcome, "error",
                     ctx.error[0] ? ctx.error : NULL));
    json_decref(ctx.params);
    json_decref(ctx.progress);
    free(ctx.saved_text);
}

struct claim_tx {
    const char *node, *kinds;
    int64_t now, until;
    struct store_job *job;
};

static int claim_tx(struct store_conn *c, void *arg)
{
    struct claim_tx *t = arg;
    return store_job_claim(c, t->node, t->kinds, t->now, t->until, t->job);
}

static void set_current(struct jobs_worker *w, const struct store_job *job)
{
    pthread_mutex_lock(&w->j->mu);
    snprintf(w->job_id, sizeof(w->job_id), "%s", job ? job->id : "");
    atomic_store(&w->cancel, job && job->cancel_requested);
    pthread_mutex_unlock(&w->j->mu);
}

static void *worker_main(void *arg)
{
    struct jobs_worker *w = arg;
    struct jobs *j = w->j;
    pthread_setname_np(pthread_self(), "herald-jobs");
    while (!atomic_load(&j->stopping)) {
        struct store_job job;
        int64_t now = clock_now_ms();
        if (atomic_load(&j->paused)) {
            pthread_mutex_lock(&j->mu);
            struct timespec deadline = clock_deadline_in(100);
            pthread_cond_timedwait(&j->wake, &j->mu, &deadline);
            pthread_mutex_unlock(&j->mu);
            continue;
        }
        snprintf(w->owner, sizeof(w->owner), "%s/%u", j->node, atomic_fetch_add(&j->claims, 1) + 1);
        struct claim_tx t = {w->owner, j->kind_names, now, now + j->opts.lease_ms, &job};
        int rc = store_run_tx(j->st, claim_tx, &t);
        if (rc == HERALD_OK) {
            set_current(w, &job);
            w->last_poll_ms = clock_now_ms();
            run_job(w, &job);
            set_current(w, NULL);
            store_job_clear(&job);
            continue;
        }
        if (rc != HERALD_ERR_NOT_FOUND)
            log_warn("cannot claim jobs", json_pack("{s:s}", "error", herald_strerror(rc)));
        pthread_mutex_lock(&j->mu);
        if (!atomic_load(&j->stopping)) {
            struct timespec deadline = clock_deadline_in(500);
            pthread_cond_timedwait(&j->wake, &j->mu, &deadline);
        }
        pthread_mutex_unlock(&j->mu);
    }
    return NULL;
}

/* True when no worker of this node holds a job. */
static bool workers_idle(struct jobs *j)
{
    bool idle = true;
    pthread_mutex_lock(&j->mu);
    for (int i = 0; i < j->nworkers; i++)
        idle &= j->workers[i].job_id[0] == '\0';
    pthread_mutex_unlock(&j->mu);
    return idle;
}

enum herald_err jobs_pause(struct jobs *j, int timeout_ms)
{
    atomic_store(&j->paused, true);
    pthread_mutex_lock(&j->mu);
    pthread_cond_broadcast(&j->wake);
    pthread_mutex_unlock(&j->mu);
    for (int waited = 0; !workers_idle(j); waited += 20) {
        if (waited >= timeout_ms)
            return HERALD_ERR_CONFLICT;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return HERALD_OK;
}

void jobs_resume(struct jobs *j)
{
    atomic_store(&j->paused, false);
    jobs_wake(j);
}

static void stop_workers(struct jobs *j)
{
    pthread_mutex_lock(&j->mu);
    atomic_store(&j->stopping, true);
    pthread_cond_broadcast(&j->wake);
    pthread_mutex_unlock(&j->mu);
    for (int i = 0; i < j->nworkers; i++)
        pthread_join(j->workers[i].thread, NULL);
    j->nworkers = 0;
}

enum herald_err jobs_start(struct jobs *j)
{
    for (int i = 0; i < j->opts.workers; i++) {
        j->workers[i].j = j;
        if (pthread_create(&j->workers[i].thread, NULL, worker_main, &j->workers[i]) != 0) {
            stop_workers(j);
            return HERALD_ERR_INTERNAL;
        }
        j->nworkers++;
    }
    log_info("job workers started", json_pack("{s:s, s:i, s:i}", "node", j->node, "workers",
                                              j->nworkers, "kinds", (int)j->nkinds));
    return HERALD_OK;
}

void jobs_free(struct jobs *j)
{
    if (!j)
        return;
    stop_workers(j);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->wake);
    free(j);
}
