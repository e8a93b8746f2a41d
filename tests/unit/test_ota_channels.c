/* OTA channels: AES-256-GCM seal/open of a buffer, credentials at rest, the OpenTravel
 * read/report builders and reply checks of the pull connectors, and the channels domain over
 * the store (CRUD, sealed column, the pull compare-and-set) on SQLite and (with
 * HERALD_TEST_PG_URL) on a PostgreSQL database of its own. */
#include "unit.h"
#include "unit_db.h"

#include "base/clock.h"
#include "base/crypto.h"
#include "ota/channels.h"
#include "ota/credentials.h"
#include "ota/pull_connector.h"
#include "ota/xml.h"
#include "store/internal.h"
#include "store/ota_channels.h"
#include "store/store.h"

static char db_url[512];
static char key_path[512];

static void test_seal_open(void **state)
{
    (void)state;
    uint8_t key[CRYPTO_AES_KEY_LEN], other[CRYPTO_AES_KEY_LEN];
    memset(key, 1, sizeof(key));
    memset(other, 2, sizeof(other));
    const char msg[] = "the secret";
    uint8_t sealed[sizeof(msg) + CRYPTO_SEAL_OVERHEAD], again[sizeof(sealed)], out[64];
    size_t n = 0;
    assert_int_equal(crypto_seal(key, "ad", 2, msg, sizeof(msg), sealed), HERALD_OK);
    assert_int_equal(crypto_seal(key, "ad", 2, msg, sizeof(msg), again), HERALD_OK);
    assert_memory_not_equal(sealed, again, sizeof(sealed)); /* a fresh nonce each time */
    assert_null(memmem(sealed, sizeof(sealed), "secret", 6));
    assert_int_equal(crypto_open(key, "ad", 2, sealed, sizeof(sealed), out, &n), HERALD_OK);
    assert_int_equal(n, sizeof(msg));
    assert_string_equal((char *)out, msg);
    assert_int_equal(crypto_open(other, "ad", 2, sealed, sizeof(sealed), out, &n),
                     HERALD_ERR_CRYPTO);
    assert_int_equal(crypto_open(key, "xx", 2, sealed, sizeof(sealed), out, &n), HERALD_ERR_CRYPTO);
    sealed[15] ^= 1;
    assert_int_equal(crypto_open(key, "ad", 2, sealed, sizeof(sealed), out, &n), HERALD_ERR_CRYPTO);
    assert_int_equal(n, 0);
    assert_int_equal(crypto_open(key, NULL, 0, sealed, 10, out, &n), HERALD_ERR_CRYPTO);
    uint8_t empty[CRYPTO_SEAL_OVERHEAD];
    assert_int_equal(crypto_seal(key, NULL, 0, "", 0, empty), HERALD_OK);
    assert_int_equal(crypto_open(key, NULL, 0, empty, sizeof(empty), out, &n), HERALD_OK);
    assert_int_equal(n, 0);
}

static void test_credentials(void **state)
{
    (void)state;
    uint8_t key[CRYPTO_AES_KEY_LEN], other[CRYPTO_AES_KEY_LEN];
    memset(key, 3, sizeof(key));
    memset(other, 4, sizeof(other));
    struct ota_channel ch = {0}, back = {0};
    strcpy(ch.username, "hotel-user");
    strcpy(ch.password, "p\"a<s>s&w\\o");
    strcpy(ch.webhook_secret, "whsec_MTIzNDU2");
    char *text = NULL;
    assert_int_equal(ota_cred_seal(key, &ch, &text), HERALD_OK);
    assert_int_equal(strncmp(text, "v1.", 3), 0);
    assert_null(strstr(text, "hotel-user"));
    assert_int_equal(ota_cred_open(key, text, &back), HERALD_OK);
    assert_string_equal(back.username, ch.username);
    assert_string_equal(back.password, ch.password);
    assert_string_equal(back.webhook_secret, ch.webhook_secret);
    assert_int_equal(ota_cred_open(other, text, &back), HERALD_ERR_CRYPTO);
    assert_string_equal(back.password, "");
    text[10] = text[10] == 'A' ? 'B' : 'A';
    assert_int_equal(ota_cred_open(key, text, &back), HERALD_ERR_CRYPTO);
    assert_int_equal(ota_cred_open(key, "v0.abc", &back), HERALD_ERR_CRYPTO);
    assert_int_equal(ota_cred_open(key, "v1.!!!", &back), HERALD_ERR_CRYPTO);
    free(text);
    struct ota_channel none = {0};
    assert_int_equal(ota_cred_seal(key, &none, &text), HERALD_OK);
    assert_string_equal(text, "");
    assert_int_equal(ota_cred_open(key, "", &back), HERALD_OK);
    free(text);
}

