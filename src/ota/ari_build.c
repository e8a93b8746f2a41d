/* Owns the OpenTravel 2003/05 rate and availability notifications Herald sends:
 * OTA_HotelRateAmountNotifRQ, OTA_HotelAvailNotifRQ and OTA_HotelInvCountNotifRQ, one item per
 * outbox row (ari.h lists which public document each channel type's shape follows). */
#include <inttypes.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "ota/ari.h"
#include "ota/updates.h"
#include "ota/xml.h"

/* ` name="value"` with the value escaped. */
static int attr(struct buf *b, const char *name, const char *value)
{
    int rc = buf_printf(b, " %s=\"", name);
    if (!rc)
        rc = ota_xml_escape(b, value);
    return rc ? rc : buf_append_str(b, "\"");
}

static const char *const day_attrs[7] = {"Mon", "Tue", "Weds", "Thur", "Fri", "Sat", "Sun"};

/* <StatusApplicationControl Start End InvTypeCode [RatePlanCode] [Mon..Sun]/> */
static int status_control(struct buf *b, const struct store_ari_update *u, bool rate_plan)
{
    int rc = buf_append_str(b, "<StatusApplicationControl");
    if (!rc)
        rc = attr(b, "Start", u->date_from);
    if (!rc)
        rc = attr(b, "End", u->date_to);
    if (!rc)
        rc = attr(b, "InvTypeCode", u->room_type);
    if (!rc && rate_plan && u->rate_plan[0])
        rc = attr(b, "RatePlanCode", u->rate_plan);
    for (int d = 0; !rc && u->weekdays != 127 && d < 7; d++)
        rc = attr(b, day_attrs[d], (u->weekdays & (1 << d)) ? "true" : "false");
    return rc ? rc : buf_append_str(b, "/>");
}

static int rate_item(struct buf *b, const struct store_ari_update *u, json_t *p, size_t locator)
{
    const char *currency = json_string_value(json_object_get(p, "currency"));
    json_t *amounts = json_object_get(p, "amounts");
    if (!currency || !json_is_array(amounts))
        return HERALD_ERR_INVALID;
    int rc = buf_printf(b, "<RateAmountMessage LocatorID=\"%zu\">", locator);
    if (!rc)
        rc = status_control(b, u, true);
    if (!rc)
        rc = buf_append_str(b, "<Rates><Rate><BaseByGuestAmts>");
    size_t i;
    json_t *a;
    json_array_foreach(amounts, i, a)
    {
        const char *amount = json_string_value(json_object_get(a, "amount"));
        json_int_t guests = json_integer_value(json_object_get(a, "guests"));
        if (!rc && !amount)
            rc = HERALD_ERR_INVALID;
        if (!rc)
            rc = buf_append_str(b, "<BaseByGuestAmt");
        if (!rc)
            rc = attr(b, "AmountAfterTax", amount);
        if (!rc)
            rc = attr(b, "CurrencyCode", currency);
        if (!rc)
            rc = buf_printf(b, " NumberOfGuests=\"%" JSON_INTEGER_FORMAT "\"/>", guests);
    }
    return rc ? rc : buf_append_str(b, "</BaseByGuestAmts></Rate></Rates></RateAmountMessage>");
}

/* One AvailStatusMessage: `restriction` NULL (the room-rate's status) or Arrival/Departure. */
static int avail_message(struct buf *b, const struct store_ari_update *u, size_t locator,
                         const char *booking_limit, json_t *p, const char *restriction)
{
    int rc = buf_printf(b, "<AvailStatusMessage LocatorID=\"%zu\"", locator);
    if (!rc && booking_limit)
        rc = attr(b, "BookingLimit", booking_limit);
    if (!rc)
        rc = buf_append_str(b, ">");
    if (!rc)
        rc = status_control(b, u, !booking_limit);
    json_t *min = json_object_get(p, "minLos"), *max = json_object_get(p, "maxLos");
    if (!rc && !restriction && !booking_limit && (min || max)) {
        rc = buf_append_str(b, "<LengthsOfStay>");
        if (!rc && min)
            rc = buf_printf(
                b,
                "<LengthOfStay MinMaxMessageType=\"SetMinLOS\" Time=\"%" JSON_INTEGER_FORMAT "\"/>",
                json_integer_value(min));
        if (!rc && max)
            rc = buf_printf(
                b,
                "<LengthOfStay MinMaxMessageType=\"SetMaxLOS\" Time=\"%" JSON_INTEGER_FORMAT "\"/>",
                json_integer_value(max));
        if (!rc)
            rc = buf_append_str(b, "</LengthsOfStay>");
    }
    const char *status = json_string_value(json_object_get(p, "status"));
    if (restriction) {
        json_t *closed = json_object_get(
            p, strcmp(restriction, "Arrival") == 0 ? "closedToArrival" : "closedToDeparture");
        if (!rc)
            rc = buf_printf(b, "<RestrictionStatus Restriction=\"%s\" Status=\"%s\"/>", restriction,
                            json_is_true(closed) ? "Close" : "Open");
    } else if (!rc && status && !booking_limit) {
        rc = buf_printf(b, "<RestrictionStatus Status=\"%s\"/>",
                        strcmp(status, "close") == 0 ? "Close" : "Open");
    }
    return rc ? rc : buf_append_str(b, "</AvailStatusMessage>");
}

