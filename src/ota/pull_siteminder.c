/* Owns the SiteMinder pmsXchange-style pull connector: SOAP 1.1 with a WS-Security
 * UsernameToken (ota/send.c wraps it), OTA_ReadRQ SelectionType="Undelivered" answered by
 * OTA_ResRetrieveRS, acknowledged with OTA_NotifReportRQ (Herald's id as ResID_Type="14"). */
#include "ota/pull_connector.h"

#define SMX_VERSION "1.0"

static const char *const queue_names[] = {"undelivered"};

static enum herald_err smx_fetch(struct ota_channels *chs, const struct ota_channel *ch, size_t q,
                                 const struct ota_send_opts *o, struct ota_reply *reply)
{
    (void)q;
    struct buf rq;
    buf_init(&rq, 1 << 16);
    int rc = ota_build_read_rq(ch, SMX_VERSION, true, &rq);
    if (!rc)
        rc = ota_channel_post(chs, ch, "", "OTA_ReadRQ", rq.data, rq.len, o, reply);
    buf_free(&rq);
    return rc;
}

static enum herald_err smx_ack(struct ota_channels *chs, const struct ota_channel *ch, size_t q,
                               const struct ota_res_message *msg,
                               const struct ota_ingest_result *results,
                               const struct ota_send_opts *o, struct ota_reply *reply)
{
    (void)q;
    struct buf rq;
    buf_init(&rq, (size_t)16 << 20);
    int rc = ota_build_notif_report(msg, results, SMX_VERSION, false, "14", &rq);
    if (!rc)
        rc = ota_channel_post(chs, ch, "", "OTA_NotifReportRQ", rq.data, rq.len, o, reply);
    buf_free(&rq);
    return rc;
}

const struct ota_connector ota_pull_siteminder = {
    .type = OTA_TYPE_SITEMINDER,
    .nqueues = 1,
    .queues = queue_names,
    .probe_path = "",
    .fetch = smx_fetch,
    .ack = smx_ack,
};
