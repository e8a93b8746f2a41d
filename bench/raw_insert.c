/* The baseline for the ingest benchmark: events shaped like synced Lemlist activities,
 * inserted straight through the store in batches (one transaction each), no HTTP, no writer.
 * With a fourth argument "old", migration 0006 is reverted first, so the same binary measures
 * the event_source schema before it (six B-trees instead of four); "new" (the default) keeps
 * the current one.
 * usage: raw_insert DATABASE_URL EVENTS BATCH [old|new]
 *   -> prints "rows_per_sec N cpu_us_per_row M" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/clock.h"
#include "events/key.h"
#include "store/store.h"

struct batch {
    struct store_event *evs;
    const struct store_event **ptrs;
    bool *created;
    size_t n;
    char (*keys)[EVKEY_MAX_LEN];
    char (*emails)[64];
    char (*ids)[64];
};

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Events first..first+n-1: 40 leads opening the same campaign, each activity its own key. */
static void make_batch(struct batch *b, long first, int64_t now)
{
    for (size_t i = 0; i < b->n; i++) {
        long k = first + (long)i;
        snprintf(b->emails[i], 64, "lead%ld@example.com", k % 40);
        snprintf(b->ids[i], 64, "act_bench_%ld", k);
        struct evkey_input in = {"lemlist",    "cam_bench", "opened",
                                 b->emails[i], b->ids[i],   "2024-01-15T10:30:00Z",
                                 NULL};
        struct evkey_fields f;
        struct evkey_problem p;
        evkey_validate(&in, &f, &p);
        evkey_compute(&f, b->keys[i]);
        b->evs[i] = (struct store_event){.event_key = b->keys[i],
                                         .platform = "lemlist",
                                         .campaign_id = "cam_bench",
                                         .event_type = "opened",
                                         .email = b->emails[i],
                                         .source_id = b->ids[i],
                                         .payload = "{\"type\":\"emailsOpened\"}",
                                         .has_occurred_at = true,
                                         .occurred_at_ms = 1705314600000LL,
                                         .created_at_ms = now};
        b->ptrs[i] = &b->evs[i];
    }
}

static int insert_tx(struct store_conn *c, void *arg)
{
    struct batch *b = arg;
    return store_event_insert_many(c, b->ptrs, b->n, b->created, NULL);
}

int main(int argc, char **argv)
{
    bool old = argc == 5 && strcmp(argv[4], "old") == 0;
    if (argc < 4 || argc > 5 || (argc == 5 && !old && strcmp(argv[4], "new") != 0)) {
        fprintf(stderr, "usage: raw_insert DATABASE_URL EVENTS BATCH [old|new]\n");
        return 2;
    }
    long total = atol(argv[2]), size = atol(argv[3]);
    struct store_opts opts = {argv[1], 1, 2, strncmp(argv[1], "sqlite:", 7) == 0};
    struct store *st;
    int n;
    if (store_open(&opts, &st) || store_migrate_up(st, &n) ||
        (old && store_migrate_down(st, 1, &n))) {
        fprintf(stderr, "raw_insert: cannot open %s\n", argv[1]);
        return 1;
    }
    struct batch b = {calloc((size_t)size, sizeof(*b.evs)),
                      calloc((size_t)size, sizeof(*b.ptrs)),
                      calloc((size_t)size, sizeof(bool)),
                      0,
                      calloc((size_t)size, EVKEY_MAX_LEN),
                      calloc((size_t)size, 64),
                      calloc((size_t)size, 64)};
    int64_t t0 = clock_mono_ns(), now = clock_now_ms();
    double cpu0 = cpu_seconds();
    for (long done = 0; done < total; done += size) {
        b.n = (size_t)(total - done < size ? total - done : size);
        make_batch(&b, done, now);
        if (store_run_tx(st, insert_tx, &b)) {
            fprintf(stderr, "raw_insert: insert failed\n");
            return 1;
        }
    }
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    printf("rows_per_sec %.0f cpu_us_per_row %.1f\n", (double)total / secs,
           (cpu_seconds() - cpu0) * 1e6 / (double)total);
    free(b.evs);
    free(b.ptrs);
    free(b.created);
    free(b.keys);
    free(b.emails);
    free(b.ids);
    store_close(st);
    return 0;
}
