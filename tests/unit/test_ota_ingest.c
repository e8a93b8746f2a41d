/* Reservation ingestion and reads on the real store (ota/reservations.h): one transaction per
 * batch, re-deliveries recognised, events and the hook per new revision, all-or-nothing,
 * filters and paging, no card number in the database files. SQLite, and PostgreSQL when
 * HERALD_TEST_PG_URL is set. */
#include "unit.h"
#include "unit_db.h"

#include <jansson.h>

#include "ota/reservations.h"
#include "ota_fixtures.h"
#include "store/internal.h"
#include "store/store.h"

static char db_url[512];

/* ---------------------------------------------------------------- ingestion on the store */

static struct store *open_store(void)
{
    struct store_opts opts = {db_url, 1, 4, false};
    struct store *st;
    assert_int_equal(store_open(&opts, &st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    return st;
}

static int wipe(struct store_conn *c, void *arg)
{
    (void)arg;
    return store_exec(c, "DELETE FROM ota_reservation_revisions; DELETE FROM ota_reservations; "
                         "DELETE FROM event_source WHERE platform = 'ota'");
}

/* Counts through the domain's own reads: reservations (all pages) and events by SQL text. */
static size_t count_reservations(struct ota_reservations *r, const char *status)
{
    struct ota_res_query q = {.status = status, .limit = 100};
    json_t *items = NULL;
    int64_t next = 0;
    struct herald_error err = {0};
    assert_int_equal(ota_reservations_list(r, &q, &items, &next, &err), HERALD_OK);
    size_t n = json_array_size(items);
    json_decref(items);
    return n;
}

static int events_fn(struct store_conn *c, void *arg)
{
    int64_t *n = arg;
    struct store_event_filter f = {.platform = "ota", .limit = 1000};
    struct store_event *rows = NULL;
    size_t count = 0;
    enum herald_err rc = store_event_list(c, &f, &rows, &count);
    for (size_t i = 0; i < count; i++)
        assert_non_null(strstr(rows[i].event_type, "reservation"));
    store_events_free(rows, count);
    *n = (int64_t)count;
    return rc;
}

static int64_t count_events(struct store *st)
{
    int64_t n = -1;
    assert_int_equal(store_run_read(st, events_fn, &n), HERALD_OK);
    return n;
}

struct hook_state {
    int calls;
    int fail_on; /* 1-based call that refuses, 0 = never */
    int64_t last_reservation;
};

static int hook_fn(void *arg, struct store_conn *c, const struct ota_channel *ch,
                   const struct ota_reservation *res, int64_t reservation_id, int64_t revision_id,
                   bool current, int64_t now_ms)
{
    (void)c;
    (void)ch;
    (void)res;
    (void)revision_id;
    (void)current;
    (void)now_ms;
    struct hook_state *h = arg;
    h->calls++;
    h->last_reservation = reservation_id;
    return h->fail_on && h->calls == h->fail_on ? -1 : 0;
}

static void ingest_fixture(struct ota_reservations *r, const struct ota_channel *ch,
                           const char *name, enum herald_err want, struct ota_ingest_result *res,
                           size_t cap)
{
    struct ota_res_message m;
    struct herald_error err;
    assert_int_equal(parse_fixture(name, 0, &m, &err), HERALD_OK);
    assert_true(m.n <= cap);
    memset(&err, 0, sizeof(err));
    enum herald_err rc = ota_reservations_ingest(r, ch, m.items, m.n, 1800000000000, res, &err);
    if (rc != want)
        print_error("%s: %s (%s)\n", name, herald_error_message(&err), err.field);
    assert_int_equal(rc, want);
    ota_res_message_free(&m);
}

static void test_ingest(void **state)
{
    (void)state;
    struct store *st = open_store();
    assert_int_equal(store_run_tx(st, wipe, NULL), HERALD_OK);
    struct ota_reservations *r;
    assert_int_equal(ota_reservations_open(st, &r), HERALD_OK);
    struct hook_state h = {0};
    struct ota_revision_hook hook = {hook_fn, &h};
    ota_reservations_set_hook(r, &hook);
    struct ota_channel ch = {.id = 7, .type = OTA_TYPE_BOOKING, .hotel_code = "8812345"};
    struct ota_ingest_result res[2];

    ingest_fixture(r, &ch, "booking_resnotif.xml", HERALD_OK, res, 2);
    assert_false(res[0].duplicate);
    int64_t id = res[0].reservation_id, rev1 = res[0].revision_id;
    assert_true(id > 0 && rev1 > 0);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.last_reservation, id);
    /* Re-delivery (a crash before the acknowledgement): recognised, nothing written. */
    ingest_fixture(r, &ch, "booking_resnotif.xml", HERALD_OK, res, 2);
    assert_true(res[0].duplicate);
    assert_int_equal(res[0].reservation_id, id);
    assert_int_equal(res[0].revision_id, rev1);
    assert_int_equal(h.calls, 1);
    ingest_fixture(r, &ch, "booking_modify.xml", HERALD_OK, res, 2);
    assert_false(res[0].duplicate);
    assert_int_equal(res[0].reservation_id, id);
    ingest_fixture(r, &ch, "booking_cancel.xml", HERALD_OK, res, 2);
    assert_int_equal(res[0].reservation_id, id);
    assert_int_equal(h.calls, 3);
    assert_int_equal(count_events(st), 3);

    json_t *o = NULL;
    struct herald_error err = {0};
    assert_int_equal(ota_reservations_get(r, id, &o, &err), HERALD_OK);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "cancel");
    assert_int_equal(json_integer_value(json_object_get(o, "revisionCount")), 3);
    json_t *revs = json_object_get(o, "revisions");
    assert_int_equal(json_array_size(revs), 3);
    json_t *first = json_array_get(revs, 0);
    assert_string_equal(json_string_value(json_object_get(first, "message")),
                        "OTA_HotelResNotifRQ");
    assert_int_equal(json_array_size(json_object_get(first, "rooms")), 2);
    assert_string_equal(json_string_value(json_object_get(first, "total")), "773.50");
    char *dump = json_dumps(o, 0);
    assert_null(strstr(dump, "4111111111111111"));
    free(dump);
    json_decref(o);
    assert_int_equal(ota_reservations_get(r, id + 1000, &o, &err), HERALD_ERR_NOT_FOUND);

