/* Owns what the pull connectors share: the connector table, the OpenTravel OTA_ReadRQ and
 * OTA_NotifReportRQ builders, and the check of a 2xx reply for <Errors> or a SOAP Fault. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "ota/pull_connector.h"
#include "ota/xml.h"

const struct ota_connector *ota_connector_find(enum ota_channel_type type)
{
    static const struct ota_connector *const table[] = {&ota_pull_booking, &ota_pull_siteminder,
                                                        &ota_pull_alpinebits, &ota_pull_generic};
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i]->type == type)
            return table[i];
    return NULL;
}

void ota_timestamp(char out[32])
{
    clock_format_iso(clock_now_ms(), out, 32);
}

/* A fresh EchoToken: the time in ms (the channel echoes it; it correlates logs). */
static void echo_token(char out[32])
{
    snprintf(out, 32, "herald-%lld", (long long)clock_now_ms());
}

enum herald_err ota_build_read_rq(const struct ota_channel *ch, const char *version,
                                  bool undelivered, struct buf *out)
{
    char ts[32], echo[32];
    ota_timestamp(ts);
    echo_token(echo);
    int rc = buf_printf(out,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OTA_ReadRQ xmlns=\"" OTA_NS
                        "\" Version=\"%s\" EchoToken=\"%s\" TimeStamp=\"%s\"><ReadRequests>"
                        "<HotelReadRequest HotelCode=\"",
                        version, echo, ts);
    rc = rc ? rc : ota_xml_escape(out, ch->hotel_code);
    rc = rc ? rc : buf_append_str(out, "\">");
    if (!rc && undelivered)
        rc = buf_append_str(out, "<SelectionCriteria SelectionType=\"Undelivered\"/>");
    return rc ? rc : buf_append_str(out, "</HotelReadRequest></ReadRequests></OTA_ReadRQ>");
}

static const char *ack_status(enum ota_res_status s)
{
    return s == OTA_RES_CANCEL ? "Cancel" : s == OTA_RES_MODIFY ? "Modify" : "Book";
}

static enum herald_err report_item(const struct ota_reservation *r,
                                   const struct ota_ingest_result *res, bool cancel_type_15,
                                   const char *herald_id_type, struct buf *out)
{
    int rc = buf_printf(out, "<HotelReservation ResStatus=\"%s\"><UniqueID Type=\"%s\" ID=\"",
                        ack_status(r->status),
                        cancel_type_15 && r->status == OTA_RES_CANCEL ? "15" : "14");
    rc = rc ? rc : ota_xml_escape(out, r->res_id);
    rc = rc ? rc : buf_append_str(out, "\"/>");
    if (!rc && herald_id_type)
        rc = buf_printf(out,
                        "<ResGlobalInfo><HotelReservationIDs><HotelReservationID ResID_Type=\"%s\" "
                        "ResID_Value=\"%lld\"/></HotelReservationIDs></ResGlobalInfo>",
                        herald_id_type, (long long)res->reservation_id);
    return rc ? rc : buf_append_str(out, "</HotelReservation>");
}

enum herald_err ota_build_notif_report(const struct ota_res_message *msg,
                                       const struct ota_ingest_result *results, const char *version,
                                       bool cancel_type_15, const char *herald_id_type,
                                       struct buf *out)
{
    char ts[32], echo[32];
    ota_timestamp(ts);
    echo_token(echo);
    int rc =
        buf_printf(out,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OTA_NotifReportRQ xmlns=\"" OTA_NS
                   "\" Version=\"%s\" EchoToken=\"%s\" TimeStamp=\"%s\"><Success/>"
                   "<NotifDetails><HotelNotifReport><HotelReservations>",
                   version, echo, ts);
    for (size_t i = 0; !rc && i < msg->n; i++)
        rc = report_item(&msg->items[i], &results[i], cancel_type_15, herald_id_type, out);
    return rc ? rc
              : buf_append_str(out, "</HotelReservations></HotelNotifReport></NotifDetails>"
                                    "</OTA_NotifReportRQ>");
}

static bool auth_type(int type)
{
    return type == OTA_EWT_AUTHENTICATION || type == OTA_EWT_AUTHENTICATION_TIMEOUT ||
           type == OTA_EWT_AUTHORIZATION || type == OTA_EWT_AUTHENTICATION_MODEL;
}

