/* Rates and availability out (ota/ari_*.c, ota/updates.c, store/ota_updates.c): the messages
 * built per kind (read back with the hardened reader), the choice of one request's rows (month
 * batches, order per key), the reading of answers (per-item errors, warnings, what is
 * transient), dates, and the outbox operations (supersession, Booking.com deltas, the channel
 * lease) on SQLite and (with HERALD_TEST_PG_URL) PostgreSQL. */
#include "unit.h"
#include "unit_db.h"

#include "base/clock.h"
#include "ota/ari.h"
#include "ota/updates.h"
#include "ota/xml.h"
#include "store/internal.h"
#include "store/ota_updates.h"
#include "store/store.h"

static struct store_ari_update row(int64_t id, const char *kind, const char *room, const char *from,
                                   const char *to, const char *payload)
{
    struct store_ari_update u = {.id = id, .weekdays = 127, .payload = (char *)payload};
    snprintf(u.kind, sizeof(u.kind), "%s", kind);
    snprintf(u.hotel_code, sizeof(u.hotel_code), "H&1");
    snprintf(u.room_type, sizeof(u.room_type), "%s", room);
    snprintf(u.rate_plan, sizeof(u.rate_plan), "BAR");
    snprintf(u.date_from, sizeof(u.date_from), "%s", from);
    snprintf(u.date_to, sizeof(u.date_to), "%s", to);
    return u;
}

static struct ota_xml_doc *build(enum ari_msg msg, const struct store_ari_update *rows, size_t n)
{
    const struct store_ari_update *items[8];
    for (size_t i = 0; i < n; i++)
        items[i] = &rows[i];
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(ari_build(msg, rows[0].hotel_code, items, n, 1790000000000, &b), HERALD_OK);
    struct ota_xml_doc *doc = NULL;
    struct herald_error err = {0};
    assert_int_equal(ota_xml_parse(b.data, b.len, NULL, &doc, &err), HERALD_OK);
    buf_free(&b);
    return doc;
}

static void attr_is(const xmlNode *n, const char *name, const char *want)
{
    char v[128];
    assert_true(ota_xml_attr(n, name, v, sizeof(v)));
    assert_string_equal(v, want);
}

static void test_rate_amount(void **state)
{
    (void)state;
    struct store_ari_update rows[2] = {
        row(1, "rates", "DBL", "2027-01-01", "2027-01-31",
            "{\"amounts\":[{\"amount\":\"99.50\",\"guests\":1},{\"amount\":\"120.00\",\"guests\":2}"
            "]"
            ",\"currency\":\"EUR\"}"),
        row(2, "rates", "SGL", "2027-01-05", "2027-01-05",
            "{\"amounts\":[{\"amount\":\"80\",\"guests\":1}],\"currency\":\"CHF\"}"),
    };
    rows[1].weekdays = 1 | 16; /* Monday, Friday */
    struct ota_xml_doc *doc = build(ARI_MSG_RATE_AMOUNT, rows, 2);
    xmlNode *root = ota_xml_body(doc);
    assert_string_equal(ota_xml_name(root), "OTA_HotelRateAmountNotifRQ");
    assert_string_equal((const char *)root->ns->href, OTA_NS);
    xmlNode *box = ota_xml_child(root, "RateAmountMessages");
    attr_is(box, "HotelCode", "H&1");
    assert_int_equal(ota_xml_count(box, "RateAmountMessage"), 2);
    xmlNode *m = ota_xml_child(box, "RateAmountMessage");
    attr_is(m, "LocatorID", "1");
    xmlNode *sac = ota_xml_child(m, "StatusApplicationControl");
    attr_is(sac, "Start", "2027-01-01");
    attr_is(sac, "End", "2027-01-31");
    attr_is(sac, "InvTypeCode", "DBL");
    attr_is(sac, "RatePlanCode", "BAR");
    assert_false(ota_xml_has_attr(sac, "Mon"));
    xmlNode *amt = ota_xml_path(m, "Rates/Rate/BaseByGuestAmts/BaseByGuestAmt");
    attr_is(amt, "AmountAfterTax", "99.50");
    attr_is(amt, "CurrencyCode", "EUR");
    attr_is(amt, "NumberOfGuests", "1");
    amt = ota_xml_next(amt, "BaseByGuestAmt");
    attr_is(amt, "NumberOfGuests", "2");
    m = ota_xml_next(m, "RateAmountMessage");
    sac = ota_xml_child(m, "StatusApplicationControl");
    attr_is(sac, "Mon", "true");
    attr_is(sac, "Tue", "false");
    attr_is(sac, "Fri", "true");
    attr_is(sac, "Sun", "false");
    ota_xml_free(doc);
}

