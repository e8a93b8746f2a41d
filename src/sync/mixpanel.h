/* Forwarding stored events to Mixpanel's import API, in id order, from a cursor kept in the
 * store. Each event's $insert_id, time and distinct_id derive only from the stored row, so a
 * batch resent after a crash carries identical values and Mixpanel keeps one copy. One node
 * forwards at a time (a lease in the cursor row); the others stand by. */
#ifndef HERALD_SYNC_MIXPANEL_H
#define HERALD_SYNC_MIXPANEL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"
#include "store/store.h"

struct mixpanel;

bool mixpanel_configured(const struct cfg *cfg);
/* Starts the forwarder thread; *out is NULL (and 0 returned) when Mixpanel is not configured. */
int mixpanel_start(struct store *st, const struct cfg *cfg, const char *node,
                   struct mixpanel **out);
void mixpanel_stop(struct mixpanel *m);

struct mixpanel_status {
    const char *status; /* disabled, healthy, failing, standby */
    char last_error[200];
    int64_t last_forwarded_ms; /* 0: never */
    int64_t lag_events;
    int64_t lag_seconds;
};
/* Reads the status (and the lag from the store). m may be NULL (disabled). */
int mixpanel_get_status(struct mixpanel *m, struct store *st, struct mixpanel_status *out);
/* $insert_id for an event key: 32 hex digits of its SHA-256 (Mixpanel allows 36 of
 * [A-Za-z0-9-]). `out` needs 33 bytes. */
void mixpanel_insert_id(const char *event_key, char out[33]);

#endif
