/* Owns the AlpineBits HotelData pull connector (GuestRequests): multipart POST with
 * action=OTA_Read:GuestRequests and an OTA_ReadRQ, OTA_ResRetrieveRS back, acknowledged with
 * action=OTA_NotifReport:GuestRequests and an OTA_NotifReportRQ (UniqueID Type 14 for a
 * reservation, 15 for a cancellation, as AlpineBits 2022-10 section 4.2 describes). */
#include "ota/pull_connector.h"

#define AB_VERSION "7.000"

static const char *const queue_names[] = {"guestrequests"};

static enum herald_err ab_fetch(struct ota_channels *chs, const struct ota_channel *ch, size_t q,
                                const struct ota_send_opts *o, struct ota_reply *reply)
{
    (void)q;
    struct buf rq;
    buf_init(&rq, 1 << 16);
    int rc = ota_build_read_rq(ch, AB_VERSION, false, &rq);
    if (!rc)
        rc = ota_channel_post(chs, ch, "", "OTA_Read:GuestRequests", rq.data, rq.len, o, reply);
    buf_free(&rq);
    return rc;
}

static enum herald_err ab_ack(struct ota_channels *chs, const struct ota_channel *ch, size_t q,
                              const struct ota_res_message *msg,
                              const struct ota_ingest_result *results,
                              const struct ota_send_opts *o, struct ota_reply *reply)
{
    (void)q;
    struct buf rq;
    buf_init(&rq, (size_t)16 << 20);
    int rc = ota_build_notif_report(msg, results, AB_VERSION, true, NULL, &rq);
    if (!rc)
        rc = ota_channel_post(chs, ch, "", "OTA_NotifReport:GuestRequests", rq.data, rq.len, o,
                              reply);
    buf_free(&rq);
    return rc;
}

const struct ota_connector ota_pull_alpinebits = {
    .type = OTA_TYPE_ALPINEBITS,
    .nqueues = 1,
    .queues = queue_names,
    .probe_path = "",
    .fetch = ab_fetch,
    .ack = ab_ack,
};
