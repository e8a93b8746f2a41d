/* The stay part of a parsed reservation: RoomStays (room type, rate plan, TimeSpan, guest
 * counts, amounts), the reservation's span and totals, dates and decimal amounts. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/res_parse_internal.h"

bool ota_parse_date(const char *s, char out[OTA_DATE_LEN])
{
    out[0] = '\0';
    if (!s || strlen(s) < 10)
        return false;
    for (int i = 0; i < 10; i++) {
        bool dash = i == 4 || i == 7;
        if (dash ? s[i] != '-' : !isdigit((unsigned char)s[i]))
            return false;
    }
    if (s[10] != '\0' && s[10] != 'T' && s[10] != ' ')
        return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    memcpy(out, s, 10);
    out[10] = '\0';
    return true;
}

bool ota_decimal_ok(const char *s)
{
    if (!s || !*s)
        return false;
    const char *p = s + (*s == '-');
    size_t digits = 0, decimals = 0;
    bool dot = false;
    for (; *p; p++) {
        if (*p == '.' && !dot) {
            dot = true;
        } else if (isdigit((unsigned char)*p)) {
            digits++;
            decimals += dot;
        } else {
            return false;
        }
    }
    return digits > 0 && digits <= 15 && decimals <= 4;
}

/* Decimal text to ten-thousandths. */
static bool to_units(const char *s, long long *out)
{
    if (!ota_decimal_ok(s))
        return false;
    bool neg = *s == '-';
    const char *p = s + neg;
    long long whole = 0, frac = 0;
    int fd = 0;
    for (; *p && *p != '.'; p++)
        whole = whole * 10 + (*p - '0');
    if (*p == '.')
        for (p++; *p; p++, fd++)
            frac = frac * 10 + (*p - '0');
    for (; fd < 4; fd++)
        frac *= 10;
    *out = (whole * 10000 + frac) * (neg ? -1 : 1);
    return true;
}

bool ota_decimal_add(char *a, size_t cap, const char *b)
{
    long long x = 0, y = 0;
    if ((*a && !to_units(a, &x)) || !to_units(b, &y))
        return false;
    long long s = x + y;
    long long abs_s = s < 0 ? -s : s;
    int n =
        snprintf(a, cap, "%s%lld.%02lld", s < 0 ? "-" : "", abs_s / 10000, (abs_s % 10000) / 100);
    return n > 0 && (size_t)n < cap;
}

/* AmountAfterTax, else AmountBeforeTax, of a Total-like element. */
static void read_amount(const xmlNode *total, char *amount, size_t cap, char *currency)
{
    char v[32];
    amount[0] = '\0';
    if (!total)
        return;
    if ((ota_xml_attr(total, "AmountAfterTax", v, sizeof(v)) && ota_decimal_ok(v)) ||
        (ota_xml_attr(total, "AmountBeforeTax", v, sizeof(v)) && ota_decimal_ok(v)) ||
        (ota_xml_attr(total, "Amount", v, sizeof(v)) && ota_decimal_ok(v)))
        snprintf(amount, cap, "%s", v);
    char cur[8];
    if (currency && !currency[0] && ota_xml_attr(total, "CurrencyCode", cur, sizeof(cur)) &&
        strlen(cur) == 3)
        for (int i = 0; i < 4; i++)
            currency[i] = (char)toupper((unsigned char)cur[i]);
}

/* GuestCounts: AgeQualifyingCode 10 adult, 8 child, 7 infant; without a code an Age under 18
 * (AlpineBits) makes a child. */
static void read_counts(const xmlNode *rs, struct ota_room_stay *room)
{
    const xmlNode *gc = ota_xml_child(rs, "GuestCounts");
    for (xmlNode *g = ota_xml_child(gc, "GuestCount"); g; g = ota_xml_next(g, "GuestCount")) {
        char code[8], count[12], age[8];
        ota_xml_attr(g, "AgeQualifyingCode", code, sizeof(code));
        int k = ota_xml_attr(g, "Count", count, sizeof(count)) ? atoi(count) : 1;
        if (k < 0 || k > 999)
            k = 0;
        bool child = strcmp(code, "8") == 0 || strcmp(code, "7") == 0 ||
                     (!code[0] && ota_xml_attr(g, "Age", age, sizeof(age)) && atoi(age) < 18);
        if (child)
            room->children += k;
        else
            room->adults += k;
    }
}

