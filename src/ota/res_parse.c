/* ota_res_parse (ota/reservations.h): OTA_HotelResNotifRQ, OTA_HotelResModifyNotifRQ,
 * OTA_CancelRQ and OTA_ResRetrieveRS, bare or enveloped, card data dropped before any read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "ota/res_parse_internal.h"

static const char *const status_names[] = {
    [OTA_RES_COMMIT] = "commit",     [OTA_RES_MODIFY] = "modify",
    [OTA_RES_CANCEL] = "cancel",     [OTA_RES_RESERVED] = "reserved",
    [OTA_RES_IN_HOUSE] = "in_house", [OTA_RES_CHECKED_OUT] = "checked_out",
    [OTA_RES_NO_SHOW] = "no_show",
};

const char *ota_res_status_name(enum ota_res_status s)
{
    return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s]
                                                                        : "commit";
}

static const struct {
    const char *text;
    enum ota_res_status status;
} status_words[] = {
    {"Commit", OTA_RES_COMMIT},
    {"Book", OTA_RES_COMMIT},
    {"Booked", OTA_RES_COMMIT},
    {"Confirmed", OTA_RES_COMMIT},
    {"New", OTA_RES_COMMIT},
    {"Requested", OTA_RES_RESERVED},
    {"Initiate", OTA_RES_COMMIT},
    {"Modify", OTA_RES_MODIFY},
    {"Modified", OTA_RES_MODIFY},
    {"Cancel", OTA_RES_CANCEL},
    {"Cancelled", OTA_RES_CANCEL},
    {"Canceled", OTA_RES_CANCEL},
    {"Reserved", OTA_RES_COMMIT},
    {"Waitlisted", OTA_RES_RESERVED},
    {"In-house", OTA_RES_IN_HOUSE},
    {"InHouse", OTA_RES_IN_HOUSE},
    {"Checked-In", OTA_RES_IN_HOUSE},
    {"Checked-Out", OTA_RES_CHECKED_OUT},
    {"CheckedOut", OTA_RES_CHECKED_OUT},
    {"No-show", OTA_RES_NO_SHOW},
    {"NoShow", OTA_RES_NO_SHOW},
};

static bool status_from(const char *text, enum ota_res_status *out)
{
    for (size_t i = 0; text && i < sizeof(status_words) / sizeof(status_words[0]); i++)
        if (strcasecmp(text, status_words[i].text) == 0) {
            *out = status_words[i].status;
            return true;
        }
    return false;
}

static bool is_pms_state(enum ota_res_status s)
{
    return s == OTA_RES_RESERVED || s == OTA_RES_IN_HOUSE || s == OTA_RES_CHECKED_OUT ||
           s == OTA_RES_NO_SHOW;
}

/* A cancellation anywhere wins; then a PMS state on the reservation; then the root's
 * transaction status (SiteMinder: Commit/Modify/Cancel); then the reservation's; then what the
 * message kind implies. */
static enum ota_res_status pick_status(const xmlNode *el, enum ota_msg_kind kind,
                                       const char *root_status)
{
    char own[32];
    enum ota_res_status s_own, s_root;
    bool has_own = ota_xml_attr(el, "ResStatus", own, sizeof(own)) && status_from(own, &s_own);
    bool has_root = status_from(root_status, &s_root);
    if ((has_own && s_own == OTA_RES_CANCEL) || (has_root && s_root == OTA_RES_CANCEL) ||
        kind == OTA_MSG_CANCEL)
        return OTA_RES_CANCEL;
    if (has_own && is_pms_state(s_own))
        return s_own;
    if (has_root)
        return s_root;
    if (has_own)
        return s_own;
    return kind == OTA_MSG_RES_MODIFY_NOTIF ? OTA_RES_MODIFY : OTA_RES_COMMIT;
}

/* Types that never name the channel's reservation: 3 (Herald's own), 13 (an internet broker
 * or campaign, AlpineBits), 16 (a message id). */
static bool foreign_type(const char *type)
{
    return strcmp(type, "3") == 0 || strcmp(type, "13") == 0 || strcmp(type, "16") == 0;
}

/* The first id among `list`'s `item` elements whose type attribute is `want` (NULL: any type
 * but a foreign one). */