static void test_avail_and_inventory(void **state)
{
    (void)state;
    struct store_ari_update rows[2] = {
        row(1, "restrictions", "DBL", "2027-02-01", "2027-02-03",
            "{\"closedToArrival\":true,\"maxLos\":9,\"minLos\":2,\"status\":\"close\"}"),
        row(2, "inventory", "DBL", "2027-02-01", "2027-02-03", "{\"count\":7}"),
    };
    rows[0].fields = OTA_ARI_F_STATUS | OTA_ARI_F_MIN_LOS | OTA_ARI_F_MAX_LOS | OTA_ARI_F_CTA;
    struct ota_xml_doc *doc = build(ARI_MSG_AVAIL, rows, 2);
    xmlNode *box = ota_xml_child(ota_xml_body(doc), "AvailStatusMessages");
    /* the room-rate's status and LOS, then the arrival restriction, then the count */
    assert_int_equal(ota_xml_count(box, "AvailStatusMessage"), 3);
    xmlNode *m = ota_xml_child(box, "AvailStatusMessage");
    attr_is(m, "LocatorID", "1");
    xmlNode *los = ota_xml_path(m, "LengthsOfStay/LengthOfStay");
    attr_is(los, "MinMaxMessageType", "SetMinLOS");
    attr_is(los, "Time", "2");
    attr_is(ota_xml_next(los, "LengthOfStay"), "Time", "9");
    attr_is(ota_xml_child(m, "RestrictionStatus"), "Status", "Close");
    m = ota_xml_next(m, "AvailStatusMessage");
    attr_is(m, "LocatorID", "1");
    attr_is(ota_xml_child(m, "RestrictionStatus"), "Restriction", "Arrival");
    attr_is(ota_xml_child(m, "RestrictionStatus"), "Status", "Close");
    m = ota_xml_next(m, "AvailStatusMessage");
    attr_is(m, "LocatorID", "2");
    attr_is(m, "BookingLimit", "7");
    assert_false(ota_xml_has_attr(ota_xml_child(m, "StatusApplicationControl"), "RatePlanCode"));
    ota_xml_free(doc);

    doc = build(ARI_MSG_INV_COUNT, &rows[1], 1);
    xmlNode *inv = ota_xml_path(ota_xml_body(doc), "Inventories/Inventory");
    attr_is(ota_xml_path(inv, "InvCounts/InvCount"), "Count", "7");
    attr_is(ota_xml_path(inv, "InvCounts/InvCount"), "CountType", "2");
    attr_is(ota_xml_child(ota_xml_body(doc), "Inventories"), "HotelCode", "H&1");
    ota_xml_free(doc);

    struct store_ari_update bad = row(3, "rates", "DBL", "2027-01-01", "2027-01-01", "[1]");
    const struct store_ari_update *items[] = {&bad};
    struct buf b;
    buf_init(&b, 1 << 16);
    assert_int_equal(ari_build(ARI_MSG_RATE_AMOUNT, "H", items, 1, 0, &b), HERALD_ERR_INVALID);
    buf_free(&b);
}

