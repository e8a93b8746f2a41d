/* Email statistics: what was sent, delivered, failed, bounced, opened, clicked, unsubscribed
 * and complained about, for one campaign or all, within a time window; the definitions are in
 * docs/api.md (GET /api/analytics/email-stats). Errors: the store's. */
#ifndef HERALD_MAIL_STATS_H
#define HERALD_MAIL_STATS_H

#include <stdint.h>

#include "base/err.h"

struct store;

struct mail_stats_query {
    int64_t campaign_id;   /* 0: every campaign */
    int64_t from_ms;       /* inclusive; INT64_MIN: no bound */
    int64_t to_ms;         /* exclusive; INT64_MAX: no bound */
    int64_t now_ms;        /* the send rate counts the minute before it */
    int64_t automation_id; /* > 0: the sends of one automation (campaign_id ignored) */
};

struct mail_stats {
    int64_t sent, delivered, failed, bounced;
    int64_t opened, unique_opened, clicked, unique_clicked;
    int64_t unsubscribed, complained;
    int64_t queue_length, send_rate_per_minute;
};

enum herald_err mail_stats_get(struct store *st, const struct mail_stats_query *q,
                               struct mail_stats *out);

#endif
