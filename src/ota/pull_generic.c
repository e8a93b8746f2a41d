/* Owns the generic OpenTravel pull connector: bare OTA_ReadRQ (SelectionType="Undelivered")
 * POSTed with HTTP Basic, OTA_ResRetrieveRS back, OTA_NotifReportRQ to acknowledge (Herald's
 * id as ResID_Type="3", as in Herald's push answers). */
#include "ota/pull_connector.h"

#define GENERIC_VERSION "1.0"

static const char *const queue_names[] = {"undelivered"};

static enum herald_err generic_fetch(struct ota_channels *chs, const struct ota_channel *ch,
                                     size_t q, const struct ota_send_opts *o,
                                     struct ota_reply *reply)
{
    (void)q;
    struct buf rq;
    buf_init(&rq, 1 << 16);
    int rc = ota_build_read_rq(ch, GENERIC_VERSION, true, &rq);
    if (!rc)
        rc = ota_channel_post(chs, ch, "", NULL, rq.data, rq.len, o, reply);
    buf_free(&rq);
    return rc;
}

static enum herald_err generic_ack(struct ota_channels *chs, const struct ota_channel *ch, size_t q,
                                   const struct ota_res_message *msg,
                                   const struct ota_ingest_result *results,
                                   const struct ota_send_opts *o, struct ota_reply *reply)
{
    (void)q;
    struct buf rq;
    buf_init(&rq, (size_t)16 << 20);
    int rc = ota_build_notif_report(msg, results, GENERIC_VERSION, false, "3", &rq);
    if (!rc)
        rc = ota_channel_post(chs, ch, "", NULL, rq.data, rq.len, o, reply);
    buf_free(&rq);
    return rc;
}

const struct ota_connector ota_pull_generic = {
    .type = OTA_TYPE_GENERIC,
    .nqueues = 1,
    .queues = queue_names,
    .probe_path = "",
    .fetch = generic_fetch,
    .ack = generic_ack,
};
