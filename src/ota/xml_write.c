/* The OpenTravel RS writer of ota/xml.h: Success/Warnings/Errors answers with EWT types and ERR
 * codes, the HotelReservationIDs block, optional SOAP 1.1/1.2 envelope, escaping. */
#include "ota/xml.h"

#include <inttypes.h>
#include <string.h>

#include "base/clock.h"

enum herald_err ota_xml_escape(struct buf *out, const char *s)
{
    enum herald_err rc = HERALD_OK;
    const char *run = s;
    for (const char *p = s; !rc && p && *p; p++) {
        unsigned char ch = (unsigned char)*p;
        const char *rep = NULL;
        switch (ch) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default:
            if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
                rep = "";
        }
        if (!rep)
            continue;
        rc = buf_append(out, run, (size_t)(p - run));
        if (!rc)
            rc = buf_append_str(out, rep);
        run = p + 1;
    }
    if (!rc && s)
        rc = buf_append_str(out, run);
    return rc;
}

static bool ncname_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' ||
                  (p != s && ((ch >= '0' && ch <= '9') || ch == '-' || ch == '.'));
        if (!ok)
            return false;
    }
    return true;
}

static enum herald_err write_items(struct buf *out, const char *list, const char *item,
                                   const struct ota_rs_item *items, size_t n)
{
    enum herald_err rc = buf_printf(out, "<%s>", list);
    for (size_t i = 0; !rc && i < n; i++) {
        rc = buf_printf(out, "<%s Type=\"%d\"", item, (int)items[i].type);
        if (!rc && items[i].code)
            rc = buf_printf(out, " Code=\"%d\"", items[i].code);
        if (!rc && items[i].rph && *items[i].rph) {
            rc = buf_append_str(out, " RPH=\"");
            rc = rc ? rc : ota_xml_escape(out, items[i].rph);
            rc = rc ? rc : buf_append_str(out, "\"");
        }
        if (!rc && items[i].text && *items[i].text) {
            rc = buf_append_str(out, " ShortText=\"");
            rc = rc ? rc : ota_xml_escape(out, items[i].text);
            rc = rc ? rc : buf_append_str(out, "\">");
            rc = rc ? rc : ota_xml_escape(out, items[i].text);
            rc = rc ? rc : buf_printf(out, "</%s>", item);
        } else if (!rc) {
            rc = buf_append_str(out, "/>");
        }
    }
    return rc ? rc : buf_printf(out, "</%s>", list);
}

static enum herald_err write_open(const struct ota_rs *rs, struct buf *out)
{
    char ts[40];
    clock_format_iso(rs->timestamp_ms, ts, sizeof(ts));
    enum herald_err rc = buf_printf(out, "<%s xmlns=\"" OTA_NS "\"", rs->root);
    if (!rc && rs->echo_token && *rs->echo_token) {
        rc = buf_append_str(out, " EchoToken=\"");
        rc = rc ? rc : ota_xml_escape(out, rs->echo_token);
        rc = rc ? rc : buf_append_str(out, "\"");
    }
    if (!rc)
        rc = buf_printf(out, " TimeStamp=\"%s\" Version=\"", ts);
    rc = rc ? rc : ota_xml_escape(out, rs->version ? rs->version : "1.0");
    rc = rc ? rc : buf_append_str(out, "\"");
    if (!rc && rs->root_attrs)
        rc = buf_append_str(out, rs->root_attrs);
    return rc ? rc : buf_append_str(out, ">");
}

static const char *soap_ns(enum ota_soap soap)
{
    return soap == OTA_SOAP_12 ? OTA_SOAP12_NS : OTA_SOAP11_NS;
}

enum herald_err ota_rs_write(const struct ota_rs *rs, struct buf *out)
{
    if (!ncname_ok(rs->root))
        return HERALD_ERR_INVALID;
    enum herald_err rc = buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    if (!rc && rs->soap != OTA_SOAP_NONE)
        rc = buf_printf(out, "<soap:Envelope xmlns:soap=\"%s\"><soap:Body>", soap_ns(rs->soap));
    rc = rc ? rc : write_open(rs, out);
    if (!rc && rs->nerrors > 0) {
        rc = write_items(out, "Errors", "Error", rs->errors, rs->nerrors);
    } else if (!rc) {
        rc = buf_append_str(out, "<Success/>");
        if (!rc && rs->nwarnings > 0)
            rc = write_items(out, "Warnings", "Warning", rs->warnings, rs->nwarnings);
        if (!rc && rs->body)
            rc = buf_append_str(out, rs->body);
    }
    rc = rc ? rc : buf_printf(out, "</%s>", rs->root);
    if (!rc && rs->soap != OTA_SOAP_NONE)
        rc = buf_append_str(out, "</soap:Body></soap:Envelope>");
    return rc;
}

static enum herald_err write_res_id(struct buf *out, const struct ota_rs_res_id *id)
{
    enum herald_err rc =
        buf_append_str(out, "<HotelReservation><ResGlobalInfo><HotelReservationIDs>");
    if (!rc && id->channel_res_id && *id->channel_res_id) {
        rc = buf_append_str(out, "<HotelReservationID ResID_Type=\"14\" ResID_Value=\"");
        rc = rc ? rc : ota_xml_escape(out, id->channel_res_id);
        rc = rc ? rc : buf_append_str(out, "\"/>");
    }
    if (!rc)
        rc = buf_printf(out,
                        "<HotelReservationID ResID_Type=\"3\" ResID_Value=\"%" PRId64
                        "\" ResID_Source=\"Herald\"/>",
                        id->herald_id);
    return rc ? rc
              : buf_append_str(out, "</HotelReservationIDs></ResGlobalInfo></HotelReservation>");
}

enum herald_err ota_rs_res_ids(struct buf *out, const struct ota_rs_res_id *ids, size_t n)
{
    enum herald_err rc = buf_append_str(out, "<HotelReservations>");
    for (size_t i = 0; !rc && i < n; i++)
        rc = write_res_id(out, &ids[i]);
    return rc ? rc : buf_append_str(out, "</HotelReservations>");
}

const char *ota_xml_content_type(enum ota_soap soap)
{
    switch (soap) {
    case OTA_SOAP_12:
        return "application/soap+xml; charset=utf-8";
    case OTA_SOAP_11:
        return "text/xml; charset=utf-8";
    case OTA_SOAP_NONE:
        break;
    }
    return "application/xml; charset=utf-8";
}