static void test_pick_batch(void **state)
{
    (void)state;
    struct store_ari_update rows[6] = {
        row(1, "rates", "A", "2027-01-01", "2027-01-31", "{}"),
        row(2, "rates", "A", "2027-02-01", "2027-02-28", "{}"),
        row(3, "rates", "B", "2027-01-01", "2027-01-31", "{}"),
        row(4, "inventory", "A", "2027-01-01", "2027-01-31", "{}"),
        row(5, "rates", "A", "2027-01-10", "2027-01-12", "{}"), /* after row 2: stays behind */
        row(6, "rates", "C", "2027-01-02", "2027-01-03", "{}"),
    };
    size_t pick[OTA_ARI_BATCH];
    const struct ari_shape *booking = ari_shape_of(OTA_TYPE_BOOKING);
    assert_int_equal(ari_pick_batch(booking, rows, 6, pick), 3);
    assert_int_equal(pick[0], 0);
    assert_int_equal(pick[1], 2);
    assert_int_equal(pick[2], 5);
    const struct ari_shape *generic = ari_shape_of(OTA_TYPE_GENERIC);
    assert_int_equal(ari_pick_batch(generic, rows, 6, pick), 5); /* all but the inventory */
    assert_int_equal(pick[3], 4);
    assert_int_equal(ari_pick_batch(generic, rows, 0, pick), 0);
    /* shapes: what each type carries */
    assert_int_equal(booking->msg[ARI_INVENTORY], ARI_MSG_AVAIL);
    assert_int_equal(generic->msg[ARI_INVENTORY], ARI_MSG_INV_COUNT);
    assert_int_equal(ari_shape_of(OTA_TYPE_ALPINEBITS)->msg[ARI_RATES], ARI_MSG_NONE);
    assert_int_equal(ari_shape_of(OTA_TYPE_EXPEDIA)->msg[ARI_INVENTORY], ARI_MSG_NONE);
}

static enum ari_reply_kind read(long status, const char *body, struct ari_item_result *items,
                                size_t n, char *why)
{
    memset(items, 0, n * sizeof(*items));
    return ari_read_reply(status, body, body ? strlen(body) : 0, n, items, why, 256);
}

static void test_read_reply(void **state)
{
    (void)state;
    struct ari_item_result it[3];
    char why[256];
    const char *ok = "<OTA_HotelRateAmountNotifRS xmlns=\"" OTA_NS "\"><Success/><Warnings>"
                     "<Warning Type=\"11\" Code=\"15\" RPH=\"2\">past</Warning></Warnings>"
                     "</OTA_HotelRateAmountNotifRS>";
    assert_int_equal(read(200, ok, it, 3, why), ARI_REPLY_DONE);
    assert_false(it[0].failed || it[1].failed || it[2].failed);
    assert_null(it[0].warnings);
    assert_int_equal(json_array_size(it[1].warnings), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(it[1].warnings, 0), "text")), "past");
    ari_items_clear(it, 3);

    const char *soap_err =
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
        "<OTA_HotelAvailNotifRS xmlns=\"" OTA_NS "\"><Errors><Error Type=\"3\" Code=\"402\" "
        "RecordID=\"3\" ShortText=\"Invalid room type\"/></Errors></OTA_HotelAvailNotifRS>"
        "</s:Body></s:Envelope>";
    assert_int_equal(read(200, soap_err, it, 3, why), ARI_REPLY_DONE);
    assert_false(it[0].failed || it[1].failed);
    assert_true(it[2].failed);
    json_t *e = json_array_get(it[2].errors, 0);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "402");
    assert_string_equal(json_string_value(json_object_get(e, "text")), "Invalid room type");
    ari_items_clear(it, 3);

    const char *all = "<X xmlns=\"" OTA_NS "\"><Errors><Error Type=\"3\" Code=\"392\">hotel"
                      "</Error></Errors></X>";
    assert_int_equal(read(200, all, it, 2, why), ARI_REPLY_DONE);
    assert_true(it[0].failed && it[1].failed);
    ari_items_clear(it, 2);

    const char *down = "<X xmlns=\"" OTA_NS "\"><Errors><Error Type=\"12\" Code=\"187\"/>"
                       "</Errors></X>";
    assert_int_equal(read(200, down, it, 2, why), ARI_REPLY_TRANSIENT);
    assert_int_equal(read(200, "<html>", it, 2, why), ARI_REPLY_TRANSIENT);
    assert_int_equal(read(200, "<X><Nothing/></X>", it, 2, why), ARI_REPLY_TRANSIENT);
    assert_int_equal(read(503, NULL, it, 2, why), ARI_REPLY_TRANSIENT);
    assert_string_equal(why, "HTTP 503");
    assert_int_equal(read(429, NULL, it, 2, why), ARI_REPLY_TRANSIENT);
    assert_int_equal(read(0, NULL, it, 2, why), ARI_REPLY_TRANSIENT);
    const char *doctype = "<!DOCTYPE x [<!ENTITY a \"b\">]><X><Success/></X>";
    assert_int_equal(read(200, doctype, it, 2, why), ARI_REPLY_TRANSIENT);
    assert_int_equal(read(400, all, it, 2, why), ARI_REPLY_DONE);
    assert_true(it[0].failed && it[1].failed);
    assert_string_equal(json_string_value(json_object_get(json_array_get(it[0].errors, 0), "code")),
                        "392");
    ari_items_clear(it, 2);
    /* The channel's set-up, not the items: nothing failed, the reason (with what the channel
     * said) for whoever fixes it. */
    assert_int_equal(read(401, "", it, 1, why), ARI_REPLY_CHANNEL);
    assert_false(it[0].failed);
    assert_null(it[0].errors);
    assert_string_equal(why, "the channel refused Herald's credentials (HTTP 401)");
    const char *denied = "<X xmlns=\"" OTA_NS "\"><Errors><Error Type=\"4\" Code=\"497\">"
                         "Authorization error</Error></Errors></X>";
    assert_int_equal(read(403, denied, it, 2, why), ARI_REPLY_CHANNEL);
    assert_false(it[0].failed || it[1].failed);
    assert_null(it[0].errors);
    assert_string_equal(why,
                        "the channel refused Herald's credentials (HTTP 403: 4/497 Authorization "
                        "error)");
    assert_int_equal(read(404, "<html>", it, 1, why), ARI_REPLY_CHANNEL);
    assert_string_equal(why, "the channel has no such endpoint (HTTP 404)");
    assert_int_equal(read(408, NULL, it, 1, why), ARI_REPLY_TRANSIENT);
    assert_int_equal(read(422, "", it, 1, why), ARI_REPLY_DONE);
    assert_true(it[0].failed);
    assert_string_equal(json_string_value(json_object_get(json_array_get(it[0].errors, 0), "text")),
                        "HTTP 422");
    ari_items_clear(it, 1);
}