static int avail_item(struct buf *b, const struct store_ari_update *u, json_t *p, size_t locator)
{
    json_t *count = json_object_get(p, "count");
    if (strcmp(u->kind, "inventory") == 0) {
        if (!json_is_integer(count))
            return HERALD_ERR_INVALID;
        char limit[24];
        snprintf(limit, sizeof(limit), "%" JSON_INTEGER_FORMAT, json_integer_value(count));
        return avail_message(b, u, locator, limit, p, NULL);
    }
    int rc = HERALD_OK;
    if (u->fields & (OTA_ARI_F_STATUS | OTA_ARI_F_MIN_LOS | OTA_ARI_F_MAX_LOS))
        rc = avail_message(b, u, locator, NULL, p, NULL);
    if (!rc && (u->fields & OTA_ARI_F_CTA))
        rc = avail_message(b, u, locator, NULL, p, "Arrival");
    if (!rc && (u->fields & OTA_ARI_F_CTD))
        rc = avail_message(b, u, locator, NULL, p, "Departure");
    return rc;
}

static int inv_item(struct buf *b, const struct store_ari_update *u, json_t *p)
{
    json_t *count = json_object_get(p, "count");
    if (!json_is_integer(count))
        return HERALD_ERR_INVALID;
    int rc = buf_append_str(b, "<Inventory>");
    if (!rc)
        rc = status_control(b, u, true);
    if (!rc)
        rc = buf_printf(b,
                        "<InvCounts><InvCount CountType=\"2\" Count=\"%" JSON_INTEGER_FORMAT
                        "\"/></InvCounts></Inventory>",
                        json_integer_value(count));
    return rc;
}

static int item(enum ari_msg msg, struct buf *b, const struct store_ari_update *u, size_t locator)
{
    json_t *p = json_loads(u->payload, 0, NULL);
    if (!json_is_object(p)) {
        json_decref(p);
        return HERALD_ERR_INVALID;
    }
    int rc = msg == ARI_MSG_RATE_AMOUNT ? rate_item(b, u, p, locator)
             : msg == ARI_MSG_AVAIL     ? avail_item(b, u, p, locator)
                                        : inv_item(b, u, p);
    json_decref(p);
    return rc;
}

static const char *container(enum ari_msg msg)
{
    return msg == ARI_MSG_RATE_AMOUNT ? "RateAmountMessages"
           : msg == ARI_MSG_AVAIL     ? "AvailStatusMessages"
                                      : "Inventories";
}

enum herald_err ari_build(enum ari_msg msg, const char *hotel_code,
                          const struct store_ari_update *const *items, size_t n, int64_t now_ms,
                          struct buf *out)
{
    if (msg == ARI_MSG_NONE || n == 0)
        return HERALD_ERR_INVALID;
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *root = ari_msg_root(msg);
    int rc = buf_printf(out,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s xmlns=\"" OTA_NS
                        "\" EchoToken=\"herald-%" PRId64 "-%zu\" TimeStamp=\"%s\" Version=\"1.0\">"
                        "<%s",
                        root, items[0]->id, n, stamp, container(msg));
    if (!rc)
        rc = attr(out, "HotelCode", hotel_code);
    if (!rc)
        rc = buf_append_str(out, ">");
    for (size_t i = 0; !rc && i < n; i++)
        rc = item(msg, out, items[i], i + 1);
    if (!rc)
        rc = buf_printf(out, "</%s></%s>\n", container(msg), root);
    return rc;
}
