/* The audit log: a writer thread batching the HTTP layer's per-request entries (one
 * transaction per batch, at most ~200 ms late), direct writes for the rest, and the listing.
 * Rows are only ever inserted (the table refuses updates but the subject's hashing). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "privacy/internal.h"

#define QUEUE_MAX 8192
#define FLUSH_MS 200
#define ROOM_WAIT_MS 2000

struct audit_writer {
    struct store *st;
    pthread_mutex_t mu;
    pthread_cond_t cv, room;
    struct store_audit *q;
    size_t n;
    bool stop;
    pthread_t th;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void entry_copy(struct store_audit *to, const struct privacy_audit *a)
{
    *to = (struct store_audit){.at_ms = clock_now_ms(),
                               .actor = strdup(a->actor ? a->actor : ""),
                               .action = strdup(a->action ? a->action : ""),
                               .status = a->status,
                               .ip = dup_or_null(a->ip),
                               .request_id = dup_or_null(a->request_id),
                               .subject = dup_or_null(a->subject),
                               .detail = dup_or_null(a->detail)};
}

struct batch_tx {
    struct store_audit *rows;
    size_t n;
};

static int batch_tx(struct store_conn *c, void *arg)
{
    struct batch_tx *t = arg;
    for (size_t i = 0; i < t->n; i++)
        if (!t->rows[i].actor || !t->rows[i].action)
            return HERALD_ERR_NOMEM;
    return store_audit_insert_many(c, t->rows, t->n);
}

static void flush(struct audit_writer *w, struct store_audit *rows, size_t n)
{
    struct batch_tx t = {rows, n};
    int rc = store_run_tx(w->st, batch_tx, &t);
    for (int tries = 0; rc && tries < 3; tries++) {
        nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL);
        rc = store_run_tx(w->st, batch_tx, &t);
    }
    if (rc)
        log_emit(LOG_ERROR, "audit entries lost",
                 json_pack("{s:I, s:s}", "count", (json_int_t)n, "error", herald_err_code(rc)));
    store_audits_free(rows, n);
}

static void *writer_main(void *arg)
{
    struct audit_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (!w->n && !w->stop) {
            struct timespec dl = clock_deadline_in(FLUSH_MS);
            pthread_cond_timedwait(&w->cv, &w->mu, &dl);
        }
        if (!w->n && w->stop)
            break;
        if (!w->n)
            continue;
        struct store_audit *rows = w->q;
        size_t n = w->n;
        w->q = calloc(QUEUE_MAX, sizeof(*w->q));
        w->n = 0;
        pthread_cond_broadcast(&w->room);
        pthread_mutex_unlock(&w->mu);
        flush(w, rows, n);
        pthread_mutex_lock(&w->mu);
        if (!w->q) { /* out of memory: try again next turn */
            w->q = calloc(QUEUE_MAX, sizeof(*w->q));
            w->stop = w->stop || !w->q;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

enum herald_err audit_writer_start(struct store *st, struct audit_writer **out)
{
    struct audit_writer *w = calloc(1, sizeof(*w));
    if (!w || !(w->q = calloc(QUEUE_MAX, sizeof(*w->q)))) {
        free(w);
        return HERALD_ERR_NOMEM;
    }
    w->st = st;
    pthread_mutex_init(&w->mu, NULL);
    clock_cond_init(&w->cv);
    clock_cond_init(&w->room);
    if (pthread_create(&w->th, NULL, writer_main, w)) {
        free(w->q);
        free(w);
        return HERALD_ERR_INTERNAL;
    }
    *out = w;
    return HERALD_OK;
}

void audit_writer_stop(struct audit_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    store_audits_free(w->q, w->n);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->room);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void audit_writer_push(struct audit_writer *w, const struct privacy_audit *a)
{
    if (!w)
        return;
    struct timespec dl = clock_deadline_in(ROOM_WAIT_MS);
    pthread_mutex_lock(&w->mu);
    while ((w->n == QUEUE_MAX || !w->q) && !w->stop)
        if (pthread_cond_timedwait(&w->room, &w->mu, &dl))
            break;
    bool room = w->q && w->n < QUEUE_MAX && !w->stop;
    if (room) {
        entry_copy(&w->q[w->n++], a);
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (!room)
        log_emit(LOG_ERROR, "audit entry lost (queue full)",
                 json_pack("{s:s, s:s}", "action", a->action ? a->action : "", "request_id",
                           a->request_id ? a->request_id : ""));
}

static int one_tx(struct store_conn *c, void *arg)
{
    return store_audit_insert(c, arg);
}

enum herald_err privacy_audit_write(struct store *st, const struct privacy_audit *a)
{
    struct store_audit row;
    entry_copy(&row, a);
    int rc = row.actor && row.action ? store_run_tx(st, one_tx, &row) : HERALD_ERR_NOMEM;
    row.id = 0;
    free(row.actor);
    free(row.action);
    free(row.ip);
    free(row.request_id);
    free(row.subject);
    free(row.detail);
    return rc;
}

struct list_tx {
    const char *subject;
    int64_t before;
    int limit;
    struct store_audit **out;
    size_t *count;
};

static int list_tx(struct store_conn *c, void *arg)
{
    struct list_tx *t = arg;
    store_audits_free(*t->out, *t->count);
    *t->out = NULL;
    *t->count = 0;
    return store_audit_list(c, t->subject, t->before, t->limit, t->out, t->count);
}

enum herald_err privacy_audit_list(struct store *st, const char *subject, int64_t before_id,
                                   int limit, struct store_audit **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    struct list_tx t = {subject, before_id, limit, out, count};
    return store_run_read(st, list_tx, &t);
}