static struct ota_xml_doc *parse(const struct buf *b)
{
    struct ota_xml_doc *doc = NULL;
    assert_int_equal(ota_xml_parse(b->data, b->len, NULL, &doc, NULL), HERALD_OK);
    return doc;
}

static void test_builders(void **state)
{
    (void)state;
    struct ota_channel ch = {.type = OTA_TYPE_SITEMINDER};
    strcpy(ch.hotel_code, "A&B");
    struct buf b;
    buf_init(&b, 1 << 16);
    assert_int_equal(ota_build_read_rq(&ch, "1.0", true, &b), HERALD_OK);
    struct ota_xml_doc *doc = parse(&b);
    xmlNode *rq = ota_xml_path(ota_xml_body(doc), "ReadRequests/HotelReadRequest");
    char v[64];
    assert_true(ota_xml_attr(rq, "HotelCode", v, sizeof(v)));
    assert_string_equal(v, "A&B");
    assert_true(
        ota_xml_attr(ota_xml_child(rq, "SelectionCriteria"), "SelectionType", v, sizeof(v)));
    assert_string_equal(v, "Undelivered");
    ota_xml_free(doc);

    struct ota_reservation items[2] = {{.status = OTA_RES_COMMIT}, {.status = OTA_RES_CANCEL}};
    strcpy(items[0].res_id, "R<1>");
    strcpy(items[1].res_id, "R2");
    struct ota_ingest_result results[2] = {{.reservation_id = 41}, {.reservation_id = 42}};
    struct ota_res_message msg = {.items = items, .n = 2};
    buf_reset(&b);
    struct ota_report_style smx = {"1.0", false, "14"}, ab = {"7.000", true, NULL};
    assert_int_equal(ota_build_notif_report(&msg, results, &smx, &b), HERALD_OK);
    doc = parse(&b);
    xmlNode *root = ota_xml_body(doc);
    assert_true(ota_xml_is(root, "OTA_NotifReportRQ"));
    assert_non_null(ota_xml_child(root, "Success"));
    xmlNode *list = ota_xml_path(root, "NotifDetails/HotelNotifReport/HotelReservations");
    assert_int_equal(ota_xml_count(list, "HotelReservation"), 2);
    xmlNode *first = ota_xml_child(list, "HotelReservation"), *second;
    second = ota_xml_next(first, "HotelReservation");
    ota_xml_attr(ota_xml_child(first, "UniqueID"), "ID", v, sizeof(v));
    assert_string_equal(v, "R<1>");
    ota_xml_attr(first, "ResStatus", v, sizeof(v));
    assert_string_equal(v, "Book");
    ota_xml_attr(second, "ResStatus", v, sizeof(v));
    assert_string_equal(v, "Cancel");
    ota_xml_attr(ota_xml_find(second, "HotelReservationID"), "ResID_Value", v, sizeof(v));
    assert_string_equal(v, "42");
    ota_xml_free(doc);
    buf_reset(&b); /* AlpineBits: UniqueID only, 15 for the cancellation */
    assert_int_equal(ota_build_notif_report(&msg, results, &ab, &b), HERALD_OK);
    doc = parse(&b);
    list = ota_xml_path(ota_xml_body(doc), "NotifDetails/HotelNotifReport/HotelReservations");
    second = ota_xml_next(ota_xml_child(list, "HotelReservation"), "HotelReservation");
    assert_false(ota_xml_has_attr(second, "ResStatus"));
    assert_null(ota_xml_find(second, "HotelReservationID"));
    ota_xml_attr(ota_xml_child(second, "UniqueID"), "Type", v, sizeof(v));
    assert_string_equal(v, "15");
    ota_xml_free(doc);
    buf_free(&b);
}

static int check(const char *body)
{
    struct ota_reply r = {.body = (char *)body, .len = strlen(body)};
    return ota_reply_check(&r, 0);
}

