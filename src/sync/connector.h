/* The connector table and what a connector gets. Each platform is one file (lemlist.c,
 * smartlead.c) defining a `struct sync_connector`, one entry in the table (connectors.c) and
 * its fake (tests/fakes/); the rest of Herald iterates the table, never a platform's name.
 * For one platform of one job the sync kind hands the connector a `struct sync_run`: it reads
 * and updates `state` (its counters and its private "_cursor"), calls checkpoint() after each
 * page it has durably written, and returns 0 when its whole window is read. */
#ifndef HERALD_SYNC_CONNECTOR_H
#define HERALD_SYNC_CONNECTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/err.h"
#include "events/ingest.h"
#include "events/key.h"
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
    bool permanent;        /* set with a failure that retrying cannot fix */
    bool force_checkpoint; /* the next checkpoint writes even if one was written just now */
    bool track_progress;   /* false: checkpoints only renew the lease (enableProgressTracking) */
    char error[256];
    /* Saves progress (or, without track_progress, only renews the lease);
       HERALD_ERR_CANCELLED when the job was cancelled or the node stops. */
    int (*checkpoint)(struct sync_run *run);
    /* Records what could not be stored, with the request that produced it. */
    void (*dead_letter)(struct sync_run *run, const char *reason, const char *request,
                        const char *payload);
    void *engine_arg;
};

/* page.c: what the connectors share. */
struct sync_page {
    size_t n, cap;
    struct ingest_item *items;
    struct evkey_fields *fields;
    char (*keys)[EVKEY_MAX_LEN];
    char **payloads;
    size_t skipped, outside;
    int64_t now;
};
enum herald_err sync_page_init(struct sync_page *pg, size_t cap);
void sync_page_free(struct sync_page *pg);
/* Adds one event occurring at when_ms, taking over `payload`. Events outside the window are
 * counted, not stored; `why` (or a failed validation) makes a dead letter with `request`. */
void sync_page_add(struct sync_run *run, struct sync_page *pg, const struct evkey_input *in,
                   int64_t when_ms, char *payload, const char *request, const char *why);
/* Writes the page through the event writer and adds it to the counters. */
enum herald_err sync_page_commit(struct sync_run *run, struct sync_page *pg, size_t seen);
/* A connector's record parser: turns one upstream record (an activity, a statistics row) into
 * events of the page, or dead letters. Pure but for run->dead_letter: no I/O, so it is fuzzed
 * on its own (tests/fuzz/fuzz_connector_records.c). */
typedef void (*sync_record_fn)(struct sync_run *run, struct sync_page *pg, json_t *record,
                               const char *campaign_id, const char *request);
/* Parses every record of `records` (an array) with `parse` and commits the page. */
enum herald_err sync_page_store(struct sync_run *run, json_t *records, size_t events_per_record,
                                sync_record_fn parse, const char *campaign_id, const char *request);
/* GETs path; *doc is NULL when the body is not JSON (then *raw still holds it; free both).
 * Permanent HTTP errors are recorded as dead letters and set run->permanent. */
enum herald_err sync_fetch_json(struct sync_run *run, const char *path, json_t **doc, char **raw);
/* The loop both connectors share: the campaign list (fetched once, kept in the cursor), then
 * each campaign's pages from the saved offset, checkpointing after each page. */
typedef int (*sync_campaigns_fn)(struct sync_run *run, json_t *ids);
typedef int (*sync_page_fn)(struct sync_run *run, const char *campaign_id, json_int_t offset,
                            size_t *got, bool *last);
enum herald_err sync_run_campaigns(struct sync_run *run, sync_campaigns_fn campaigns,
                                   sync_page_fn page, int page_size);
/* An upstream answer that cannot be read: records a dead letter with the request and body,
 * sets the job's error (printf-style) and marks the failure permanent. Returns
 * HERALD_ERR_UPSTREAM_MALFORMED. */
enum herald_err sync_malformed(struct sync_run *run, const char *reason, const char *request,
                               const char *body, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* ---- the connector table ---- */
struct sync_connector {
    const char *platform; /* as events and requests name it: "lemlist" */
    const char *key_env;  /* the variable holding its API key, named in errors */
    /* Where its settings live in the configuration (offsetof(struct cfg, ...)): base URL and
       API key (char *), request budget (struct cfg_rate). */
    size_t cfg_base_url, cfg_api_key, cfg_rate;
    /* Credentials: puts the API key on the HTTP client's options (Basic auth, query key). */
    void (*credentials)(const char *api_key, struct hc_opts *ho);
    /* Health probe: a cheap authenticated GET. */
    const char *probe_path;
    sync_campaigns_fn fetch_campaigns;
    sync_page_fn fetch_page;
    int page_size;
    sync_record_fn parse_record; /* what fetch_page uses on each record */
    size_t events_per_record;    /* at most */
};
extern const struct sync_connector sync_lemlist, sync_smartlead;
/* Every connector, in the order jobs and reports list them. */
extern const struct sync_connector *const sync_connectors[];
extern const size_t sync_connector_count;
/* The connector of `platform`, NULL for none (or NULL platform). */
const struct sync_connector *sync_connector_find(const char *platform);
/* Index of a connector in sync_connectors. */
size_t sync_connector_index(const struct sync_connector *c);

/* True when the job asked for every campaign, or for this one. */
bool sync_campaign_wanted(const struct sync_run *run, const char *campaign_id);
/* Adds n to an integer member of obj. */
void sync_count(json_t *obj, const char *name, json_int_t n);

#endif