static void test_dates(void **state)
{
    (void)state;
    assert_true(ota_date_valid("2028-02-29"));
    assert_false(ota_date_valid("2027-02-29"));
    assert_false(ota_date_valid("2027-13-01"));
    assert_false(ota_date_valid("2027-1-01"));
    assert_false(ota_date_valid("27-01-01xx"));
    assert_false(ota_date_valid(NULL));
    assert_int_equal(ota_weekday_bit("mon"), 1);
    assert_int_equal(ota_weekday_bit("sunday"), 64);
    assert_int_equal(ota_weekday_bit("sundays"), 0);
    assert_int_equal(ota_weekday_bit("xyz"), 0);
}

/* ---- the outbox on a real store ---- */

static char db_url[512];

static int seed(struct store_conn *c, void *arg)
{
    (void)arg;
    int rc = store_exec(c, "INSERT INTO ota_channels (id, name, type, mode, hotel_code, "
                           "created_at_ms, updated_at_ms) VALUES (1, 'c1', 'booking', 'push', "
                           "'H', 0, 0)");
    int64_t id;
    return rc ? rc
              : store_ari_intent_insert(c, "rates", "H", "A", "BAR", "2027-01-01", "2027-01-31",
                                        "{}", 1, &id);
}

struct step {
    struct store_ari_update u;
    int64_t id, count;
    bool same;
};

static int insert_tx(struct store_conn *c, void *arg)
{
    struct step *s = arg;
    int rc = store_ari_update_insert(c, &s->u, 10, &s->id);
    return rc ? rc : store_ari_supersede(c, &s->u, s->id, 10, &s->count);
}

static int unchanged_tx(struct store_conn *c, void *arg)
{
    struct step *s = arg;
    return store_ari_unchanged(c, &s->u, &s->same);
}

static int64_t put_row(struct store *st, const char *from, const char *to, int fields,
                       const char *payload, int64_t *superseded)
{
    struct step s = {.u = row(0, "rates", "A", from, to, payload)};
    s.u.intent_id = 1;
    s.u.channel_id = 1;
    s.u.fields = fields;
    assert_int_equal(store_run_tx(st, insert_tx, &s), HERALD_OK);
    *superseded = s.count;
    return s.id;
}

static bool unchanged(struct store *st, const char *from, const char *to, int fields,
                      const char *payload)
{
    struct step s = {.u = row(0, "rates", "A", from, to, payload)};
    s.u.channel_id = 1;
    s.u.fields = fields;
    assert_int_equal(store_run_read(st, unchanged_tx, &s), HERALD_OK);
    return s.same;
}

