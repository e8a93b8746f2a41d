/* Unit tests of the push side's pure parts: Standard Webhooks verification (the spec's own
 * vector, several signatures, tampering, tolerance, headers), base64, the WS-Security
 * PasswordDigest, and the JSON webhook events mapped onto reservations. */
#include "unit.h"
#include "unit_db.h"

#include "ota/push.h"
#include "ota/webhooks.h"
#include "store/internal.h"
#include "store/ota_inbound.h"

static char db_url[1200];

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define MSG_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define TS "1614265330"
#define BODY "{\"test\": 2432232314}"
#define SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static enum herald_err verify(const char *secret, const char *id, const char *ts, const char *sig,
                              const char *body, int64_t now)
{
    struct ota_webhook_headers h = {id, ts, sig};
    struct herald_error err = {0};
    return ota_webhook_verify(secret, &h, body, strlen(body), now, 300, &err);
}

static void test_spec_vector(void **state)
{
    (void)state;
    char sig[64];
    assert_int_equal(ota_webhook_sign(SECRET, MSG_ID, TS, BODY, strlen(BODY), sig, sizeof(sig)),
                     HERALD_OK);
    assert_string_equal(sig, SIG);
    assert_int_equal(verify(SECRET, MSG_ID, TS, SIG, BODY, 1614265330), HERALD_OK);
    /* the secret without its prefix is the same key */
    assert_int_equal(verify("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", MSG_ID, TS, SIG, BODY, 1614265330),
                     HERALD_OK);
}

static void test_several_signatures(void **state)
{
    (void)state;
    const char *both = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v2,x " SIG;
    assert_int_equal(verify(SECRET, MSG_ID, TS, both, BODY, 1614265330), HERALD_OK);
    const char *none = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1,short";
    assert_int_equal(verify(SECRET, MSG_ID, TS, none, BODY, 1614265330), HERALD_ERR_SIGNATURE);
    /* v1a (asymmetric) entries are not HMAC signatures */
    assert_int_equal(verify(SECRET, MSG_ID, TS,
                            "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", BODY, 1614265330),
                     HERALD_ERR_SIGNATURE);
}

static void test_tampering(void **state)
{
    (void)state;
    int64_t now = 1614265330;
    assert_int_equal(verify(SECRET, MSG_ID, TS, SIG, "{\"test\": 2432232315}", now),
                     HERALD_ERR_SIGNATURE);
    assert_int_equal(verify(SECRET, "msg_other", TS, SIG, BODY, now), HERALD_ERR_SIGNATURE);
    assert_int_equal(verify(SECRET, MSG_ID, "1614265331", SIG, BODY, now), HERALD_ERR_SIGNATURE);
    assert_int_equal(verify("whsec_dGhlIG90aGVyIHNlY3JldA==", MSG_ID, TS, SIG, BODY, now),
                     HERALD_ERR_SIGNATURE);
    assert_int_equal(verify("whsec_!!!", MSG_ID, TS, SIG, BODY, now), HERALD_ERR_SIGNATURE);
    assert_int_equal(verify(NULL, MSG_ID, TS, SIG, BODY, now), HERALD_ERR_SIGNATURE);
}

static void test_tolerance_and_headers(void **state)
{
    (void)state;
    int64_t t = 1614265330;
    assert_int_equal(verify(SECRET, MSG_ID, TS, SIG, BODY, t + 300), HERALD_OK);
    assert_int_equal(verify(SECRET, MSG_ID, TS, SIG, BODY, t + 301), HERALD_ERR_SIGNATURE);
    assert_int_equal(verify(SECRET, MSG_ID, TS, SIG, BODY, t - 301), HERALD_ERR_SIGNATURE);
    assert_int_equal(verify(SECRET, NULL, TS, SIG, BODY, t), HERALD_ERR_SIGNATURE);
    assert_int_equal(verify(SECRET, MSG_ID, NULL, SIG, BODY, t), HERALD_ERR_SIGNATURE);
    assert_int_equal(verify(SECRET, MSG_ID, TS, NULL, BODY, t), HERALD_ERR_SIGNATURE);
    assert_int_equal(verify(SECRET, MSG_ID, "16142653e0", SIG, BODY, t), HERALD_ERR_SIGNATURE);
    assert_int_equal(verify(SECRET, "msg id", TS, SIG, BODY, t), HERALD_ERR_SIGNATURE);
    struct ota_webhook_headers none = {NULL, NULL, NULL}, one = {NULL, TS, NULL};
    assert_false(ota_webhook_present(&none));
    assert_true(ota_webhook_present(&one));
}

