/* GET /api/analytics/email-stats: sending and feedback counts for one campaign, one automation or
 * all, over an optional time window (mail/stats.h computes them). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "mail/stats.h"

static enum http_result invalid(struct http_request *req, const char *field, const char *msg)
{
    http_reply_error(req, HERALD_ERR_INVALID, msg, field);
    return HTTP_REPLIED;
}

static bool read_time(const char *s, int64_t *out)
{
    return s && clock_parse_iso(s, out) == HERALD_OK;
}

enum http_result api_email_stats(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct mail_stats_query q = {
        .from_ms = INT64_MIN, .to_ms = INT64_MAX, .now_ms = clock_now_ms()};
    const char *campaign = http_req_query(req, "campaignId");
    const char *from = http_req_query(req, "from"), *to = http_req_query(req, "to");
    if (campaign) {
        char *end = NULL;
        long long id = strtoll(campaign, &end, 10);
        if (!*campaign || *end || id <= 0)
            return invalid(req, "campaignId", "campaignId must be a positive integer");
        q.campaign_id = id;
    }
    const char *automation = http_req_query(req, "automationId");
    if (automation) {
        char *end = NULL;
        long long id = strtoll(automation, &end, 10);
        if (!*automation || *end || id <= 0)
            return invalid(req, "automationId", "automationId must be a positive integer");
        q.automation_id = id;
    }
    if (from && !read_time(from, &q.from_ms))
        return invalid(req, "from", "from must be an ISO-8601 date or date-time");
    if (to && !read_time(to, &q.to_ms))
        return invalid(req, "to", "to must be an ISO-8601 date or date-time");
    if (q.from_ms > q.to_ms)
        return invalid(req, "from", "from must not be after to");
    struct mail_stats s;
    int rc = mail_stats_get(app->store, &q, &s);
    if (rc)
        return api_fail(req, rc);
    json_t *body = json_pack(
        "{s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "success", 1,
        "stats", "sent", (json_int_t)s.sent, "delivered", (json_int_t)s.delivered, "failed",
        (json_int_t)s.failed, "bounced", (json_int_t)s.bounced, "opened", (json_int_t)s.opened,
        "uniqueOpened", (json_int_t)s.unique_opened, "clicked", (json_int_t)s.clicked,
        "uniqueClicked", (json_int_t)s.unique_clicked, "unsubscribed", (json_int_t)s.unsubscribed,
        "complained", (json_int_t)s.complained, "queueLength", (json_int_t)s.queue_length,
        "sendRatePerMinute", (json_int_t)s.send_rate_per_minute);
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}
