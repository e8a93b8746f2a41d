/* Group commit for pushed reservations: one writer thread takes the pushes queued by the HTTP
 * threads and ingests them per channel in one transaction (one fsync for many pushes); when a
 * batch is refused, each push is ingested alone, so one bad message never fails another. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "ota/push_internal.h"

#define BATCH_MAX_ITEMS 256 /* reservations per transaction */
#define QUEUE_MAX 4096      /* pushes waiting: past it, submit refuses (503) */
#define LINGER_MS 1         /* wait this long for more while pushes keep arriving */

struct push_writer {
    struct ota_reservations *res;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct push_job *head, *tail;
    size_t queued;
    bool stopping;
};

static void ingest_alone(struct push_writer *w, struct push_job *j, int64_t now)
{
    j->rc = ota_reservations_ingest(w->res, &j->ch, j->items, j->n, now, j->results, &j->err);
}

/* Ingests the jobs of one channel (a run of the batch) in one transaction; when that fails,
 * each alone, so that one refused message does not refuse the others. */
static void ingest_group(struct push_writer *w, struct push_job **jobs, size_t n, int64_t now)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += jobs[i]->n;
    struct ota_reservation *items = n > 1 ? malloc(total * sizeof(*items)) : NULL;
    struct ota_ingest_result *results = n > 1 ? calloc(total, sizeof(*results)) : NULL;
    enum herald_err rc = HERALD_ERR_NOMEM;
    struct herald_error err = {0};
    if (items && results) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(items + k, jobs[i]->items, jobs[i]->n * sizeof(*items)); /* shallow */
            k += jobs[i]->n;
        }
        rc = ota_reservations_ingest(w->res, &jobs[0]->ch, items, total, now, results, &err);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct push_job *j = jobs[i];
        if (rc) {
            ingest_alone(w, j, now);
        } else {
            memcpy(j->results, results + k, j->n * sizeof(*results));
            j->rc = HERALD_OK;
        }
        k += j->n;
    }
    free(items);
    free(results);
}

/* Takes what is queued, lingering while more arrives, up to BATCH_MAX_ITEMS. */
static size_t take_batch(struct push_writer *w, struct push_job **out, size_t cap)
{
    size_t n = 0, items = 0;
    int64_t deadline = clock_now_ms() + LINGER_MS;
    for (;;) {
        while (w->head && n < cap && items < BATCH_MAX_ITEMS) {
            struct push_job *j = w->head;
            w->head = j->next;
            if (!w->head)
                w->tail = NULL;
            w->queued--;
            items += j->n;
            out[n++] = j;
        }
        if (w->stopping || n == cap || items >= BATCH_MAX_ITEMS || clock_now_ms() >= deadline)
            return n;
        struct timespec ts = clock_deadline_in(LINGER_MS);
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        if (!w->head)
            return n;
    }
}

static void run_batch(struct push_writer *w, struct push_job **jobs, size_t n)
{
    int64_t now = clock_now_ms();
    size_t start = 0;
    while (start < n) { /* runs of one channel, in queue order */
        size_t end = start + 1;
        while (end < n && jobs[end]->ch.id == jobs[start]->ch.id)
            end++;
        ingest_group(w, jobs + start, end - start, now);
        start = end;
    }
    for (size_t i = 0; i < n; i++)
        jobs[i]->done(jobs[i]);
}

static void *writer_main(void *arg)
{
    struct push_writer *w = arg;
    struct push_job *batch[BATCH_MAX_ITEMS];
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->head && w->stopping)
            break;
        size_t n = take_batch(w, batch, BATCH_MAX_ITEMS);
        pthread_mutex_unlock(&w->mu);
        run_batch(w, batch, n);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

enum herald_err push_writer_start(struct ota_reservations *res, struct push_writer **out)
{
    struct push_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return HERALD_ERR_NOMEM;
    w->res = res;
    pthread_mutex_init(&w->mu, NULL);
    clock_cond_init(&w->cv);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return HERALD_ERR_INTERNAL;
    }
    pthread_setname_np(w->thread, "herald-otapush");
    *out = w;
    return HERALD_OK;
}

bool push_writer_submit(struct push_writer *w, struct push_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&w->mu);
    bool ok = !w->stopping && w->queued < QUEUE_MAX;
    if (ok) {
        if (w->tail)
            w->tail->next = job;
        else
            w->head = job;
        w->tail = job;
        w->queued++;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return ok;
}

void push_writer_stop(struct push_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL); /* what was queued is ingested and answered first */
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