    /* An older revision delivered late is kept, but the summary stays the newest one's. */
    struct ota_res_message late;
    assert_int_equal(parse_fixture("booking_modify.xml", 0, &late, &err), HERALD_OK);
    snprintf(late.items[0].total, sizeof(late.items[0].total), "900.00");
    late.items[0].modified_ms -= 60000;
    ota_reservation_compute_key(&late.items[0]);
    int calls = h.calls;
    assert_int_equal(ota_reservations_ingest(r, &ch, late.items, 1, 1800000000000, res, &err),
                     HERALD_OK);
    assert_false(res[0].duplicate);
    assert_int_equal(h.calls, calls); /* the guest is known: the hook hears nothing of it */
    assert_int_equal(ota_reservations_get(r, id, &o, &err), HERALD_OK);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "cancel");
    assert_int_equal(json_integer_value(json_object_get(o, "revisionCount")), 4);
    json_decref(o);
    ota_res_message_free(&late);
    assert_int_equal(count_events(st), 4);

    /* A hook refusing the second reservation of a batch rolls the first back too. */
    h.calls = 0;
    h.fail_on = 2;
    ingest_fixture(r, &ch, "siteminder_retrieve.xml", HERALD_ERR_INTERNAL, res, 2);
    assert_int_equal(count_reservations(r, NULL), 1);
    assert_int_equal(count_events(st), 4);
    h.fail_on = 0;
    ingest_fixture(r, &ch, "siteminder_retrieve.xml", HERALD_OK, res, 2);
    assert_int_equal(count_reservations(r, NULL), 3);
    assert_int_equal(count_reservations(r, "cancel"), 2);
    assert_int_equal(count_reservations(r, "modify"), 1);

    ota_reservations_close(r);
    store_close(st);
}