static bool id_of_type(const xmlNode *list, const char *item, const char *type_attr,
                       const char *id_attr, const char *want, char *out, size_t cap)
{
    char type[8];
    for (xmlNode *u = ota_xml_child(list, item); u; u = ota_xml_next(u, item)) {
        ota_xml_attr(u, type_attr, type, sizeof(type));
        bool match = want ? strcmp(type, want) == 0 : !foreign_type(type);
        if (match && ota_xml_attr(u, id_attr, out, cap) && *out)
            return true;
    }
    return false;
}

/* The channel's reservation id: UniqueID Type 14 (reservation), then 15 (AlpineBits: the
 * cancellation of that reservation, same id), then HotelReservationID ResID_Type 14, then any
 * other HotelReservationID or UniqueID of a type that is not foreign. */
static bool pick_res_id(const xmlNode *el, char *out, size_t cap)
{
    const xmlNode *ids = ota_xml_path(el, "ResGlobalInfo/HotelReservationIDs");
    return id_of_type(el, "UniqueID", "Type", "ID", "14", out, cap) ||
           id_of_type(el, "UniqueID", "Type", "ID", "15", out, cap) ||
           id_of_type(ids, "HotelReservationID", "ResID_Type", "ResID_Value", "14", out, cap) ||
           id_of_type(ids, "HotelReservationID", "ResID_Type", "ResID_Value", NULL, out, cap) ||
           id_of_type(el, "UniqueID", "Type", "ID", NULL, out, cap);
}