struct lease {
    struct store_ari_state st;
    struct store_ari_update *rows;
    size_t n;
    const char *ids, *status;
    int64_t id;
};

static int lock_tx(struct store_conn *c, void *arg)
{
    struct lease *l = arg;
    store_ari_updates_free(l->rows, l->n);
    l->rows = NULL;
    int rc = store_ari_state_lock(c, 1, 5, &l->st);
    if (!rc)
        rc = store_ari_pending(c, 1, 10, &l->rows, &l->n);
    if (!rc && l->ids)
        rc = store_ari_mark_sending(c, 1, l->ids, 6);
    if (!rc && l->status)
        rc = store_ari_outcome(c, l->id, l->status, "[{\"code\":\"402\"}]", "[]", 7);
    return rc;
}

struct listing {
    struct store_ari_filter f;
    struct store_ari_update *rows;
    size_t n;
};

static int list_tx(struct store_conn *c, void *arg)
{
    struct listing *l = arg;
    store_ari_updates_free(l->rows, l->n);
    l->rows = NULL;
    l->n = 0;
    return store_ari_list(c, &l->f, 0, 50, &l->rows, &l->n);
}

/* The rows a, b, c superseded by d, and d delivered with the error it was given. */
static void check_listing(struct store *st, int64_t a, int64_t b, int64_t c, int64_t d)
{
    struct listing la = {.f = {.status = "superseded"}};
    assert_int_equal(store_run_read(st, list_tx, &la), HERALD_OK);
    assert_int_equal(la.n, 3);
    assert_int_equal(la.rows[0].id, a);
    assert_int_equal(la.rows[1].id, b);
    assert_int_equal(la.rows[2].id, c);
    assert_int_equal(la.rows[0].superseded_by, d);
    assert_string_equal(la.rows[0].channel_name, "c1");
    store_ari_updates_free(la.rows, la.n);
    la = (struct listing){.f = {.status = "delivered", .hotel_code = "H&1"}};
    assert_int_equal(store_run_read(st, list_tx, &la), HERALD_OK);
    assert_int_equal(la.n, 1);
    assert_int_equal(la.rows[0].id, d);
    assert_int_equal(la.rows[0].attempts, 1);
    assert_string_equal(la.rows[0].errors, "[{\"code\":\"402\"}]");
    store_ari_updates_free(la.rows, la.n);
}

