/* Owns the Booking.com-style pull connector: GET OTA_HotelResNotif (new reservations) and GET
 * OTA_HotelResModifyNotif (modified and cancelled ones), each batch acknowledged by POSTing
 * OTA_HotelResNotifRS / OTA_HotelResModifyNotifRS with <Success/> and every HotelReservationID. */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "ota/pull_connector.h"
#include "ota/xml.h"

#define BOOKING_VERSION "2.001"

static const char *const queue_names[] = {"new", "modified"};
static const char *const endpoints[] = {"/OTA_HotelResNotif", "/OTA_HotelResModifyNotif"};

/* "?hotel_ids=" + the hotel code, percent-encoded. */
static void query_path(const struct ota_channel *ch, size_t q, char *out, size_t size)
{
    int n = snprintf(out, size, "%s?hotel_ids=", endpoints[q]);
    for (const unsigned char *p = (const unsigned char *)ch->hotel_code;
         *p && n > 0 && (size_t)n + 4 < size; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
        n += plain ? snprintf(out + n, size - (size_t)n, "%c", *p)
                   : snprintf(out + n, size - (size_t)n, "%%%02X", *p);
    }
}

static enum herald_err booking_fetch(struct ota_channels *chs, const struct ota_channel *ch,
                                     size_t q, const struct ota_send_opts *o,
                                     struct ota_reply *reply)
{
    char path[256];
    query_path(ch, q, path, sizeof(path));
    return ota_channel_get(chs, ch, path, o, reply);
}

/* <HotelResModifies><HotelResModify><ResGlobalInfo><HotelReservationIDs>… per reservation. */
static enum herald_err modifies_block(const struct ota_res_message *msg,
                                      const struct ota_ingest_result *results, struct buf *out)
{
    int rc = buf_append_str(out, "<HotelResModifies>");
    for (size_t i = 0; !rc && i < msg->n; i++) {
        rc = buf_append_str(out, "<HotelResModify><ResGlobalInfo><HotelReservationIDs>"
                                 "<HotelReservationID ResID_Type=\"14\" ResID_Value=\"");
        rc = rc ? rc : ota_xml_escape(out, msg->items[i].res_id);
        rc = rc ? rc
                : buf_printf(out,
                             "\"/><HotelReservationID ResID_Type=\"3\" ResID_Value=\"%lld\"/>"
                             "</HotelReservationIDs></ResGlobalInfo></HotelResModify>",
                             (long long)results[i].reservation_id);
    }
    return rc ? rc : buf_append_str(out, "</HotelResModifies>");
}

static enum herald_err booking_ack(struct ota_channels *chs, const struct ota_channel *ch, size_t q,
                                   const struct ota_res_message *msg,
                                   const struct ota_ingest_result *results,
                                   const struct ota_send_opts *o, struct ota_reply *reply)
{
    struct buf block, doc;
    buf_init(&block, (size_t)16 << 20);
    buf_init(&doc, (size_t)16 << 20);
    int rc = HERALD_OK;
    if (q == 0) {
        struct ota_rs_res_id ids[msg->n ? msg->n : 1];
        for (size_t i = 0; i < msg->n; i++)
            ids[i] = (struct ota_rs_res_id){msg->items[i].res_id, results[i].reservation_id};
        rc = ota_rs_res_ids(&block, ids, msg->n);
    } else {
        rc = modifies_block(msg, results, &block);
    }
    struct ota_rs rs = {.root = q == 0 ? "OTA_HotelResNotifRS" : "OTA_HotelResModifyNotifRS",
                        .echo_token = msg->echo_token,
                        .timestamp_ms = clock_now_ms(),
                        .version = BOOKING_VERSION,
                        .body = block.data ? block.data : "",
                        .root_attrs = " Target=\"Production\""};
    if (!rc)
        rc = ota_rs_write(&rs, &doc);
    if (!rc)
        rc = ota_channel_post(chs, ch, endpoints[q], NULL, doc.data, doc.len, o, reply);
    buf_free(&block);
    buf_free(&doc);
    return rc;
}

const struct ota_connector ota_pull_booking = {
    .type = OTA_TYPE_BOOKING,
    .nqueues = 2,
    .queues = queue_names,
    .probe_path = "/OTA_HotelResNotif",
    .fetch = booking_fetch,
    .ack = booking_ack,
};