static void test_reply_checks(void **state)
{
    (void)state;
    assert_int_equal(check(""), HERALD_OK);
    assert_int_equal(check("<OTA_NotifReportRS><Success/></OTA_NotifReportRS>"), HERALD_OK);
    assert_int_equal(check("<X><Errors><Error Type=\"4\" Code=\"497\">no</Error></Errors></X>"),
                     HERALD_ERR_SIGNATURE);
    assert_int_equal(check("<X><Errors><Error Type=\"3\" Code=\"450\">no</Error></Errors></X>"),
                     HERALD_ERR_UPSTREAM);
    assert_int_equal(check("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
                           "<s:Body><s:Fault><faultcode>wsse:FailedAuthentication</faultcode>"
                           "<faultstring>bad</faultstring></s:Fault></s:Body></s:Envelope>"),
                     HERALD_ERR_SIGNATURE);
    assert_int_equal(check("<unclosed"), HERALD_ERR_UPSTREAM_MALFORMED);
    struct ota_reply r = {.status = 500};
    char fault[] = "<X><Errors><Error Type=\"6\">denied</Error></Errors></X>";
    r.body = fault;
    r.len = strlen(fault);
    strcpy(r.error, "HTTP 500");
    assert_int_equal(ota_reply_refine(HERALD_ERR_UPSTREAM, &r, 0), HERALD_ERR_SIGNATURE);
    char plain[] = "<error>boom</error>";
    r.body = plain;
    r.len = strlen(plain);
    strcpy(r.error, "HTTP 500");
    assert_int_equal(ota_reply_refine(HERALD_ERR_UPSTREAM, &r, 0), HERALD_ERR_UPSTREAM);
    assert_string_equal(r.error, "HTTP 500");
    char empty[] = "<OTA_HotelResNotifRQ><HotelReservations/></OTA_HotelResNotifRQ>";
    char one[] = "<OTA_HotelResNotifRQ><HotelReservations><HotelReservation/>"
                 "</HotelReservations></OTA_HotelResNotifRQ>";
    char mod[] = "<OTA_HotelResModifyNotifRQ/>";
    struct ota_reply e = {.body = empty, .len = strlen(empty)};
    struct ota_reply o = {.body = one, .len = strlen(one)};
    struct ota_reply m = {.body = mod, .len = strlen(mod)};
    assert_true(ota_reply_is_empty_batch(&e, 0));
    assert_false(ota_reply_is_empty_batch(&o, 0));
    assert_true(ota_reply_is_empty_batch(&m, 0));
}

static struct store *open_store(void)
{
    struct store_opts opts = {db_url, 1, 2, false};
    struct store *st;
    int applied = 0;
    assert_int_equal(store_open(&opts, &st), HERALD_OK);
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    return st;
}

struct claim {
    struct store_ota_due due[8];
    size_t n;
    int64_t id, token, next;
    const char *job;
    int rc;
};

static int due_tx(struct store_conn *c, void *arg)
{
    struct claim *k = arg;
    return store_ota_channel_due(c, clock_now_ms() + 1000, k->due, 8, &k->n);
}

static int claim_tx(struct store_conn *c, void *arg)
{
    struct claim *k = arg;
    int rc = k->job ? store_job_insert(c, k->job, "ota_pull", "{}", "{}", clock_now_ms()) : 0;
    return rc ? rc : store_ota_channel_claim_pull(c, k->id, k->token, k->next, k->job);
}

static int finish_job_tx(struct store_conn *c, void *arg)
{
    return store_exec(c, arg);
}