static void test_b64_and_wsse_digest(void **state)
{
    (void)state;
    uint8_t out[32];
    size_t n;
    assert_true(ota_b64_decode("aGVsbG8=", 8, out, sizeof(out), &n));
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    assert_true(ota_b64_decode("aGVsbG8", 7, out, sizeof(out), &n)); /* padding optional */
    assert_int_equal(n, 5);
    assert_false(ota_b64_decode("aGV*bG8=", 8, out, sizeof(out), &n));
    assert_false(ota_b64_decode("aGVsbG8=", 8, out, 4, &n)); /* output past the cap */
    char digest[OTA_WSSE_DIGEST_LEN];
    /* Base64(SHA-1("0123456789abcdef" + created + password)), computed independently */
    assert_true(ota_wsse_password_digest("MDEyMzQ1Njc4OWFiY2RlZg==", "2026-11-26T10:00:00Z",
                                         "S3cret!pass", digest));
    assert_string_equal(digest, "2xA/YJg9JNgxH6dSHOI6URSPvf4=");
    assert_false(ota_wsse_password_digest("not base64!", "2026-11-26T10:00:00Z", "x", digest));
}

static const char *NEW_EVENT =
    "{\"type\":\"booking_new\",\"timestamp\":\"2026-11-26T10:00:00Z\",\"data\":{"
    "\"reservationId\":\"BK-1001\",\"arrival\":\"2026-12-01\",\"departure\":\"2026-12-04\","
    "\"total\":480,\"currency\":\"EUR\",\"bookingChannel\":\"Booking.com\","
    "\"createdAt\":\"2026-11-26T09:59:00Z\","
    "\"guest\":{\"givenName\":\"Anna\",\"surname\":\"Rossi\",\"email\":\"Anna.Rossi@Example.com\","
    "\"language\":\"it\",\"country\":\"it\",\"newsletter\":true},"
    "\"rooms\":[{\"roomType\":\"DBL\",\"ratePlan\":\"BAR\",\"adults\":2,\"children\":1,"
    "\"amount\":\"480.00\"}],"
    "\"payment\":{\"cardNumber\":\"4111111111111111\",\"cvc\":\"123\"},"
    "\"comments\":\"late arrival, card 4111 1111 1111 1111 if needed\"}}";

static void test_json_event(void **state)
{
    (void)state;
    struct ota_res_message msg;
    struct herald_error err = {0};
    assert_int_equal(ota_webhook_parse(NEW_EVENT, strlen(NEW_EVENT), "HOTEL1", &msg, &err),
                     HERALD_OK);
    assert_int_equal(msg.kind, OTA_MSG_RES_NOTIF);
    assert_int_equal(msg.n, 1);
    const struct ota_reservation *r = &msg.items[0];
    assert_string_equal(r->hotel_code, "HOTEL1");
    assert_string_equal(r->res_id, "BK-1001");
    assert_int_equal(r->status, OTA_RES_COMMIT);
    assert_string_equal(r->arrival, "2026-12-01");
    assert_string_equal(r->total, "480");
    assert_string_equal(r->guest.email, "anna.rossi@example.com");
    assert_string_equal(r->guest.country, "IT");
    assert_true(r->guest.consent_given);
    assert_string_equal(r->guest.consent_text, "newsletter:yes");
    assert_int_equal(r->nrooms, 1);
    assert_string_equal(r->rooms[0].arrival, "2026-12-01"); /* inherited from the stay */
    assert_int_equal(r->adults, 2);
    assert_int_equal(r->children, 1);
    assert_string_equal(r->comments, "late arrival, card XXXX XXXX XXXX XXXX if needed");
    assert_int_equal(strlen(r->revision_key), 64);
    /* nothing of the payment block was copied anywhere */
    assert_null(memmem(r, sizeof(*r), "4111111111111111", 16));
    assert_null(strstr(r->comments, "4111"));
    char key[65];
    memcpy(key, r->revision_key, sizeof(key));
    ota_webhook_message_free(&msg);
    /* the same event gives the same key; a change gives another */
    assert_int_equal(ota_webhook_parse(NEW_EVENT, strlen(NEW_EVENT), "HOTEL1", &msg, &err), 0);
    assert_string_equal(msg.items[0].revision_key, key);
    ota_webhook_message_free(&msg);
    char *changed = strdup(NEW_EVENT);
    memcpy(strstr(changed, "2026-12-04"), "2026-12-05", 10);
    assert_int_equal(ota_webhook_parse(changed, strlen(changed), "HOTEL1", &msg, &err), 0);
    assert_string_not_equal(msg.items[0].revision_key, key);
    ota_webhook_message_free(&msg);
    free(changed);
}

