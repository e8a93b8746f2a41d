/* Email statistics (stats.h): one read transaction over send_queue and mail_feedback
 * (store/feedback.h), turned into the counts the API answers. */
#include "mail/stats.h"

#include <string.h>

#include "store/feedback.h"

struct stats_op {
    const struct mail_stats_query *q;
    struct store_email_stats raw;
};

static int stats_tx(struct store_conn *c, void *arg)
{
    struct stats_op *op = arg;
    struct store_stats_filter f = {op->q->campaign_id, op->q->from_ms, op->q->to_ms, op->q->now_ms,
                                   op->q->automation_id};
    return store_email_stats(c, &f, &op->raw);
}

enum herald_err mail_stats_get(struct store *st, const struct mail_stats_query *q,
                               struct mail_stats *out)
{
    struct stats_op op = {.q = q};
    memset(out, 0, sizeof(*out));
    enum herald_err rc = store_run_read(st, stats_tx, &op);
    if (rc)
        return rc;
    const struct store_email_stats *r = &op.raw;
    out->sent = r->sent;
    out->delivered = r->sent - r->bounced_after_sent;
    out->failed = r->failed;
    out->bounced = r->bounced;
    out->opened = r->fb.opened;
    out->unique_opened = r->fb.unique_opened;
    out->clicked = r->fb.clicked;
    out->unique_clicked = r->fb.unique_clicked;
    out->unsubscribed = r->fb.unsubscribed;
    out->complained = r->fb.complained;
    out->queue_length = r->queue_length;
    out->send_rate_per_minute = r->sent_last_minute;
    return HERALD_OK;
}