static void test_domain(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct ota_channels *chs;
    assert_int_equal(ota_channels_open(st, key_path, &chs), HERALD_OK);
    struct ota_channel_input in = {.name = "Booking H1",
                                   .type = "booking",
                                   .mode = "pull",
                                   .hotel_code = "H1",
                                   .base_url = "http://127.0.0.1:9/ota",
                                   .poll_seconds = 30,
                                   .enabled = -1,
                                   .takes_updates = 1,
                                   .has_credentials = true,
                                   .username = "u1",
                                   .password = "secret-1"};
    struct ota_channel_view v;
    struct herald_error err = {0};
    assert_int_equal(ota_channels_create(chs, &in, &v, &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, "baseUrl"); /* http:// refused by default */
    ota_channels_allow_insecure(chs, true);
    assert_int_equal(ota_channels_create(chs, &in, &v, &err), HERALD_OK);
    int64_t id = v.ch.id;
    assert_string_equal(v.ch.password, "secret-1");
    assert_true(v.ch.enabled && v.ch.takes_updates);
    assert_int_equal(v.ch.poll_seconds, 30);
    assert_int_equal(ota_channels_create(chs, &in, &v, &err), HERALD_ERR_DUPLICATE);
    assert_string_equal(err.field, "name");

    struct ota_channel_input ch2 = {.poll_seconds = -1,
                                    .enabled = 0,
                                    .takes_updates = -1,
                                    .has_credentials = true,
                                    .password = "secret-2"};
    assert_int_equal(ota_channels_update(chs, id, &ch2, &v, &err), HERALD_OK);
    assert_string_equal(v.ch.username, "u1"); /* kept */
    assert_string_equal(v.ch.password, "secret-2");
    assert_false(v.ch.enabled);
    struct ota_channel_input bad = {
        .poll_seconds = -1, .enabled = -1, .takes_updates = -1, .base_url = "gopher://x"};
    assert_int_equal(ota_channels_update(chs, id, &bad, &v, &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, "baseUrl");
    assert_int_equal(ota_channels_update(chs, 9999, &ch2, &v, &err), HERALD_ERR_NOT_FOUND);

    /* The scheduler's compare-and-set: a disabled channel is never due; an enabled one is
     * claimed once per due time, and not again while its pull job is pending. */
    struct claim k = {.n = 0};
    assert_int_equal(store_run_read(st, due_tx, &k), HERALD_OK);
    assert_int_equal(k.n, 0);
    struct ota_channel_input on = {.poll_seconds = -1, .enabled = 1, .takes_updates = -1};
    assert_int_equal(ota_channels_update(chs, id, &on, &v, &err), HERALD_OK);
    assert_int_equal(store_run_read(st, due_tx, &k), HERALD_OK);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.due[0].id, id);
    assert_int_equal(k.due[0].poll_seconds, 30);
    k.id = id, k.token = k.due[0].token, k.next = k.token + 5;
    k.job = "00000000-0000-4000-8000-000000000001";
    assert_int_equal(store_run_tx(st, claim_tx, &k), HERALD_OK);
    k.job = "00000000-0000-4000-8000-000000000002";
    assert_int_equal(store_run_tx(st, claim_tx, &k), HERALD_ERR_CONFLICT); /* token moved */
    k.token = k.next, k.next += 5;
    assert_int_equal(store_run_tx(st, claim_tx, &k), HERALD_ERR_CONFLICT); /* job 1 pending */
    assert_int_equal(store_run_tx(st, finish_job_tx,
                                  "UPDATE jobs SET status = 'completed' WHERE id = "
                                  "'00000000-0000-4000-8000-000000000001'"),
                     HERALD_OK);
    assert_int_equal(store_run_tx(st, claim_tx, &k), HERALD_OK);

    struct ota_channel *all = NULL;
    size_t n = 0;
    assert_int_equal(ota_channels_all(chs, &all, &n, &err), HERALD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(all[0].password, "secret-2");
    ota_channels_free_array(all, n);
    assert_int_equal(ota_channels_delete(chs, id), HERALD_OK);
    assert_int_equal(ota_channels_delete(chs, id), HERALD_ERR_NOT_FOUND);
    ota_channels_close(chs);

    /* Another key cannot open what the first sealed. */
    char other[600];
    snprintf(other, sizeof(other), "%s.other", key_path);
    assert_int_equal(ota_channels_open(st, key_path, &chs), HERALD_OK);
    ota_channels_allow_insecure(chs, true);
    in.name = "second";
    assert_int_equal(ota_channels_create(chs, &in, &v, &err), HERALD_OK);
    ota_channels_close(chs);
    assert_int_equal(ota_channels_open(st, other, &chs), HERALD_OK);
    assert_int_equal(ota_channels_view(chs, v.ch.id, &v, &err), HERALD_ERR_CRYPTO);
    assert_string_equal(err.field, "credentials");
    ota_channels_close(chs);
    store_close(st);
}

static int setup_sqlite(void **state)
{
    (void)state;
    char dir[256];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(db_url, sizeof(db_url), "sqlite:%s/ota.db", dir);
    snprintf(key_path, sizeof(key_path), "%s/keys/ota.key", dir);
    return 0;
}

static int setup_postgres(void **state)
{
    setup_sqlite(state); /* for the key path */
    unit_pg_url("ota_channels", db_url, sizeof(db_url));
    return 0;
}

int main(void)
{
    const struct CMUnitTest checks[] = {
        cmocka_unit_test(test_seal_open),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_builders),
        cmocka_unit_test(test_reply_checks),
        cmocka_unit_test_setup(test_domain, setup_sqlite),
    };
    int failed = cmocka_run_group_tests_name("ota channels", checks, NULL, NULL);
    const char *pg = getenv("HERALD_TEST_PG_URL");
    if (pg && *pg) {
        const struct CMUnitTest on_postgres[] = {
            cmocka_unit_test_setup(test_domain, setup_postgres),
        };
        failed += cmocka_run_group_tests_name("ota channels on postgres", on_postgres, NULL, NULL);
    }
    return failed;
}
