/* What the sync engine hands a connector for one platform of one job. The connector reads and
 * updates `state` (its counters and its private "_cursor"), calls checkpoint() after each page
 * it has durably written, and returns 0 when its whole window is read. */
#ifndef HERALD_SYNC_CONNECTOR_H
#define HERALD_SYNC_CONNECTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "events/ingest.h"
#include "sync/http_client.h"

struct sync_run {
    const char *job_id;
    const char *platform;
    bool has_min;
    int64_t min_ms;         /* window: createdAt >= min (when has_min) */
    int64_t max_ms;         /*          createdAt <  max, fixed when the job first started */
    const char *namespace_; /* NULL for none */
    json_t *campaign_ids;   /* array of strings, or NULL for every campaign */
    json_t *state;          /* owned by the engine */
    struct ingest *ingest;
    struct hc_client *http;
    bool permanent; /* set with a failure that retrying cannot fix */
    char error[256];
    /* Saves progress; HERALD_ERR_CANCELLED when the job was cancelled or the node stops. */
    int (*checkpoint)(struct sync_run *run);
    /* Records what could not be stored, with the request that produced it. */
    void (*dead_letter)(struct sync_run *run, const char *reason, const char *request,
                        const char *payload);
    void *engine_arg;
};

int sync_lemlist_run(struct sync_run *run);

/* Adds n to an integer member of obj. */
void sync_count(json_t *obj, const char *name, json_int_t n);

#endif