static void expect_invalid(const char *body, const char *field)
{
    struct ota_res_message msg;
    struct herald_error err = {0};
    assert_int_equal(ota_webhook_parse(body, strlen(body), "H", &msg, &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, field);
    assert_null(msg.items);
}

static void test_json_refusals(void **state)
{
    (void)state;
    expect_invalid("{\"type\":\"booking_other\",\"data\":{}}", "type");
    expect_invalid("{\"type\":\"booking_new\"}", "data");
    expect_invalid("{\"type\":\"booking_new\",\"data\":{\"arrival\":\"2026-12-01\","
                   "\"departure\":\"2026-12-02\"}}",
                   "data.reservationId");
    expect_invalid("{\"type\":\"booking_new\",\"data\":{\"reservationId\":\"A\","
                   "\"arrival\":\"2026-13-01\",\"departure\":\"2026-12-02\"}}",
                   "data.arrival");
    expect_invalid("{\"type\":\"booking_new\",\"data\":{\"reservationId\":\"A\","
                   "\"arrival\":\"2026-12-03\",\"departure\":\"2026-12-02\"}}",
                   "data.departure");
    expect_invalid("{\"type\":\"booking_modification\",\"data\":{\"reservationId\":\"A\","
                   "\"arrival\":\"2026-12-01\",\"departure\":\"2026-12-02\","
                   "\"guest\":{\"email\":\"not-an-address\"}}}",
                   "data.guest.email");
    expect_invalid("{\"type\":\"booking_new\",\"data\":{\"reservationId\":\"A\","
                   "\"arrival\":\"2026-12-01\",\"departure\":\"2026-12-02\","
                   "\"rooms\":[{\"adults\":-1}]}}",
                   "data.rooms[0].adults");
    expect_invalid("{\"type\":\"booking_new\",\"data\":{\"reservationId\":\"A\","
                   "\"arrival\":\"2026-12-01\",\"departure\":\"2026-12-02\","
                   "\"status\":\"unknown\"}}",
                   "data.status");
    struct ota_res_message msg;
    struct herald_error err = {0};
    assert_int_equal(ota_webhook_parse("not json", 8, "H", &msg, &err), HERALD_ERR_INVALID);
    /* a cancellation needs no dates; a PMS status overrides the type's */
    const char *cancel = "{\"type\":\"booking_cancellation\",\"data\":{\"reservationId\":\"A\"}}";
    assert_int_equal(ota_webhook_parse(cancel, strlen(cancel), "H", &msg, &err), HERALD_OK);
    assert_int_equal(msg.kind, OTA_MSG_CANCEL);
    assert_int_equal(msg.items[0].status, OTA_RES_CANCEL);
    ota_webhook_message_free(&msg);
    const char *noshow = "{\"type\":\"booking_modification\",\"data\":{\"reservationId\":\"A\","
                         "\"arrival\":\"2026-12-01\",\"departure\":\"2026-12-02\","
                         "\"status\":\"no_show\"}}";
    assert_int_equal(ota_webhook_parse(noshow, strlen(noshow), "H", &msg, &err), HERALD_OK);
    assert_int_equal(msg.items[0].status, OTA_RES_NO_SHOW);
    ota_webhook_message_free(&msg);
}

/* ---------------------------------------------------------------- the seen-id store */

static int seen_fn(struct store_conn *c, void *arg)
{
    (void)arg;
    assert_int_equal(store_exec(c, "DELETE FROM ota_inbound_seen; DELETE FROM ota_channels; "
                                   "INSERT INTO ota_channels (id, name, type, mode, hotel_code, "
                                   "created_at_ms, updated_at_ms) VALUES (1, 'a', 'generic', "
                                   "'push', 'H1', 0, 0), (2, 'b', 'generic', 'push', 'H2', 0, 0)"),
                     HERALD_OK);
    bool fresh = false, seen = true;
    assert_int_equal(store_ota_seen_mark(c, 1, "webhook", "msg_1", 1000, 2000, &fresh), 0);
    assert_true(fresh);
    assert_int_equal(store_ota_seen_mark(c, 1, "webhook", "msg_1", 1500, 2500, &fresh), 0);
    assert_false(fresh); /* a repeat before expiry */
    assert_int_equal(store_ota_seen_get(c, 1, "webhook", "msg_1", 1999, &seen), 0);
    assert_true(seen);
    assert_int_equal(store_ota_seen_get(c, 1, "webhook", "msg_1", 2000, &seen), 0);
    assert_false(seen); /* expired */
    assert_int_equal(store_ota_seen_mark(c, 1, "webhook", "msg_1", 2000, 3000, &fresh), 0);
    assert_true(fresh); /* an expired row is renewed */
    assert_int_equal(store_ota_seen_mark(c, 2, "webhook", "msg_1", 2000, 3000, &fresh), 0);
    assert_true(fresh); /* ids are per channel */
    assert_int_equal(store_ota_seen_mark(c, 1, "wsse_nonce", "msg_1", 2000, 3000, &fresh), 0);
    assert_true(fresh); /* and per kind */
    assert_int_equal(store_ota_seen_mark(c, 1, "wsse_nonce", "n2", 2000, 9000, &fresh), 0);
    int64_t deleted = -1;
    assert_int_equal(store_ota_seen_sweep(c, 3000, 2, &deleted), 0);
    assert_int_equal(deleted, 2); /* bounded batch */
    assert_int_equal(store_ota_seen_sweep(c, 3000, 100, &deleted), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(store_ota_seen_get(c, 1, "wsse_nonce", "n2", 3000, &seen), 0);
    assert_true(seen);
    /* deleting the channel takes its ids along */
    assert_int_equal(store_exec(c, "DELETE FROM ota_channels WHERE id = 1"), HERALD_OK);
    assert_int_equal(store_ota_seen_get(c, 1, "wsse_nonce", "n2", 3000, &seen), 0);
    assert_false(seen);
    return HERALD_ERR_CONFLICT; /* roll back: leave the database as it was */
}

static void test_seen_store(void **state)
{
    (void)state;
    struct store_opts opts = {db_url, 1, 2, false};
    struct store *st;
    assert_int_equal(store_open(&opts, &st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    assert_int_equal(store_run_tx(st, seen_fn, NULL), HERALD_ERR_CONFLICT);
    store_close(st);
}

static int setup_sqlite(void **state)
{
    (void)state;
    unit_sqlite_url("otapush", db_url, sizeof(db_url));
    return 0;
}

static int setup_postgres(void **state)
{
    (void)state;
    unit_pg_url("otapush", db_url, sizeof(db_url));
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vector),
        cmocka_unit_test(test_several_signatures),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_tolerance_and_headers),
        cmocka_unit_test(test_b64_and_wsse_digest),
        cmocka_unit_test(test_json_event),
        cmocka_unit_test(test_json_refusals),
        cmocka_unit_test_setup(test_seen_store, setup_sqlite),
    };
    int failed = cmocka_run_group_tests_name("ota push", tests, NULL, NULL);
    const char *pg = getenv("HERALD_TEST_PG_URL");
    if (pg && *pg) {
        const struct CMUnitTest on_postgres[] = {
            cmocka_unit_test_setup(test_seen_store, setup_postgres),
        };
        failed +=
            cmocka_run_group_tests_name("ota push store on postgres", on_postgres, NULL, NULL);
    }
    return failed;
}