static void pick_hotel_code(const xmlNode *el, char *out, size_t cap)
{
    const char *paths[] = {"RoomStays/RoomStay/BasicPropertyInfo",
                           "ResGlobalInfo/BasicPropertyInfo", "BasicPropertyInfo",
                           "Verification/TPA_Extensions/BasicPropertyInfo",
                           "Verification/BasicPropertyInfo"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (ota_xml_attr(ota_xml_path(el, paths[i]), "HotelCode", out, cap) && *out)
            return;
    if (ota_xml_attr(el, "HotelCode", out, cap) && *out)
        return;
    ota_xml_attr(ota_xml_find(el, "HotelRef"), "HotelCode", out, cap);
}

/* POS/Source/BookingChannel/CompanyName (text, else Code), on the reservation or the root. */
static void pick_booking_channel(const xmlNode *el, char *out, size_t cap)
{
    const xmlNode *scopes[] = {el, el->parent ? el->parent->parent : NULL};
    for (size_t i = 0; i < 2; i++) {
        const xmlNode *cn = ota_xml_path(scopes[i], "POS/Source/BookingChannel/CompanyName");
        if (ota_xml_text(cn, out, cap) || (ota_xml_attr(cn, "Code", out, cap) && *out))
            return;
    }
    const xmlNode *ta = ota_xml_path(el, "ResGlobalInfo/Profiles/ProfileInfo/Profile/CompanyInfo/"
                                         "CompanyName");
    if (!ota_xml_text(ta, out, cap))
        ota_xml_attr(ta, "Code", out, cap);
}

static void stay_from_verification(const xmlNode *el, struct ota_reservation *r)
{
    const xmlNode *span = ota_xml_path(el, "Verification/ReservationTimeSpan");
    char a[40], d[40], da[OTA_DATE_LEN], dd[OTA_DATE_LEN];
    if (ota_xml_attr(span, "Start", a, sizeof(a)) && ota_xml_attr(span, "End", d, sizeof(d)) &&
        ota_parse_date(a, da) && ota_parse_date(d, dd) && strcmp(da, dd) <= 0) {
        memcpy(r->arrival, da, OTA_DATE_LEN);
        memcpy(r->departure, dd, OTA_DATE_LEN);
    }
}

/* Appends the text of every Comment and SpecialRequest under el, one per line. */
static enum herald_err collect_comments(const xmlNode *el, char **out)
{
    struct buf b;
    buf_init(&b, OTA_COMMENTS_MAX + 1);
    const xmlNode *cur = el->children;
    while (cur) {
        bool take = ota_xml_is(cur, "Comment") || ota_xml_is(cur, "SpecialRequest");
        if (take) {
            char *t = ota_xml_text_dup(cur, OTA_COMMENTS_MAX);
            if (t && (b.len == 0 || !buf_append_str(&b, "\n")))
                buf_append_str(&b, t); /* past the cap: the rest is dropped */
            free(t);
        } else if (cur->type == XML_ELEMENT_NODE && cur->children) {
            cur = cur->children;
            continue;
        }
        while (cur && cur != el && !cur->next)
            cur = cur->parent;
        cur = (cur && cur != el) ? cur->next : NULL;
    }
    *out = NULL;
    if (b.len == 0) {
        buf_free(&b);
        return HERALD_OK;
    }
    size_t len;
    enum herald_err rc = buf_steal(&b, out, &len);
    if (!rc)
        ota_mask_card_runs(*out);
    return rc;
}

/* xs:dateTime as channels write it: with Z, ±HH:MM, ±HHMM or no zone (taken as UTC). */
static int64_t parse_ts(const xmlNode *el, const char *attr)
{
    char v[48], fixed[56];
    int64_t ms = 0;
    if (!ota_xml_attr(el, attr, v, sizeof(v)) || strlen(v) < 19)
        return 0;
    if (!clock_parse_iso(v, &ms))
        return ms;
    size_t n = strlen(v);
    if ((v[n - 5] == '+' || v[n - 5] == '-') && strspn(v + n - 4, "0123456789") == 4)
        snprintf(fixed, sizeof(fixed), "%.*s%.3s:%s", (int)(n - 4), v, v + n - 4, v + n - 2);
    else
        snprintf(fixed, sizeof(fixed), "%sZ", v);
    return clock_parse_iso(fixed, &ms) ? 0 : ms;
}

enum herald_err ota_parse_reservation(const xmlNode *el, enum ota_msg_kind kind,
                                      const char *root_status, const char *path,
                                      struct ota_reservation *r, struct herald_error *err)
{
    memset(r, 0, sizeof(*r));
    r->status = pick_status(el, kind, root_status);
    if (!pick_res_id(el, r->res_id, sizeof(r->res_id)))
        return herald_error_set(err, HERALD_ERR_INVALID, path,
                                "%s has no reservation id (UniqueID or HotelReservationID)", path);
    pick_hotel_code(el, r->hotel_code, sizeof(r->hotel_code));
    enum herald_err rc = ota_parse_rooms(el, path, r, err);
    if (rc)
        return rc;
    if (!r->nrooms) /* OTA_CancelRQ: the stay is in Verification */
        stay_from_verification(el, r);
    pick_booking_channel(el, r->booking_channel, sizeof(r->booking_channel));
    ota_mask_card_runs(r->booking_channel);
    ota_parse_guest(el, &r->guest);
    rc = collect_comments(el, &r->comments);
    if (rc)
        return rc;
    r->created_ms = parse_ts(el, "CreateDateTime");
    r->modified_ms = parse_ts(el, "LastModifyDateTime");
    r->kind = kind;
    ota_reservation_compute_key(r);
    return HERALD_OK;
}

static const struct {
    const char *root;
    enum ota_msg_kind kind;
    const char *list, *item; /* where the reservations are under the root */
} kinds[] = {
    {"OTA_HotelResNotifRQ", OTA_MSG_RES_NOTIF, "HotelReservations", "HotelReservation"},
    {"OTA_HotelResModifyNotifRQ", OTA_MSG_RES_MODIFY_NOTIF, "HotelResModifies", "HotelResModify"},
    {"OTA_CancelRQ", OTA_MSG_CANCEL, NULL, NULL},
    {"OTA_ResRetrieveRS", OTA_MSG_RES_RETRIEVE, "ReservationsList", "HotelReservation"},
};

/* An RS carrying <Errors>: the channel refused; say what it said (codes only). */
static enum herald_err rs_errors(const xmlNode *root, struct herald_error *err)
{
    const xmlNode *e = ota_xml_path(root, "Errors/Error");
    if (!e)
        return HERALD_OK;
    char type[8], code[16];
    ota_xml_attr(e, "Type", type, sizeof(type));
    ota_xml_attr(e, "Code", code, sizeof(code));
    return herald_error_set(err, HERALD_ERR_UPSTREAM, "Errors",
                            "the channel answered with OpenTravel Errors (Type %s, Code %s)",
                            type[0] ? type : "?", code[0] ? code : "?");
}

static enum herald_err parse_items(const xmlNode *root, size_t k, struct ota_res_message *out,
                                   struct herald_error *err)
{
    char root_status[32];
    ota_xml_attr(root, "ResStatus", root_status, sizeof(root_status));
    const xmlNode *list = kinds[k].list ? ota_xml_child(root, kinds[k].list) : NULL;
    /* Booking.com's modifications come as HotelResModify; some senders reuse HotelReservation. */
    const char *item = kinds[k].item;
    if (list && kinds[k].kind == OTA_MSG_RES_MODIFY_NOTIF && !ota_xml_count(list, item))
        item = "HotelReservation";
    if (!list && kinds[k].kind == OTA_MSG_RES_MODIFY_NOTIF) {
        list = ota_xml_child(root, "HotelReservations");
        item = "HotelReservation";
    }
    size_t n = kinds[k].list ? ota_xml_count(list, item) : 1;
    if (n == 0 && kinds[k].kind != OTA_MSG_RES_RETRIEVE)
        return herald_error_set(err, HERALD_ERR_INVALID, kinds[k].root, "%s carries no reservation",
                                kinds[k].root);
    out->items = n ? calloc(n, sizeof(*out->items)) : NULL;
    if (n && !out->items)
        return HERALD_ERR_NOMEM;
    const xmlNode *el = kinds[k].list ? ota_xml_child(list, item) : root;
    for (size_t i = 0; i < n; i++, el = ota_xml_next(el, item)) {
        char path[96];
        snprintf(path, sizeof(path), "%s[%zu]", kinds[k].list ? item : kinds[k].root, i);
        out->n = i + 1;
        enum herald_err rc =
            ota_parse_reservation(el, kinds[k].kind, root_status, path, &out->items[i], err);
        if (rc)
            return rc;
    }
    return HERALD_OK;
}

enum herald_err ota_res_parse(const char *xml, size_t len, size_t max_bytes,
                              struct ota_res_message *out, struct herald_error *err)
{
    memset(out, 0, sizeof(*out));
    struct ota_xml_limits lim = {.max_bytes = max_bytes};
    struct ota_xml_doc *doc = NULL;
    enum herald_err rc = ota_xml_parse(xml, len, &lim, &doc, err);
    if (rc)
        return rc;
    rc = ota_res_parse_doc(doc, out, err);
    ota_xml_free(doc);
    return rc;
}

enum herald_err ota_res_parse_doc(struct ota_xml_doc *doc, struct ota_res_message *out,
                                  struct herald_error *err)
{
    memset(out, 0, sizeof(*out));
    enum herald_err rc;
    xmlNode *root = ota_xml_body(doc);
    ota_scrub_payment(root);
    snprintf(out->root_name, sizeof(out->root_name), "%s", ota_xml_name(root));
    out->soap = ota_xml_soap(doc) != OTA_SOAP_NONE;
    ota_xml_attr(root, "EchoToken", out->echo_token, sizeof(out->echo_token));
    size_t k = 0;
    while (k < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[k].root, out->root_name) != 0)
        k++;
    if (k == sizeof(kinds) / sizeof(kinds[0])) {
        rc = herald_error_set(err, HERALD_ERR_INVALID, out->root_name,
                              "%s is not a reservation message", out->root_name);
    } else {
        out->kind = kinds[k].kind;
        rc = kinds[k].kind == OTA_MSG_RES_RETRIEVE ? rs_errors(root, err) : HERALD_OK;
        if (!rc)
            rc = parse_items(root, k, out, err);
    }
    if (rc)
        ota_res_message_free(out);
    return rc;
}

void ota_reservation_clear(struct ota_reservation *r)
{
    free(r->rooms);
    free(r->comments);
    memset(r, 0, sizeof(*r));
}

void ota_res_message_free(struct ota_res_message *msg)
{
    if (!msg)
        return;
    for (size_t i = 0; i < msg->n; i++)
        ota_reservation_clear(&msg->items[i]);
    free(msg->items);
    msg->items = NULL;
    msg->n = 0;
}
