/* Forwarding stored events to Mixpanel's import API, in id order, from a cursor kept in the
 * store. Each event's $insert_id, time and distinct_id derive only from the stored row, so a
 * batch resent after a crash carries identical values and Mixpanel keeps one copy. One node
 * forwards at a time (a lease in the cursor row); the others stand by.
 *
 * Up to MIXPANEL_IN_FLIGHT imports travel at once (one connection each); the cursor moves
 * past a batch only once it and every batch before it were imported (or strictly rejected
 * and dead-lettered). After a crash at most MIXPANEL_IN_FLIGHT batches are sent again. */
#ifndef HERALD_SYNC_MIXPANEL_H
#define HERALD_SYNC_MIXPANEL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"
#include "sync/http_client.h"

/* Three, not two: with two, the local fake sat idle while a finished import's cursor was
   committed and the next body built (85k vs 105k events/s in bench/sync.sh). Mixpanel itself
   takes ~30k events/s per project; the rest is headroom for catching up after an outage. */
#define MIXPANEL_IN_FLIGHT 3

/* What the forwarder needs; nothing here is referenced after mixpanel_start() returns. */
struct mixpanel_opts {
    const char *token;           /* project token; NULL or "": the service account below */
    const char *service_account; /* with secret and project_id */
    const char *secret;
    const char *project_id;
    const char *base_url; /* https://api.mixpanel.com, or api-eu for EU residency */
    const char *node;     /* this node's name: the lease holder */
    bool hash_emails;     /* distinct_id = HMAC-SHA256(hash_secret, email), no email property */
    /* The HMAC key (HERALD_MIXPANEL_HASH_SECRET); NULL or "" with hash_emails: read from the
       configuration by mixpanel_start() (cli/serve.c does not pass it yet). */
    const char *hash_secret;
    int batch;       /* events per import, 1..2000 */
    int backoff_ms;  /* first delay after 429, 5xx, 401/403 or a transport error */
    int grace_ms;    /* events stored more recently wait (ids may commit out of order) */
    long timeout_ms; /* per request */
};

struct mixpanel;

bool mixpanel_configured(const struct mixpanel_opts *opts);
/* Where and as whom imports go: sets ho's base URL and Basic credentials (project token, or
 * service account with secret) and writes the /import path (strict, with project_id for a
 * service account). The forwarder and the dead-letter retry kind both use it. */
void mixpanel_import_target(const struct mixpanel_opts *opts, struct hc_opts *ho, char *path,
                            size_t path_size);
/* Starts the forwarder's threads; *out is NULL (and 0 returned) when Mixpanel is not
 * configured. HERALD_ERR_NOMEM, HERALD_ERR_INTERNAL (a thread would not start),
 * HERALD_ERR_CONFIG (hash_emails without a secret). */
enum herald_err mixpanel_start(struct store *st, const struct mixpanel_opts *opts,
                               struct mixpanel **out);
/* Stops and joins the threads (an import in flight finishes or times out first) and frees. */
void mixpanel_stop(struct mixpanel *m);
/* Starts no new batch; the imports in flight finish and the cursor moves past them. Waits up
 * to timeout_ms for that: HERALD_ERR_CONFLICT if it takes longer (still paused). The
 * forwarder holds no transaction while paused. m may be NULL (disabled). */
enum herald_err mixpanel_pause(struct mixpanel *m, int timeout_ms);
/* Undoes mixpanel_pause(). m may be NULL. */
void mixpanel_resume(struct mixpanel *m);

struct mixpanel_status {
    const char *status; /* disabled, healthy, failing, standby */
    char last_error[200];
    int64_t last_forwarded_ms; /* 0: never */
    int64_t lag_events;
    int64_t lag_seconds;
};
/* Reads the status (and the lag from the store). m may be NULL (disabled). */
enum herald_err mixpanel_get_status(struct mixpanel *m, struct store *st,
                                    struct mixpanel_status *out);
/* $insert_id for an event key: 32 hex digits of its SHA-256 (Mixpanel allows 36 of
 * [A-Za-z0-9-]). `out` needs 33 bytes. */
void mixpanel_insert_id(const char *event_key, char out[33]);

#endif