static void test_outbox(void **state)
{
    (void)state;
    struct store_opts so = {db_url, 1, 2, false};
    struct store *st;
    assert_int_equal(store_open(&so, &st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    assert_int_equal(store_run_tx(st, seed, NULL), HERALD_OK);
    const char *p100 = "{\"amounts\":[{\"amount\":\"100\",\"guests\":2}],\"currency\":\"EUR\"}";
    const char *p110 = "{\"amounts\":[{\"amount\":\"110\",\"guests\":2}],\"currency\":\"EUR\"}";
    int64_t sup;
    int64_t a = put_row(st, "2027-01-10", "2027-01-20", 2, p100, &sup);
    assert_int_equal(sup, 0);
    int64_t b = put_row(st, "2027-01-12", "2027-01-13", 2, p110, &sup);
    assert_int_equal(sup, 0); /* narrower: does not cover a */
    /* covers both dates but not guests=1 of a wider occupancy set */
    int64_t c = put_row(st, "2027-01-01", "2027-01-31", 1, p100, &sup);
    assert_int_equal(sup, 0);
    int64_t d = put_row(st, "2027-01-01", "2027-01-31", 3, p100, &sup);
    assert_int_equal(sup, 3); /* a, b and c */
    struct lease l = {0};
    assert_int_equal(store_run_tx(st, lock_tx, &l), HERALD_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rows[0].id, d);
    assert_string_equal(l.st.holder, "");
    char ids[32];
    snprintf(ids, sizeof(ids), "[%lld]", (long long)d);
    l.ids = ids;
    assert_int_equal(store_run_tx(st, lock_tx, &l), HERALD_OK);
    /* being sent: a covering update does not supersede it */
    int64_t e = put_row(st, "2027-01-01", "2027-01-31", 3, p110, &sup);
    assert_int_equal(sup, 0);
    l.ids = NULL;
    l.id = d;
    l.status = "delivered";
    assert_int_equal(store_run_tx(st, lock_tx, &l), HERALD_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rows[0].id, e);
    /* a second outcome for a row no longer being sent is refused */
    assert_int_equal(store_run_tx(st, lock_tx, &l), HERALD_ERR_NOT_FOUND);
    store_ari_updates_free(l.rows, l.n);
    /* deltas: the same values for the same dates change nothing; other values, other dates,
     * or a later overlapping row in between do */
    assert_true(unchanged(st, "2027-01-01", "2027-01-31", 3, p110));
    assert_false(unchanged(st, "2027-01-01", "2027-01-31", 3, p100));
    assert_false(unchanged(st, "2027-01-01", "2027-01-30", 3, p110));
    put_row(st, "2027-01-15", "2027-01-16", 3, p100, &sup);
    assert_false(unchanged(st, "2027-01-01", "2027-01-31", 3, p110));
    check_listing(st, a, b, c, d);
    store_close(st);
}

struct requeue {
    const char *sql;
    struct store_ari_pick pick;
    int64_t *chans;
    size_t nchans;
    int64_t requeued, left;
};

static int exec_tx(struct store_conn *c, void *arg)
{
    return store_exec(c, ((struct requeue *)arg)->sql);
}

static int requeue_tx(struct store_conn *c, void *arg)
{
    struct requeue *q = arg;
    free(q->chans);
    q->chans = NULL;
    int rc = store_ari_failed_channels(c, &q->pick, &q->chans, &q->nchans);
    return rc ? rc : store_ari_requeue(c, &q->pick, 20, &q->requeued, &q->left);
}

/* A row inserted (and superseding what it covers), then given a status by hand. */
static int64_t row_as(struct store *st, const char *from, const char *to, int fields,
                      const char *status)
{
    int64_t sup;
    int64_t id = put_row(st, from, to, fields, "{}", &sup);
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE ota_ari_updates SET status = '%s' WHERE id = %lld", status,
             (long long)id);
    struct requeue q = {.sql = sql};
    assert_int_equal(store_run_tx(st, exec_tx, &q), HERALD_OK);
    return id;
}

static const char *status_of(struct store *st, int64_t id)
{
    static char out[16];
    struct listing l = {0};
    assert_int_equal(store_run_read(st, list_tx, &l), HERALD_OK);
    out[0] = '\0';
    for (size_t i = 0; i < l.n; i++)
        if (l.rows[i].id == id)
            snprintf(out, sizeof(out), "%s", l.rows[i].status);
    store_ari_updates_free(l.rows, l.n);
    return out;
}

/* Failed rows come back unless a newer row went out over their dates or a newer pending row
 * covers them; only for a channel that takes updates. */
static void test_requeue(void **state)
{
    (void)state;
    struct store_opts so = {db_url, 1, 2, false};
    struct store *st;
    assert_int_equal(store_open(&so, &st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    assert_int_equal(store_run_tx(st, seed, NULL), HERALD_OK);
    int64_t alone = row_as(st, "2027-01-10", "2027-01-11", 1, "failed");
    int64_t sent_over = row_as(st, "2027-01-20", "2027-01-21", 1, "failed");
    row_as(st, "2027-01-21", "2027-01-22", 1, "delivered");
    int64_t covered = row_as(st, "2027-01-25", "2027-01-26", 1, "failed");
    row_as(st, "2027-01-24", "2027-01-27", 1, "pending");
    int64_t overlapped = row_as(st, "2027-01-28", "2027-01-28", 1, "failed");
    row_as(st, "2027-01-28", "2027-01-29", 2, "pending"); /* other fields: does not cover it */
    int64_t superseded = row_as(st, "2027-01-05", "2027-01-05", 1, "superseded");
    struct requeue q = {.pick = {1, NULL}};
    assert_int_equal(store_run_tx(st, requeue_tx, &q), HERALD_OK);
    assert_int_equal(q.requeued, 0); /* the channel does not take updates */
    assert_int_equal(q.left, 4);
    assert_int_equal(q.nchans, 1);
    assert_int_equal(q.chans[0], 1);
    q.sql = "UPDATE ota_channels SET takes_updates = 1";
    assert_int_equal(store_run_tx(st, exec_tx, &q), HERALD_OK);
    char ids[64];
    snprintf(ids, sizeof(ids), "[%lld]", (long long)sent_over);
    q.pick = (struct store_ari_pick){0, ids};
    assert_int_equal(store_run_tx(st, requeue_tx, &q), HERALD_OK);
    assert_int_equal(q.requeued, 0);
    assert_int_equal(q.left, 1);
    q.pick = (struct store_ari_pick){1, NULL};
    assert_int_equal(store_run_tx(st, requeue_tx, &q), HERALD_OK);
    assert_int_equal(q.requeued, 2);
    assert_int_equal(q.left, 2);
    assert_string_equal(status_of(st, alone), "pending");
    assert_string_equal(status_of(st, overlapped), "pending");
    assert_string_equal(status_of(st, sent_over), "failed");
    assert_string_equal(status_of(st, covered), "failed");
    assert_string_equal(status_of(st, superseded), "superseded");
    free(q.chans);
    store_close(st);
}

struct within {
    struct store_ari_update *rows;
    size_t n;
};

static int within_tx(struct store_conn *c, void *arg)
{
    struct within *w = arg;
    store_ari_updates_free(w->rows, w->n);
    w->rows = NULL;
    w->n = 0;
    return store_ari_pending_within(c, 1, "rates", "H&1", "2027-01-01", "2027-01-31", 100, &w->rows,
                                    &w->n);
}

/* Booking.com month batches: every room-rate of the month, but a key whose older row lies in
 * another month waits for it. */
static void test_month_rows(void **state)
{
    (void)state;
    struct store_opts so = {db_url, 1, 2, false};
    struct store *st;
    assert_int_equal(store_open(&so, &st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    assert_int_equal(store_run_tx(st, seed, NULL), HERALD_OK);
    const char *rooms[] = {"A", "B", "A", "C", "B", "C"};
    const char *dates[][2] = {{"2027-01-01", "2027-01-31"}, {"2027-02-01", "2027-02-28"},
                              {"2027-02-01", "2027-02-10"}, {"2027-01-05", "2027-01-06"},
                              {"2027-01-01", "2027-01-31"}, {"2027-01-10", "2027-01-11"}};
    int64_t ids[6];
    for (int i = 0; i < 6; i++) {
        struct step s = {.u = row(0, "rates", rooms[i], dates[i][0], dates[i][1], "{}")};
        s.u.intent_id = 1;
        s.u.channel_id = 1;
        s.u.fields = 1 << i; /* never covering each other */
        assert_int_equal(store_run_tx(st, insert_tx, &s), HERALD_OK);
        ids[i] = s.id;
    }
    struct within w = {0};
    assert_int_equal(store_run_read(st, within_tx, &w), HERALD_OK);
    /* A's January, C's two January rows; B's January waits behind its February row */
    assert_int_equal(w.n, 3);
    assert_int_equal(w.rows[0].id, ids[0]);
    assert_int_equal(w.rows[1].id, ids[3]);
    assert_int_equal(w.rows[2].id, ids[5]);
    store_ari_updates_free(w.rows, w.n);
    store_close(st);
}

static int setup_sqlite(void **state)
{
    (void)state;
    unit_sqlite_url("ari", db_url, sizeof(db_url));
    return 0;
}

static int setup_postgres(void **state)
{
    (void)state;
    unit_pg_url("ari", db_url, sizeof(db_url));
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_amount),
        cmocka_unit_test(test_avail_and_inventory),
        cmocka_unit_test(test_pick_batch),
        cmocka_unit_test(test_read_reply),
        cmocka_unit_test(test_dates),
        cmocka_unit_test_setup(test_outbox, setup_sqlite),
        cmocka_unit_test_setup(test_month_rows, setup_sqlite),
        cmocka_unit_test_setup(test_requeue, setup_sqlite),
    };
    int failed = cmocka_run_group_tests_name("ota ari", tests, NULL, NULL);
    const char *pg = getenv("HERALD_TEST_PG_URL");
    if (pg && *pg) {
        const struct CMUnitTest on_postgres[] = {
            cmocka_unit_test_setup(test_outbox, setup_postgres),
            cmocka_unit_test_setup(test_month_rows, setup_postgres),
            cmocka_unit_test_setup(test_requeue, setup_postgres),
        };
        failed +=
            cmocka_run_group_tests_name("ota ari outbox on postgres", on_postgres, NULL, NULL);
    }
    return failed;
}