static enum herald_err read_room(const xmlNode *rs, const char *path, size_t i,
                                 struct ota_room_stay *room, char *currency,
                                 struct herald_error *err)
{
    memset(room, 0, sizeof(*room));
    const xmlNode *rate = ota_xml_path(rs, "RoomRates/RoomRate");
    if (!ota_xml_attr(ota_xml_path(rs, "RoomTypes/RoomType"), "RoomTypeCode", room->room_type,
                      sizeof(room->room_type)))
        ota_xml_attr(rate, "RoomTypeCode", room->room_type, sizeof(room->room_type));
    if (!ota_xml_attr(ota_xml_path(rs, "RatePlans/RatePlan"), "RatePlanCode", room->rate_plan,
                      sizeof(room->rate_plan)))
        ota_xml_attr(rate, "RatePlanCode", room->rate_plan, sizeof(room->rate_plan));
    const xmlNode *span = ota_xml_child(rs, "TimeSpan");
    char start[40], end[40];
    bool has_start = ota_xml_attr(span, "Start", start, sizeof(start));
    bool has_end = ota_xml_attr(span, "End", end, sizeof(end));
    if ((has_start && !ota_parse_date(start, room->arrival)) ||
        (has_end && !ota_parse_date(end, room->departure)) ||
        (room->arrival[0] && room->departure[0] && strcmp(room->arrival, room->departure) > 0))
        return herald_error_set(err, HERALD_ERR_INVALID, path,
                                "RoomStay[%zu].TimeSpan needs Start <= End as YYYY-MM-DD", i);
    read_counts(rs, room);
    read_amount(ota_xml_child(rs, "Total"), room->amount, sizeof(room->amount), currency);
    return HERALD_OK;
}

static void widen_span(struct ota_reservation *r, const struct ota_room_stay *room)
{
    if (room->arrival[0] && (!r->arrival[0] || strcmp(room->arrival, r->arrival) < 0))
        memcpy(r->arrival, room->arrival, OTA_DATE_LEN);
    if (room->departure[0] && (!r->departure[0] || strcmp(room->departure, r->departure) > 0))
        memcpy(r->departure, room->departure, OTA_DATE_LEN);
}

enum herald_err ota_parse_rooms(const xmlNode *el, const char *path, struct ota_reservation *r,
                                struct herald_error *err)
{
    const xmlNode *stays = ota_xml_child(el, "RoomStays");
    size_t n = ota_xml_count(stays, "RoomStay");
    if (n > OTA_MAX_ROOMS)
        return herald_error_set(err, HERALD_ERR_INVALID, path, "more than %d RoomStay elements",
                                OTA_MAX_ROOMS);
    r->rooms = n ? calloc(n, sizeof(*r->rooms)) : NULL;
    if (n && !r->rooms)
        return HERALD_ERR_NOMEM;
    char sum[32] = "";
    bool summable = true;
    size_t i = 0;
    for (xmlNode *rs = ota_xml_child(stays, "RoomStay"); rs; rs = ota_xml_next(rs, "RoomStay")) {
        enum herald_err rc = read_room(rs, path, i, &r->rooms[i], r->currency, err);
        if (rc)
            return rc;
        r->nrooms = ++i;
        struct ota_room_stay *room = &r->rooms[i - 1];
        r->adults += room->adults;
        r->children += room->children;
        widen_span(r, room);
        summable = summable && room->amount[0] && ota_decimal_add(sum, sizeof(sum), room->amount);
    }
    const xmlNode *total = ota_xml_path(el, "ResGlobalInfo/Total");
    read_amount(total, r->total, sizeof(r->total), r->currency);
    if (!r->total[0] && summable && n > 0)
        snprintf(r->total, sizeof(r->total), "%s", sum);
    return HERALD_OK;
}
