/* What the sending side records in the event store: sends, opens, clicks, bounces,
 * complaints and unsubscribes become events of platform "herald" with proper event keys, so
 * they reach /api/events and Mixpanel like every synced event, and are stored once each. */
#ifndef HERALD_MAIL_EVENTS_H
#define HERALD_MAIL_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* Event types, named as Lemlist names its own so dashboards compare platforms directly. */
enum mail_event_type {
    MAIL_EV_SENT,         /* emailsSent */
    MAIL_EV_FAILED,       /* emailsFailed: retries exhausted, never accepted */
    MAIL_EV_OPENED,       /* emailsOpened */
    MAIL_EV_CLICKED,      /* emailsClicked */
    MAIL_EV_BOUNCED,      /* emailsBounced */
    MAIL_EV_COMPLAINED,   /* emailsComplained */
    MAIL_EV_UNSUBSCRIBED, /* emailsUnsubscribed */
};

struct mail_event {
    enum mail_event_type type;
    int64_t campaign_id; /* 0: not tied to a campaign (e.g. a preferences-page unsubscribe) */
    const char *email;
    /* What makes this occurrence one event (part of the key): the send-queue row id for a
     * send, open or bounce ("42"), row id and link for a click ("42:<url hash>"). */
    const char *source_id;
    int64_t occurred_ms;
    const char *payload; /* JSON object text or NULL */
};

const char *mail_event_type_name(enum mail_event_type type);

/* Inserts the events inside the caller's transaction (so an event is stored exactly when the
 * state change it reports commits), skipping keys already stored. HERALD_ERR_INVALID for an
 * event whose fields do not make a key (a malformed email). */
enum herald_err mail_events_insert(struct store_conn *c, const struct mail_event *evs, size_t n,
                                   int64_t now_ms);

#endif
