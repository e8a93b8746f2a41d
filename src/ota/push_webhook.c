/* Inbound JSON webhooks of channel managers: signature, replay of a seen webhook-id, the
 * event mapped onto a reservation, ingestion, then the id remembered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "ota/push_internal.h"
#include "store/ota_inbound.h"

/* How long a webhook-id is remembered: senders retry a failed delivery for days (Standard
 * Webhooks' reference senders retry for about five); a later repeat is still a duplicate
 * revision for the ingestion, so nothing is stored twice either way. */
#define WEBHOOK_ID_KEEP_MS (7LL * 24 * 3600 * 1000)

struct seen_get_args {
    int64_t channel_id, now_ms;
    const char *value;
    bool seen;
};

static int seen_get_tx(struct store_conn *c, void *arg)
{
    struct seen_get_args *a = arg;
    return store_ota_seen_get(c, a->channel_id, "webhook", a->value, a->now_ms, &a->seen);
}

static bool json_media_type(const char *ct)
{
    if (!ct)
        return true;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    return !*ct || (strncasecmp(ct, "application/json", n) == 0 &&
                    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '));
}

/* The channel, its signature and its mode. */
static enum herald_err check_sender(struct ota_push *p, const struct ota_push_request *rq,
                                    int64_t now_ms, struct ota_channel *ch,
                                    struct ota_webhook_result *out, struct herald_error *err)
{
    enum herald_err rc = push_channel(p, rq->channel_id, ch, err);
    if (rc == HERALD_ERR_NOT_FOUND) {
        out->auth_failed = true;
        return herald_error_set(err, HERALD_ERR_SIGNATURE, NULL, "no valid signature");
    }
    if (rc)
        return rc;
    rc = ota_webhook_verify(ch->webhook_secret[0] ? ch->webhook_secret : NULL, &rq->webhook,
                            rq->body, rq->len, now_ms / 1000, p->o.tolerance_s, err);
    if (rc) {
        out->auth_failed = rc == HERALD_ERR_SIGNATURE;
        return rc;
    }
    if (!ch->enabled || ch->mode != OTA_MODE_PUSH)
        return herald_error_set(err, HERALD_ERR_FORBIDDEN, NULL,
                                ch->enabled ? "this channel is not set up for pushes (mode pull)"
                                            : "this channel is disabled");
    if (!json_media_type(rq->content_type))
        return herald_error_set(err, HERALD_ERR_MEDIA_TYPE, NULL,
                                "Content-Type must be application/json");
    if (rq->len > p->o.max_message_bytes)
        return herald_error_set(err, HERALD_ERR_TOO_LARGE, NULL, NULL);
    return HERALD_OK;
}

/* Parses, checks the hotel code and ingests the one reservation of the event. */
static enum herald_err ingest_event(struct ota_push *p, const struct ota_push_request *rq,
                                    const struct ota_channel *ch, int64_t now_ms,
                                    struct ota_webhook_result *out, struct herald_error *err)
{
    struct ota_res_message msg;
    enum herald_err rc = ota_webhook_parse(rq->body, rq->len, ch->hotel_code, &msg, err);
    if (rc)
        return rc;
    struct ota_ingest_result res = {0};
    if (strcmp(msg.items[0].hotel_code, ch->hotel_code) != 0)
        rc = herald_error_set(err, HERALD_ERR_INVALID, "data.hotelCode",
                              "data.hotelCode is not this channel's hotel");
    else
        rc = ota_reservations_ingest(p->o.reservations, ch, msg.items, 1, now_ms, &res, err);
    ota_webhook_message_free(&msg);
    if (!rc) {
        out->reservation_id = res.reservation_id;
        out->revision_id = res.revision_id;
        out->duplicate = res.duplicate;
    }
    return rc;
}

enum herald_err ota_push_webhook(struct ota_push *p, const struct ota_push_request *rq,
                                 int64_t now_ms, struct ota_webhook_result *out,
                                 struct herald_error *err)
{
    memset(out, 0, sizeof(*out));
    struct ota_channel ch;
    memset(&ch, 0, sizeof(ch));
    enum herald_err rc = check_sender(p, rq, now_ms, &ch, out, err);
    struct seen_get_args sg = {ch.id, now_ms, rq->webhook.id, false};
    if (!rc)
        rc = store_run_read(p->o.store, seen_get_tx, &sg);
    if (!rc && sg.seen)
        out->replay = true;
    else if (!rc)
        rc = ingest_event(p, rq, &ch, now_ms, out, err);
    if (!rc && !out->replay) {
        bool fresh;
        enum herald_err mrc = push_mark_seen(p, ch.id, "webhook", rq->webhook.id, now_ms,
                                             now_ms + WEBHOOK_ID_KEEP_MS, &fresh);
        if (mrc)
            log_warn("ota webhook id not recorded (a replay would be a duplicate revision)",
                     json_pack("{s:I, s:s}", "channel", (json_int_t)ch.id, "error",
                               herald_err_code(mrc)));
    }
    ota_channel_wipe(&ch);
    return rc;
}
