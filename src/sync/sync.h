/* The sync domain: pulling campaign activity from the platforms of the connector table
 * (sync/connector.h) into the event store. A sync is one job kind ("sync") of the job layer
 * (jobs/jobs.h): its params are validated once (params.c), its run reads each platform from
 * its saved cursor (engine.c). This module holds what the kind shares across jobs: each
 * platform's settings, its request budget and its cached health. */
#ifndef HERALD_SYNC_SYNC_H
#define HERALD_SYNC_SYNC_H

#include <jansson.h>
#include <stdbool.h>

#include "base/config.h"
#include "base/err.h"
#include "events/ingest.h"
#include "jobs/jobs.h"
#include "store/store.h"

#define SYNC_MAX_CONNECTORS 8

struct sync_platform_opts {
    const char *base_url;
    const char *api_key; /* NULL or "": not configured on this node */
    struct cfg_rate rate;
};

struct sync_opts {
    struct sync_platform_opts platforms[SYNC_MAX_CONNECTORS]; /* indexed like sync_connectors */
    long timeout_ms;                                          /* per upstream request */
    int64_t probe_every_ms;       /* background health probe interval; 0: 30 s */
    bool allow_insecure_upstream; /* http:// base URLs accepted (tests): warned at start */
};
/* Reads each connector's settings from the configuration. */
void sync_opts_from_cfg(const struct cfg *cfg, struct sync_opts *out);

struct sync;
/* Registers the "sync" job kind with `jobs` (before jobs_start()) and starts the health probe
 * thread. The strings of opts must outlive the sync. HERALD_ERR_INTERNAL when the thread
 * cannot start. */
enum herald_err sync_start(struct store *st, struct ingest *ing, struct jobs *jobs,
                           const struct sync_opts *opts, struct sync **out);
void sync_stop(struct sync *s);

/* True when this node has credentials for `platform`. */
bool sync_platform_configured(const struct sync *s, const char *platform);
/* The last background probe of `platform` (a cheap authenticated request with a 2 s timeout,
 * made by the sync's own thread at start and every probe_every_ms; never on the caller's
 * thread): "healthy", "unhealthy", "pending" (no probe has finished yet) or "unconfigured". */
const char *sync_probe(struct sync *s, const char *platform);
/* The same, with when that probe finished (*checked_ms, wall clock; 0 when none has). */
const char *sync_probe_info(struct sync *s, const char *platform, int64_t *checked_ms);
/* Per platform, for /metrics: how its runs (one platform of one job attempt) ended on this
 * node, and when any node last read its whole window (0: never; from the store). */
enum sync_outcome { SYNC_COMPLETED, SYNC_FAILED, SYNC_CANCELLED, SYNC_OUTCOMES };
extern const char *const sync_outcome_names[SYNC_OUTCOMES];
struct sync_platform_stats {
    const char *platform;
    bool configured;
    unsigned long long runs[SYNC_OUTCOMES];
    int64_t last_success_ms;
};
/* Fills one row per connector (out has room for SYNC_MAX_CONNECTORS); *n = rows. */
enum herald_err sync_stats(struct sync *s, struct sync_platform_stats *out, size_t *n);

/* Raw params of the periodic incremental sync: every configured platform (a new reference);
 * NULL when none is configured. */
json_t *sync_periodic_params(const struct sync *s);

/* ---- for the kind's own files (params.c, engine.c) ---- */
extern const struct jobs_kind sync_job_kind;
struct hc_opts;
/* Counts how one platform's run ended, and on success records when (sync_stats()). */
enum herald_err sync_record_run(struct sync *s, const char *platform, enum sync_outcome outcome);
/* Base URL, credentials and the shared request budget of a platform. */
void sync_http_opts(struct sync *s, const char *platform, struct hc_opts *ho);
struct store *sync_store(const struct sync *s);
struct ingest *sync_ingest(const struct sync *s);
long sync_timeout_ms(const struct sync *s);
/* The job kind's validate+normalise (params.c). */
int sync_params_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem);

#endif
