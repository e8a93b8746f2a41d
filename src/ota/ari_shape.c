/* Owns the per channel type shapes of outgoing rate and availability messages (which message
 * carries which kind, paths, headers, month batches, deltas) and the choice of one request's rows.
 */
#include <string.h>

#include "ota/ari.h"
#include "ota/updates.h"

static const char *const booking_headers[] = {"Accept-Version: 1.1",
                                              "Content-Type: application/xml", NULL};
/* by enum ari_msg */
static const char *const soap_actions[] = {NULL, "OTA_HotelRateAmountNotifRQ",
                                           "OTA_HotelAvailNotifRQ", "OTA_HotelInvCountNotifRQ"};
static const char *const alpinebits_actions[] = {NULL, NULL, NULL,
                                                 "OTA_HotelInvCountNotif:FreeRooms"};
static const char *const no_actions[] = {NULL, NULL, NULL, NULL};

static const struct ari_shape shapes[] = {
    {OTA_TYPE_BOOKING,
     {ARI_MSG_RATE_AMOUNT, ARI_MSG_AVAIL, ARI_MSG_AVAIL},
     true,
     true,
     false,
     "/", /* after the OTA root the pull uses: https://secure-supply-xml.booking.com/hotels/ota */
     booking_headers,
     no_actions},
    {OTA_TYPE_SITEMINDER,
     {ARI_MSG_RATE_AMOUNT, ARI_MSG_AVAIL, ARI_MSG_AVAIL},
     false,
     false,
     true,
     "",
     NULL,
     soap_actions},
    {OTA_TYPE_GENERIC,
     {ARI_MSG_RATE_AMOUNT, ARI_MSG_AVAIL, ARI_MSG_INV_COUNT},
     false,
     false,
     false,
     "",
     NULL,
     no_actions},
    {OTA_TYPE_ALPINEBITS,
     {ARI_MSG_NONE, ARI_MSG_NONE, ARI_MSG_INV_COUNT},
     false,
     false,
     false,
     "",
     NULL,
     alpinebits_actions},
    {OTA_TYPE_EXPEDIA,
     {ARI_MSG_NONE, ARI_MSG_NONE, ARI_MSG_NONE},
     false,
     false,
     false,
     "",
     NULL,
     no_actions},
};

const struct ari_shape *ari_shape_of(enum ota_channel_type type)
{
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        if (shapes[i].type == type)
            return &shapes[i];
    return &shapes[sizeof(shapes) / sizeof(shapes[0]) - 1];
}

static const char *const kind_names[] = {"rates", "restrictions", "inventory"};

const char *ari_kind_name(enum ari_kind k)
{
    return kind_names[k];
}

int ari_kind_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, kind_names[i]) == 0)
            return i;
    return -1;
}

const char *ari_msg_root(enum ari_msg m)
{
    switch (m) {
    case ARI_MSG_RATE_AMOUNT:
        return "OTA_HotelRateAmountNotifRQ";
    case ARI_MSG_AVAIL:
        return "OTA_HotelAvailNotifRQ";
    case ARI_MSG_INV_COUNT:
        return "OTA_HotelInvCountNotifRQ";
    default:
        return "";
    }
}

static bool same_key(const struct store_ari_update *a, const struct store_ari_update *b)
{
    return strcmp(a->kind, b->kind) == 0 && strcmp(a->room_type, b->room_type) == 0 &&
           strcmp(a->rate_plan, b->rate_plan) == 0;
}

/* Whether rows[i] stays behind a kept row: an earlier row of its key was left out. */
static bool blocked(const struct store_ari_update *rows, const bool *left, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (left[j] && same_key(&rows[j], &rows[i]))
            return true;
    return false;
}

size_t ari_pick_batch(const struct ari_shape *shape, const struct store_ari_update *rows, size_t n,
                      size_t *pick)
{
    if (n == 0)
        return 0;
    bool left[OTA_ARI_BATCH * 5] = {false};
    if (n > sizeof(left))
        n = sizeof(left);
    size_t k = 0;
    const struct store_ari_update *first = &rows[0];
    for (size_t i = 0; i < n && k < OTA_ARI_BATCH; i++) {
        bool fits = strcmp(rows[i].kind, first->kind) == 0 &&
                    strcmp(rows[i].hotel_code, first->hotel_code) == 0 &&
                    (!shape->month_batches || strncmp(rows[i].date_from, first->date_from, 7) == 0);
        if (fits && !blocked(rows, left, i))
            pick[k++] = i;
        else
            left[i] = true;
    }
    return k;
}
