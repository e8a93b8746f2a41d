/* The one context Herald passes down instead of globals: built in main.c. */
#ifndef HERALD_APP_H
#define HERALD_APP_H

#include <stdint.h>

#include "base/config.h"
#include "mail/token.h"

struct store;
struct ingest;
struct http_server;
struct jobs;
struct jobs_schedule;
struct sync;
struct mixpanel;
struct mixpanel_retry;
struct backup_kind;
struct ota_automations;
struct ota_guests;
struct ota_push;

struct app {
    struct cfg cfg;
    struct store *store;
    struct ingest *ingest;
    struct http_server *http;
    struct jobs *jobs; /* the worker pool and the job API */
    struct jobs_schedule *schedule;
    struct sync *sync;
    struct mixpanel *mixpanel;             /* NULL when not configured */
    struct mixpanel_retry *mixpanel_retry; /* NULL when not configured */
    struct backup_kind *backup;            /* the backup job kind */
    struct mail_keyring mail_keys;         /* signs the links in mails (mail/token.h) */
    /* email: contacts, lists, subscriptions, imports, double opt-in */
    struct mail_optin *mail_optin; /* double opt-in: confirmation mails, links, form */

    /* email: CSV contact imports */
    struct mail_import *imports; /* the contact_import job kind and uploads (mail/import.h) */

    /* email: templates */

    /* email: SMTP transport and DKIM */
    struct mail_transport *mail_transport; /* NULL when HERALD_SMTP_URL is empty */

    /* email: campaigns and the sender */
    struct mail_campaigns *mail_campaigns; /* campaigns domain (mail/campaigns.h) */
    struct mail_sender *mail_sender;       /* NULL when HERALD_SMTP_URL is empty */

    /* email: feedback (tracking, unsubscribe, bounces, statistics) */
    struct mail_inbound *inbound; /* the bounce listener; NULL when HERALD_BOUNCE_LISTEN is off */

    /* hotels: OTA channels, validation and pull (ota/channels.h) */
    struct ota_channels *ota_channels; /* the channels domain (credentials key, rate limits) */
    struct ota_pull *ota_pull;         /* the ota_pull kind and this node's pull scheduler */

    /* hotels: reservations (ota/reservations.h) */
    struct ota_reservations *ota_reservations; /* ingest, list, get; the revision hook */

    /* hotels: push endpoints and webhooks */
    struct ota_push *ota_push; /* ota/push.h */

    /* hotels: rates and availability out */
    struct ota_updates *ota_updates; /* intents and the delivery outbox (ota/updates.h) */

    /* hotels: guests and automations */
    struct ota_automations *automations; /* rules, sends, the tick kind (ota/automations.h) */
    struct ota_guests *guests;           /* the reservation revision hook (ota/guests.h) */

    /* privacy: export, erasure, suppression, retention, audit */
    struct privacy *privacy; /* privacy/privacy.h */

    /* dashboard: the web UI's static files */

    int64_t started_ms;
};

#define HERALD_VERSION "0.1.0"

#endif
