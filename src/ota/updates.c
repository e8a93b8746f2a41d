/* Owns the hotel's rate and availability intents: their validation, their fan-out into the
 * delivery outbox (one transaction with the `ota_deliver` jobs), supersession and the listing. */
#include "ota/updates.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "ota/ari.h"

/* ---- dates ---- */

static bool parse_date(const char *s, int *y, int *m, int *d)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return false;
    *y = atoi(s);
    *m = atoi(s + 5);
    *d = atoi(s + 8);
    return *y >= 2000 && *y <= 2200 && *m >= 1 && *m <= 12 && *d >= 1 &&
           *d <= clock_days_in_month(*y, *m);
}

bool ota_date_valid(const char *s)
{
    int y, m, d;
    return parse_date(s, &y, &m, &d);
}

static int64_t date_days(const char *s)
{
    int y, m, d;
    return parse_date(s, &y, &m, &d) ? clock_days_from_civil(y, m, d) : -1;
}

int ota_weekday_bit(const char *name)
{
    static const char *const names[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                         "friday", "saturday", "sunday"};
    for (int i = 0; name && i < 7; i++)
        if (strcmp(name, names[i]) == 0 || (strlen(name) == 3 && strncmp(name, names[i], 3) == 0))
            return 1 << i;
    return 0;
}

/* ---- validation ---- */

static bool code_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= STORE_ARI_CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.:/ ", s[i]))
            return false;
    return true;
}

static int check_codes(const char *hotel, const char *room, const char *rate, bool rate_required,
                       struct herald_error *err)
{
    const char *msg = "must be 1-64 letters, digits, spaces or - _ . : /";
    if (!code_ok(hotel))
        return herald_error_set(err, HERALD_ERR_INVALID, "hotelCode", "%s", msg);
    if (!code_ok(room))
        return herald_error_set(err, HERALD_ERR_INVALID, "roomType", "%s", msg);
    if ((rate_required || (rate && *rate)) && !code_ok(rate))
        return herald_error_set(err, HERALD_ERR_INVALID, "ratePlan", "%s", msg);
    return HERALD_OK;
}

static int check_dates(const char *from, const char *to, struct herald_error *err)
{
    int64_t f = date_days(from), t = date_days(to);
    if (f < 0)
        return herald_error_set(err, HERALD_ERR_INVALID, "from", "must be a date (YYYY-MM-DD)");
    if (t < 0)
        return herald_error_set(err, HERALD_ERR_INVALID, "to", "must be a date (YYYY-MM-DD)");
    if (t < f)
        return herald_error_set(err, HERALD_ERR_INVALID, "to", "must not be before from");
    if (t - f + 1 > OTA_ARI_MAX_DAYS)
        return herald_error_set(err, HERALD_ERR_INVALID, "to", "the range is over %d days",
                                OTA_ARI_MAX_DAYS);
    if (t < clock_now_ms() / 86400000 - 1)
        return herald_error_set(err, HERALD_ERR_INVALID, "to", "the range is in the past");
    return HERALD_OK;
}

/* Decimal text: 1-9 digits, optionally '.' and 1-4 digits. */
static bool amount_ok(const char *s)
{
    size_t i = 0, ints = 0, decs = 0;
    while (s && isdigit((unsigned char)s[i]) && ints < 10)
        i++, ints++;
    if (!s || ints == 0 || ints > 9)
        return false;
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i]) && decs < 5)
            i++, decs++;
        if (decs == 0 || decs > 4)
            return false;
    }
    return s[i] == '\0';
}

static int check_amounts(const struct ota_rates_input *in, int *mask, struct herald_error *err)
{
    if (in->namounts == 0)
        return herald_error_set(err, HERALD_ERR_INVALID, "amounts", "needs at least one amount");
    *mask = 0;
    for (size_t i = 0; i < in->namounts; i++) {
        int g = in->amounts[i].guests;
        if (g < 1 || g > OTA_ARI_MAX_AMOUNTS)
            return herald_error_set(err, HERALD_ERR_INVALID, "amounts",
                                    "amounts[%zu].guests "
                                    "must be 1-%d",
                                    i, OTA_ARI_MAX_AMOUNTS);
        if (*mask & (1 << (g - 1)))
            return herald_error_set(err, HERALD_ERR_INVALID, "amounts",
                                    "amounts[%zu]: %d guests twice", i, g);
        if (!amount_ok(in->amounts[i].amount))
            return herald_error_set(err, HERALD_ERR_INVALID, "amounts",
                                    "amounts[%zu].amount must be a decimal like \"120.00\"", i);
        *mask |= 1 << (g - 1);
    }
    const char *c = in->currency;
    if (!c || strlen(c) != 3 || !isupper((unsigned char)c[0]) || !isupper((unsigned char)c[1]) ||
        !isupper((unsigned char)c[2]))
        return herald_error_set(err, HERALD_ERR_INVALID, "currency",
                                "must be an ISO 4217 code like EUR");
    return HERALD_OK;
}