static void test_ingest_batch_rules(void **state)
{
    (void)state;
    struct store *st = open_store();
    assert_int_equal(store_run_tx(st, wipe, NULL), HERALD_OK);
    struct ota_reservations *r;
    assert_int_equal(ota_reservations_open(st, &r), HERALD_OK);
    struct ota_channel ch = {.id = 9, .type = OTA_TYPE_GENERIC, .hotel_code = "FALLBACK-1"};
    struct ota_res_message m;
    struct herald_error err;
    assert_int_equal(parse_fixture("booking_resnotif.xml", 0, &m, &err), HERALD_OK);
    /* The same revision twice in one batch; then one without a hotel code takes the channel's. */
    struct ota_reservation items[3] = {m.items[0], m.items[0], m.items[0]};
    items[2].hotel_code[0] = '\0';
    snprintf(items[2].res_id, sizeof(items[2].res_id), "other-1");
    ota_reservation_compute_key(&items[2]);
    struct ota_ingest_result res[3];
    assert_int_equal(ota_reservations_ingest(r, &ch, items, 3, 1800000000000, res, &err),
                     HERALD_OK);
    assert_false(res[0].duplicate);
    assert_true(res[1].duplicate);
    assert_int_equal(res[1].revision_id, res[0].revision_id);
    assert_false(res[2].duplicate);
    json_t *o = NULL;
    assert_int_equal(ota_reservations_get(r, res[2].reservation_id, &o, &err), HERALD_OK);
    assert_string_equal(json_string_value(json_object_get(o, "hotelCode")), "FALLBACK-1");
    json_decref(o);
    /* An item without an id refuses the whole batch before anything is written. */
    items[1].res_id[0] = '\0';
    snprintf(items[0].res_id, sizeof(items[0].res_id), "never-stored");
    ota_reservation_compute_key(&items[0]);
    assert_int_equal(ota_reservations_ingest(r, &ch, items, 2, 1800000000000, res, &err),
                     HERALD_ERR_INVALID);
    /* Filters and paging. */
    struct ota_res_query q = {.hotel_code = "FALLBACK-1", .limit = 10};
    json_t *list = NULL;
    int64_t next = 0;
    assert_int_equal(ota_reservations_list(r, &q, &list, &next, &err), HERALD_OK);
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(next, 0);
    json_decref(list);
    struct ota_res_query q2 = {
        .arrival_from = "2027-03-14", .arrival_to = "2027-03-14", .limit = 1};
    assert_int_equal(ota_reservations_list(r, &q2, &list, &next, &err), HERALD_OK);
    assert_int_equal(json_array_size(list), 1);
    assert_true(next > 0);
    json_decref(list);
    q2.after_id = next;
    assert_int_equal(ota_reservations_list(r, &q2, &list, &next, &err), HERALD_OK);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    struct ota_res_query bad = {.status = "booked", .limit = 10};
    assert_int_equal(ota_reservations_list(r, &bad, &list, &next, &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, "status");
    struct ota_res_query bad_date = {.arrival_from = "2027-3-1", .limit = 10};
    assert_int_equal(ota_reservations_list(r, &bad_date, &list, &next, &err), HERALD_ERR_INVALID);
    ota_res_message_free(&m);
    ota_reservations_close(r);
    store_close(st);
}

/* A bare OTA_CancelRQ (no stay, no guest address): the summary keeps its stay and guest, and
 * the cancellation's event goes to the guest the reservation already had. */
static void test_bare_cancellation(void **state)
{
    (void)state;
    struct store *st = open_store();
    assert_int_equal(store_run_tx(st, wipe, NULL), HERALD_OK);
    struct ota_reservations *r;
    assert_int_equal(ota_reservations_open(st, &r), HERALD_OK);
    struct ota_channel ch = {.id = 4, .hotel_code = "8812345"};
    struct ota_ingest_result res[2];
    ingest_fixture(r, &ch, "booking_resnotif.xml", HERALD_OK, res, 2);
    int64_t id = res[0].reservation_id;
    const char *cancel = "<OTA_CancelRQ xmlns='http://www.opentravel.org/OTA/2003/05' "
                         "CancelType='Cancel'><UniqueID Type='14' ID='4105532919'/>"
                         "<Verification><PersonName><Surname>Lindqvist</Surname></PersonName>"
                         "<TPA_Extensions><BasicPropertyInfo HotelCode='8812345'/>"
                         "</TPA_Extensions></Verification></OTA_CancelRQ>";
    struct ota_res_message m;
    struct herald_error err = {0};
    assert_int_equal(ota_res_parse(cancel, strlen(cancel), 0, &m, &err), HERALD_OK);
    assert_string_equal(m.items[0].guest.email, "");
    assert_int_equal(ota_reservations_ingest(r, &ch, m.items, 1, 1800000000000, res, &err),
                     HERALD_OK);
    assert_int_equal(res[0].reservation_id, id);
    ota_res_message_free(&m);
    json_t *o = NULL;
    assert_int_equal(ota_reservations_get(r, id, &o, &err), HERALD_OK);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "cancel");
    assert_string_equal(json_string_value(json_object_get(o, "arrival")), "2027-03-14");
    assert_string_equal(json_string_value(json_object_get(o, "guestEmail")),
                        "ilindq.683201@guest.booking.com");
    json_t *last = json_array_get(json_object_get(o, "revisions"), 1);
    assert_string_equal(json_string_value(json_object_get(last, "message")), "OTA_CancelRQ");
    assert_true(json_is_null(json_object_get(json_object_get(last, "guest"), "email")));
    json_decref(o);
    assert_int_equal(count_events(st), 2);
    ota_reservations_close(r);
    store_close(st);
}