/* <Errors><Error Type Code ShortText>text</Error>: the first one. */
static enum herald_err check_errors(xmlNode *errors, struct ota_reply *reply)
{
    xmlNode *e = ota_xml_child(errors, "Error");
    char type[16] = "", code[16] = "", text[160] = "";
    if (e) {
        ota_xml_attr(e, "Type", type, sizeof(type));
        ota_xml_attr(e, "Code", code, sizeof(code));
        if (!ota_xml_attr(e, "ShortText", text, sizeof(text)))
            ota_xml_text(e, text, sizeof(text));
    }
    snprintf(reply->error, sizeof(reply->error), "OpenTravel error (Type %s, Code %s): %s",
             type[0] ? type : "?", code[0] ? code : "?", text);
    return auth_type(atoi(type)) ? HERALD_ERR_SIGNATURE : HERALD_ERR_UPSTREAM;
}

static enum herald_err check_fault(xmlNode *fault, struct ota_reply *reply)
{
    char code[96] = "", text[160] = "";
    xmlNode *c = ota_xml_child(fault, "faultcode");
    if (!c)
        c = ota_xml_path(fault, "Code/Value");
    ota_xml_text(c, code, sizeof(code));
    xmlNode *t = ota_xml_child(fault, "faultstring");
    if (!t)
        t = ota_xml_path(fault, "Reason/Text");
    ota_xml_text(t, text, sizeof(text));
    snprintf(reply->error, sizeof(reply->error), "SOAP fault %s: %s", code, text);
    bool auth = strstr(code, "Security") || strstr(code, "Authentication") ||
                strstr(code, "InvalidSecurity");
    return auth ? HERALD_ERR_SIGNATURE : HERALD_ERR_UPSTREAM;
}

enum herald_err ota_reply_check(struct ota_reply *reply)
{
    size_t len = reply->len;
    const char *p = reply->body;
    while (len && p && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++, len--;
    if (!p || !len)
        return HERALD_OK;
    struct ota_xml_doc *doc = NULL;
    struct herald_error err = {0};
    if (ota_xml_parse(p, len, NULL, &doc, &err)) {
        snprintf(reply->error, sizeof(reply->error), "the reply is not XML: %s",
                 herald_error_message(&err));
        return HERALD_ERR_UPSTREAM_MALFORMED;
    }
    xmlNode *body = ota_xml_body(doc);
    enum herald_err rc = HERALD_OK;
    if (ota_xml_is(body, "Fault"))
        rc = check_fault(body, reply);
    else if (ota_xml_child(body, "Errors"))
        rc = check_errors(ota_xml_child(body, "Errors"), reply);
    ota_xml_free(doc);
    return rc;
}

bool ota_reply_is_empty_batch(const struct ota_reply *reply)
{
    struct ota_xml_doc *doc = NULL;
    if (!reply->body || !reply->len || ota_xml_parse(reply->body, reply->len, NULL, &doc, NULL))
        return false;
    xmlNode *root = ota_xml_body(doc);
    bool empty = false;
    if (ota_xml_is(root, "OTA_HotelResNotifRQ"))
        empty = !ota_xml_count(ota_xml_child(root, "HotelReservations"), "HotelReservation");
    else if (ota_xml_is(root, "OTA_HotelResModifyNotifRQ"))
        empty = !ota_xml_count(ota_xml_child(root, "HotelResModifies"), "HotelResModify") &&
                !ota_xml_count(ota_xml_child(root, "HotelResModifies"), "HotelReservation") &&
                !ota_xml_count(ota_xml_child(root, "HotelReservations"), "HotelReservation");
    ota_xml_free(doc);
    return empty;
}

enum herald_err ota_reply_refine(enum herald_err rc, struct ota_reply *reply)
{
    if (rc != HERALD_ERR_UPSTREAM || !reply->body || !reply->len)
        return rc;
    char saved[sizeof(reply->error)];
    memcpy(saved, reply->error, sizeof(saved));
    if (ota_reply_check(reply) == HERALD_ERR_SIGNATURE)
        return HERALD_ERR_SIGNATURE;
    memcpy(reply->error, saved, sizeof(saved));
    return rc;
}
