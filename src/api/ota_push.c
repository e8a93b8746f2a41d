/* The partners' endpoints for reservations pushed to Herald: POST /ota/{channelId}/{message}
 * (OpenTravel RS answers) and POST /webhooks/ota/{channelId} (JSON), plus the RS form of the
 * errors the HTTP layer answers on them. Failed authentications are charged per client IP. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "app.h"
#include "base/clock.h"
#include "base/log.h"
#include "ota/push.h"

/* The bucket of failed authentications per client IP (at HERALD_RATE_LIMIT_IP). */
#define FAIL_BUCKET "otafail"

static void fill_request(struct http_request *req, struct ota_push_request *rq)
{
    memset(rq, 0, sizeof(*rq));
    rq->channel_id = http_req_param(req, "channelId");
    rq->message = http_req_param(req, "message");
    rq->authorization = http_req_header(req, "Authorization");
    rq->content_type = http_req_header(req, "Content-Type");
    rq->xml_content_type = http_req_is_xml(req);
    rq->webhook.id = http_req_header(req, "webhook-id");
    rq->webhook.timestamp = http_req_header(req, "webhook-timestamp");
    rq->webhook.signature = http_req_header(req, "webhook-signature");
    rq->body = http_req_body(req, &rq->len);
}

/* An address past its failures gets 429 before any credential is looked at. */
static bool failures_left(struct http_request *req, struct app *app)
{
    return http_req_peek_rate(req, FAIL_BUCKET, &app->cfg.rate_limit_ip);
}

static void charge_failure(struct http_request *req, struct app *app)
{
    long retry;
    http_req_take_rate(req, FAIL_BUCKET, &app->cfg.rate_limit_ip, &retry);
}

/* Sets the reply (the body is copied); the answer stays the caller's. */
static void reply_answer(struct http_request *req, const struct ota_push_answer *ans)
{
    if (ans->status == 503)
        http_reply_header(req, "Retry-After", "1");
    if (ans->status == 401)
        http_reply_header(req, "WWW-Authenticate", "Basic realm=\"herald-ota\"");
    http_reply_raw(req, ans->status, ans->content_type, ans->body.data, ans->body.len);
}

static void log_push(struct http_request *req, const char *channel, const char *message,
                     const struct ota_push_answer *ans)
{
    if (ans->err)
        log_info("ota push refused",
                 json_pack("{s:s, s:s?, s:s?, s:i, s:s, s:s}", "request_id", http_req_id(req),
                           "channel", channel, "message", message, "status", ans->status, "error",
                           herald_err_code(ans->err), "reason", ans->reason));
    else
        log_info("ota push stored",
                 json_pack("{s:s, s:s?, s:s?, s:I, s:I}", "request_id", http_req_id(req), "channel",
                           channel, "message", message, "stored", (json_int_t)ans->stored,
                           "duplicates", (json_int_t)ans->duplicates));
}

/* The writer ingested a push: answer it from there and let the server send the reply. */
static void push_done(void *arg, enum herald_err rc, struct ota_push_answer *ans)
{
    struct http_request *req = arg;
    if (rc) {
        http_reply_error(req, rc, NULL, NULL);
    } else {
        log_push(req, http_req_param(req, "channelId"), http_req_param(req, "message"), ans);
        reply_answer(req, ans);
    }
    http_req_resume(req);
}

enum http_result api_ota_push(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct ota_push_request rq;
    struct ota_push_answer ans;
    fill_request(req, &rq);
    int64_t now = clock_now_ms();
    enum herald_err rc;
    bool pending = false;
    if (!failures_left(req, app)) {
        http_reply_header(req, "Retry-After", "60");
        rc = ota_push_refusal(rq.message, rq.content_type, HERALD_ERR_RATE_LIMITED,
                              "too many failed authentications from this address", now, &ans);
    } else {
        rc = ota_push_message(app->ota_push, &rq, now, &ans, push_done, req, &pending);
    }
    if (pending)
        return HTTP_SUSPENDED;
    if (rc) {
        ota_push_answer_free(&ans);
        return api_fail(req, rc);
    }
    if (ans.auth_failed)
        charge_failure(req, app);
    log_push(req, rq.channel_id, rq.message, &ans);
    reply_answer(req, &ans);
    ota_push_answer_free(&ans);
    return HTTP_REPLIED;
}

enum http_result api_ota_webhook(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct ota_push_request rq;
    fill_request(req, &rq);
    if (!failures_left(req, app)) {
        http_reply_header(req, "Retry-After", "60");
        return api_fail(req, HERALD_ERR_RATE_LIMITED);
    }
    struct ota_webhook_result res;
    struct herald_error err = {0};
    enum herald_err rc = ota_push_webhook(app->ota_push, &rq, clock_now_ms(), &res, &err);
    if (res.auth_failed)
        charge_failure(req, app);
    if (rc) {
        log_info("ota webhook refused",
                 json_pack("{s:s, s:s?, s:s, s:s}", "request_id", http_req_id(req), "channel",
                           rq.channel_id, "error", herald_err_code(rc), "reason",
                           herald_error_message(&err)));
        if (!err.code)
            return api_fail(req, rc);
        return api_fail_err(req, &err);
    }
    json_t *body = json_pack("{s:b, s:b, s:b}", "success", 1, "duplicate", res.duplicate, "replay",
                             res.replay);
    if (body && !res.replay) {
        json_object_set_new(body, "reservationId", json_integer(res.reservation_id));
        json_object_set_new(body, "revisionId", json_integer(res.revision_id));
    }
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}

bool api_ota_partner_error(struct http_request *req, enum herald_err err, const char *message,
                           void *ctx)
{
    (void)ctx;
    if (strncmp(http_req_path(req), "/ota/", 5) != 0)
        return false; /* the webhooks speak JSON: the usual error body */
    struct ota_push_answer ans;
    if (ota_push_refusal(http_req_param(req, "message"), http_req_header(req, "Content-Type"), err,
                         message, clock_now_ms(), &ans)) {
        ota_push_answer_free(&ans);
        return false;
    }
    http_reply_raw(req, ans.status, ans.content_type, ans.body.data, ans.body.len);
    ota_push_answer_free(&ans);
    return true;
}