/* The SQLite files (database and WAL) never hold the card numbers of the fixtures. */
static void test_no_card_on_disk(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct ota_reservations *r;
    assert_int_equal(ota_reservations_open(st, &r), HERALD_OK);
    struct ota_channel ch = {.id = 11, .hotel_code = "H"};
    struct ota_ingest_result res[2];
    const char *files[] = {"booking_resnotif.xml", "siteminder_push_soap11.xml",
                           "alpinebits_guestrequests.xml", "expedia_resnotif.xml"};
    for (size_t i = 0; i < 4; i++)
        ingest_fixture(r, &ch, files[i], HERALD_OK, res, 2);
    ota_reservations_close(r);
    store_close(st);
    const char *cards[] = {"4111111111111111", "5500 0000 0000 0004", "5105105105105100",
                           "4012888888881881"};
    const char *suffix[] = {"", "-wal"};
    for (size_t s = 0; s < 2; s++) {
        char path[600];
        snprintf(path, sizeof(path), "%s%s", db_url + strlen("sqlite:"), suffix[s]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *data = malloc((size_t)n + 1);
        assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        for (size_t k = 0; k < 4; k++)
            assert_null(memmem(data, (size_t)n, cards[k], strlen(cards[k])));
        free(data);
    }
}

static int setup_sqlite(void **state)
{
    (void)state;
    unit_sqlite_url("ota", db_url, sizeof(db_url));
    return 0;
}

static int setup_postgres(void **state)
{
    (void)state;
    unit_pg_url("ota", db_url, sizeof(db_url));
    return 0;
}

int main(void)
{
    const struct CMUnitTest checks[] = {
        cmocka_unit_test_setup(test_ingest, setup_sqlite),
        cmocka_unit_test_setup(test_ingest_batch_rules, setup_sqlite),
        cmocka_unit_test_setup(test_bare_cancellation, setup_sqlite),
        cmocka_unit_test_setup(test_no_card_on_disk, setup_sqlite),
    };
    int failed = cmocka_run_group_tests_name("ota ingest", checks, NULL, NULL);
    const char *pg = getenv("HERALD_TEST_PG_URL");
    if (pg && *pg) {
        const struct CMUnitTest on_postgres[] = {
            cmocka_unit_test_setup(test_ingest, setup_postgres),
            cmocka_unit_test_setup(test_ingest_batch_rules, setup_postgres),
            cmocka_unit_test_setup(test_bare_cancellation, setup_postgres),
        };
        failed += cmocka_run_group_tests_name("ota ingest on postgres", on_postgres, NULL, NULL);
    }
    return failed;
}