static int check_avail(const struct ota_avail_input *in, struct herald_error *err)
{
    if (in->has_count && (in->count < 0 || in->count > OTA_ARI_MAX_COUNT))
        return herald_error_set(err, HERALD_ERR_INVALID, "count", "must be 0-%d",
                                OTA_ARI_MAX_COUNT);
    if (in->status && strcmp(in->status, "open") != 0 && strcmp(in->status, "close") != 0)
        return herald_error_set(err, HERALD_ERR_INVALID, "status", "must be open or close");
    if (in->min_los < 0 || in->min_los > OTA_ARI_MAX_LOS)
        return herald_error_set(err, HERALD_ERR_INVALID, "minLos", "must be 1-%d", OTA_ARI_MAX_LOS);
    if (in->max_los < 0 || in->max_los > OTA_ARI_MAX_LOS)
        return herald_error_set(err, HERALD_ERR_INVALID, "maxLos", "must be 1-%d", OTA_ARI_MAX_LOS);
    if (in->min_los && in->max_los && in->min_los > in->max_los)
        return herald_error_set(err, HERALD_ERR_INVALID, "maxLos", "must not be below minLos");
    if (!in->has_count && !in->status && !in->min_los && !in->max_los && in->cta < 0 && in->ctd < 0)
        return herald_error_set(err, HERALD_ERR_INVALID, "count",
                                "say at least one of count, status, minLos, maxLos, "
                                "closedToArrival, closedToDeparture");
    return HERALD_OK;
}

/* ---- payloads: canonical JSON (sorted keys) so equal values compare equal ---- */

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

static char *rates_payload(const struct ota_rates_input *in)
{
    json_t *amounts = json_array();
    for (int g = 1; amounts && g <= OTA_ARI_MAX_AMOUNTS; g++)
        for (size_t i = 0; i < in->namounts; i++)
            if (in->amounts[i].guests == g)
                json_array_append_new(
                    amounts, json_pack("{s:i, s:s}", "guests", g, "amount", in->amounts[i].amount));
    return dump(json_pack("{s:s, s:o}", "currency", in->currency, "amounts", amounts));
}

static char *restrictions_payload(const struct ota_avail_input *in, int *fields)
{
    json_t *o = json_object();
    *fields = 0;
    if (in->status && (*fields |= OTA_ARI_F_STATUS))
        json_object_set_new(o, "status", json_string(in->status));
    if (in->min_los && (*fields |= OTA_ARI_F_MIN_LOS))
        json_object_set_new(o, "minLos", json_integer(in->min_los));
    if (in->max_los && (*fields |= OTA_ARI_F_MAX_LOS))
        json_object_set_new(o, "maxLos", json_integer(in->max_los));
    if (in->cta >= 0 && (*fields |= OTA_ARI_F_CTA))
        json_object_set_new(o, "closedToArrival", json_boolean(in->cta));
    if (in->ctd >= 0 && (*fields |= OTA_ARI_F_CTD))
        json_object_set_new(o, "closedToDeparture", json_boolean(in->ctd));
    return dump(o);
}

void ota_intent_result_clear(struct ota_intent_result *r)
{
    free(r->channels);
    r->channels = NULL;
    r->nchannels = 0;
}

enum herald_err ota_updates_put_rates(struct ota_updates *u, const struct ota_rates_input *in,
                                      struct ota_intent_result *out, struct herald_error *err)
{
    memset(out, 0, sizeof(*out));
    int mask = 0;
    int rc = check_codes(in->hotel_code, in->room_type, in->rate_plan, true, err);
    if (!rc)
        rc = check_dates(in->from, in->to, err);
    if (!rc)
        rc = check_amounts(in, &mask, err);
    if (rc)
        return rc;
    struct ari_intent it = {.kind = "rates",
                            .hotel_code = in->hotel_code,
                            .room_type = in->room_type,
                            .rate_plan = in->rate_plan,
                            .from = in->from,
                            .to = in->to,
                            .weekdays = in->weekdays ? in->weekdays : 127};
    it.tpl[0] = (struct ari_tpl){ARI_RATES, mask, rates_payload(in)};
    it.ntpl = 1;
    rc = it.tpl[0].payload ? ari_fan_out(u, &it, out) : HERALD_ERR_NOMEM;
    free(it.tpl[0].payload);
    return rc;
}

enum herald_err ota_updates_put_availability(struct ota_updates *u,
                                             const struct ota_avail_input *in,
                                             struct ota_intent_result *out,
                                             struct herald_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = check_codes(in->hotel_code, in->room_type, in->rate_plan, false, err);
    if (!rc)
        rc = check_dates(in->from, in->to, err);
    if (!rc)
        rc = check_avail(in, err);
    if (rc)
        return rc;
    struct ari_intent it = {.kind = "availability",
                            .hotel_code = in->hotel_code,
                            .room_type = in->room_type,
                            .rate_plan = in->rate_plan ? in->rate_plan : "",
                            .from = in->from,
                            .to = in->to,
                            .weekdays = in->weekdays ? in->weekdays : 127};
    if (in->has_count)
        it.tpl[it.ntpl++] =
            (struct ari_tpl){ARI_INVENTORY, 0, dump(json_pack("{s:i}", "count", in->count))};
    int fields = 0;
    char *restrictions = restrictions_payload(in, &fields);
    if (fields)
        it.tpl[it.ntpl++] = (struct ari_tpl){ARI_RESTRICTIONS, fields, restrictions};
    else
        free(restrictions);
    for (size_t i = 0; i < it.ntpl; i++)
        if (!it.tpl[i].payload)
            rc = HERALD_ERR_NOMEM;
    if (!rc)
        rc = ari_fan_out(u, &it, out);
    for (size_t i = 0; i < it.ntpl; i++)
        free(it.tpl[i].payload);
    return rc;
}
