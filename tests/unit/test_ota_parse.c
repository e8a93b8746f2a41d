/* The hardened OpenTravel reader and RS writer (ota/xml.h), the reservation parser over the
 * channel fixtures in tests/fixtures/ota (card data dropped, hostile XML refused), and
 * ingestion on the real store: SQLite, and PostgreSQL when HERALD_TEST_PG_URL is set. */
#include "unit.h"

#include <jansson.h>

#include "ota/res_parse_internal.h"
#include "ota/reservations.h"
#include "ota/xml.h"
#include "store/internal.h"
#include "store/store.h"

static char db_url[512];

/* ---------------------------------------------------------------- fixtures */

static char *load_fixture(const char *name, size_t *len)
{
    char path[1024];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof(path), "%.*s/../fixtures/ota/%s", (int)(slash - __FILE__), __FILE__,
             name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return data;
}

static enum herald_err parse_fixture(const char *name, size_t max, struct ota_res_message *m,
                                     struct herald_error *err)
{
    size_t len;
    char *xml = load_fixture(name, &len);
    memset(err, 0, sizeof(*err));
    enum herald_err rc = ota_res_parse(xml, len, max, m, err);
    free(xml);
    return rc;
}

/* True when needle occurs anywhere in the parsed message's memory (struct, rooms, comments). */
static bool message_holds(const struct ota_res_message *m, const char *needle)
{
    size_t nl = strlen(needle);
    if (memmem(m, sizeof(*m), needle, nl))
        return true;
    for (size_t i = 0; i < m->n; i++) {
        const struct ota_reservation *r = &m->items[i];
        if (memmem(r, sizeof(*r), needle, nl) ||
            (r->rooms && memmem(r->rooms, r->nrooms * sizeof(*r->rooms), needle, nl)) ||
            (r->comments && strstr(r->comments, needle)))
            return true;
    }
    return false;
}

/* ---------------------------------------------------------------- reader and writer */

static void test_xml_reader(void **state)
{
    (void)state;
    const char *doc = "<p:A xmlns:p='urn:x' Code=' x&amp;y '><p:B n='1'/><C>t1</C><B n='2'>"
                      "<D>  deep text  </D></B><E Name='\xc3\xa9\xc3\xa9\xc3\xa9'/></p:A>";
    struct ota_xml_doc *d = NULL;
    struct herald_error err = {0};
    assert_int_equal(ota_xml_parse(doc, strlen(doc), NULL, &d, &err), HERALD_OK);
    xmlNode *a = ota_xml_body(d);
    assert_ptr_equal(a, ota_xml_root(d));
    assert_int_equal(ota_xml_soap(d), OTA_SOAP_NONE);
    assert_null(ota_xml_soap_header(d));
    assert_true(ota_xml_is(a, "A"));
    assert_int_equal(ota_xml_count(a, "B"), 2);
    assert_int_equal(ota_xml_count(a, NULL), 4);
    char v[16];
    assert_true(ota_xml_attr(a, "Code", v, sizeof(v)));
    assert_string_equal(v, "x&y");
    assert_false(ota_xml_attr(a, "Missing", v, sizeof(v)));
    assert_string_equal(v, "");
    xmlNode *b2 = ota_xml_next(ota_xml_child(a, "B"), "B");
    assert_true(ota_xml_attr(b2, "n", v, sizeof(v)));
    assert_string_equal(v, "2");
    assert_true(ota_xml_text(ota_xml_child(b2, "D"), v, sizeof(v)));
    assert_string_equal(v, "deep text");
    assert_null(ota_xml_path(a, "B/Nope"));
    assert_non_null(ota_xml_find(a, "D"));
    char *t = ota_xml_text_dup(ota_xml_child(a, "C"), 100);
    assert_string_equal(t, "t1");
    free(t);
    char small[6]; /* three 2-byte characters do not fit: cut at a character boundary */
    assert_true(ota_xml_attr(ota_xml_child(a, "E"), "Name", small, sizeof(small)));
    assert_string_equal(small, "\xc3\xa9\xc3\xa9");
    ota_xml_free(d);
}

static void test_xml_soap(void **state)
{
    (void)state;
    const char *s11 = "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Header>"
                      "<Security/></s:Header><s:Body><X/></s:Body></s:Envelope>";
    const char *bad_ns = "<s:Envelope xmlns:s='urn:other'><s:Body><X/></s:Body></s:Envelope>";
    const char *two = "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>"
                      "<X/><Y/></s:Body></s:Envelope>";
    struct ota_xml_doc *d = NULL;
    struct herald_error err = {0};
    assert_int_equal(ota_xml_parse(s11, strlen(s11), NULL, &d, &err), HERALD_OK);
    assert_int_equal(ota_xml_soap(d), OTA_SOAP_11);
    assert_true(ota_xml_is(ota_xml_body(d), "X"));
    assert_non_null(ota_xml_child(ota_xml_soap_header(d), "Security"));
    ota_xml_free(d);
    assert_int_equal(ota_xml_parse(bad_ns, strlen(bad_ns), NULL, &d, &err), HERALD_ERR_XML_INVALID);
    assert_null(d);
    assert_int_equal(ota_xml_parse(two, strlen(two), NULL, &d, &err), HERALD_ERR_XML_INVALID);
}

static void test_xml_limits(void **state)
{
    (void)state;
    struct ota_xml_doc *d = NULL;
    struct herald_error err = {0};
    const char *ok = "<a><b/><b/><b/></a>";
    struct ota_xml_limits nodes = {.max_nodes = 3};
    assert_int_equal(ota_xml_parse(ok, strlen(ok), &nodes, &d, &err), HERALD_ERR_XML_INVALID);
    struct ota_xml_limits depth = {.max_depth = 1};
    assert_int_equal(ota_xml_parse(ok, strlen(ok), &depth, &d, &err), HERALD_ERR_XML_INVALID);
    struct ota_xml_limits bytes = {.max_bytes = 10};
    assert_int_equal(ota_xml_parse(ok, strlen(ok), &bytes, &d, &err), HERALD_ERR_XML_INVALID);
    assert_int_equal(ota_xml_parse("", 0, NULL, &d, &err), HERALD_ERR_XML_INVALID);
    assert_int_equal(ota_xml_parse(ok, strlen(ok), NULL, &d, &err), HERALD_OK);
    ota_xml_free(d);
    /* A DOCTYPE in UTF-16: invisible to the byte scan, stopped by the SAX hook. */
    const char *ascii = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><!DOCTYPE a [<!ENTITY e "
                        "\"x\">]><a>&e;</a>";
    size_t n = strlen(ascii);
    char *u16 = malloc(2 * n + 2);
    u16[0] = (char)0xff;
    u16[1] = (char)0xfe;
    for (size_t i = 0; i < n; i++) {
        u16[2 + 2 * i] = ascii[i];
        u16[3 + 2 * i] = 0;
    }
    assert_int_equal(ota_xml_parse(u16, 2 * n + 2, NULL, &d, &err), HERALD_ERR_XML_INVALID);
    assert_null(strstr(err.message, "x"));
    free(u16);
}

static void test_rs_writer(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 16);
    struct ota_rs_item e = {OTA_EWT_AUTHENTICATION, OTA_ERR_AUTHORIZATION, "bad <login> & \"x\"",
                            NULL};
    struct ota_rs rs = {.root = "OTA_HotelResNotifRS",
                        .echo_token = "e'1",
                        .timestamp_ms = 0,
                        .soap = OTA_SOAP_12,
                        .errors = &e,
                        .nerrors = 1,
                        .body = "<Never/>"};
    assert_int_equal(ota_rs_write(&rs, &b), HERALD_OK);
    assert_non_null(strstr(b.data, "<soap:Envelope xmlns:soap=\"" OTA_SOAP12_NS "\">"));
    assert_non_null(strstr(b.data, "EchoToken=\"e&apos;1\" TimeStamp=\"1970-01-01T00:00:00Z\" "
                                   "Version=\"1.0\""));
    assert_non_null(strstr(b.data, "<Errors><Error Type=\"4\" Code=\"497\" ShortText=\"bad "
                                   "&lt;login&gt; &amp; &quot;x&quot;\">"));
    assert_null(strstr(b.data, "<Success/>"));
    assert_null(strstr(b.data, "<Never/>"));
    /* The answer is itself well-formed and reads back through the hardened reader. */
    struct ota_xml_doc *d = NULL;
    struct herald_error err = {0};
    assert_int_equal(ota_xml_parse(b.data, b.len, NULL, &d, &err), HERALD_OK);
    assert_true(ota_xml_is(ota_xml_body(d), "OTA_HotelResNotifRS"));
    ota_xml_free(d);
    buf_reset(&b);
    struct buf body;
    buf_init(&body, 4096);
    struct ota_rs_res_id id = {"BK<1>", 42};
    assert_int_equal(ota_rs_res_ids(&body, &id, 1), HERALD_OK);
    struct ota_rs_item w = {OTA_EWT_ADVISORY, 0, "late", "1"};
    struct ota_rs ok = {.root = "OTA_HotelResNotifRS",
                        .timestamp_ms = 1700000000000,
                        .warnings = &w,
                        .nwarnings = 1,
                        .body = body.data};
    assert_int_equal(ota_rs_write(&ok, &b), HERALD_OK);
    assert_non_null(strstr(b.data, "<Success/><Warnings><Warning Type=\"11\" RPH=\"1\" "
                                   "ShortText=\"late\">late</Warning></Warnings>"));
    assert_non_null(strstr(b.data, "ResID_Type=\"14\" ResID_Value=\"BK&lt;1&gt;\""));
    assert_non_null(strstr(b.data, "ResID_Type=\"3\" ResID_Value=\"42\""));
    assert_null(strstr(b.data, "soap:"));
    struct ota_rs bad = {.root = "bad root"};
    assert_int_equal(ota_rs_write(&bad, &b), HERALD_ERR_INVALID);
    assert_string_equal(ota_xml_content_type(OTA_SOAP_11), "text/xml; charset=utf-8");
    assert_string_equal(ota_xml_content_type(OTA_SOAP_NONE), "application/xml; charset=utf-8");
    buf_free(&body);
    buf_free(&b);
}

static void test_mask_and_decimals(void **state)
{
    (void)state;
    char s1[] = "card 4111 1111 1111 1111, call +43 664 1234567";
    ota_mask_card_runs(s1);
    assert_string_equal(s1, "card XXXX XXXX XXXX XXXX, call +43 664 1234567");
    char s2[] = "ref 4111111111111112 stays"; /* fails Luhn: not a card */
    ota_mask_card_runs(s2);
    assert_string_equal(s2, "ref 4111111111111112 stays");
    char s3[] = "5500-0000-0000-0004";
    ota_mask_card_runs(s3);
    assert_string_equal(s3, "XXXX-XXXX-XXXX-XXXX");
    char sum[32] = "";
    assert_true(ota_decimal_add(sum, sizeof(sum), "417.00"));
    assert_true(ota_decimal_add(sum, sizeof(sum), "356.5"));
    assert_string_equal(sum, "773.50");
    assert_false(ota_decimal_add(sum, sizeof(sum), "12,5"));
    char d[OTA_DATE_LEN];
    assert_true(ota_parse_date("2028-02-29T10:00:00", d));
    assert_string_equal(d, "2028-02-29");
    assert_false(ota_parse_date("2027-02-29", d));
    assert_false(ota_parse_date("2027-13-01", d));
}

/* ---------------------------------------------------------------- parser over the fixtures */

static void test_booking_new(void **state)
{
    (void)state;
    struct ota_res_message m;
    struct herald_error err;
    assert_int_equal(parse_fixture("booking_resnotif.xml", 0, &m, &err), HERALD_OK);
    assert_int_equal(m.kind, OTA_MSG_RES_NOTIF);
    assert_false(m.soap);
    assert_int_equal(m.n, 1);
    const struct ota_reservation *r = &m.items[0];
    assert_string_equal(r->res_id, "4105532919");
    assert_string_equal(r->hotel_code, "8812345");
    assert_int_equal(r->status, OTA_RES_COMMIT);
    assert_int_equal(r->nrooms, 2);
    assert_string_equal(r->rooms[0].room_type, "DBL-SEA");
    assert_string_equal(r->rooms[0].rate_plan, "BAR-FLEX");
    assert_string_equal(r->rooms[0].amount, "417.00");
    assert_string_equal(r->arrival, "2027-03-14");
    assert_string_equal(r->departure, "2027-03-18");
    assert_int_equal(r->adults, 3);
    assert_int_equal(r->children, 1);
    assert_string_equal(r->total, "773.50");
    assert_string_equal(r->currency, "EUR");
    assert_string_equal(r->booking_channel, "Booking.com");
    assert_string_equal(r->guest.given_name, "Ingrid");
    assert_string_equal(r->guest.surname, "Lindqvist");
    assert_string_equal(r->guest.email, "ilindq.683201@guest.booking.com");
    assert_string_equal(r->guest.country, "SE");
    assert_string_equal(r->guest.phone, "+46 8 555 0142");
    assert_false(r->guest.consent_given);
    assert_false(r->guest.consent_refused);
    assert_non_null(strstr(r->comments, "Non-smoking room"));
    assert_non_null(strstr(r->comments, "Arriving late"));
    assert_true(r->created_ms > 0);
    assert_int_equal(strlen(r->revision_key), 64);
    /* The card: number, security code and holder never reach the parsed form. */
    assert_false(message_holds(&m, "4111111111111111"));
    assert_false(message_holds(&m, "INGRID LINDQVIST"));
    assert_false(message_holds(&m, "0829"));
    ota_res_message_free(&m);
}

static void test_booking_modify_cancel(void **state)
{
    (void)state;
    struct ota_res_message a, b, c;
    struct herald_error err;
    assert_int_equal(parse_fixture("booking_resnotif.xml", 0, &a, &err), HERALD_OK);
    assert_int_equal(parse_fixture("booking_modify.xml", 0, &b, &err), HERALD_OK);
    assert_int_equal(parse_fixture("booking_cancel.xml", 0, &c, &err), HERALD_OK);
    assert_int_equal(b.kind, OTA_MSG_RES_MODIFY_NOTIF);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.items[0].res_id, "4105532919");
    assert_int_equal(b.items[0].status, OTA_RES_MODIFY);
    assert_string_equal(b.items[0].total, "912.50");
    assert_true(b.items[0].modified_ms > 0);
    assert_string_not_equal(a.items[0].revision_key, b.items[0].revision_key);
    assert_int_equal(c.items[0].status, OTA_RES_CANCEL);
    assert_string_equal(c.items[0].res_id, "4105532919");
    assert_string_not_equal(b.items[0].revision_key, c.items[0].revision_key);
    ota_res_message_free(&a);
    ota_res_message_free(&b);
    ota_res_message_free(&c);
}

static void test_siteminder(void **state)
{
    (void)state;
    struct ota_res_message m;
    struct herald_error err;
    assert_int_equal(parse_fixture("siteminder_push_soap11.xml", 0, &m, &err), HERALD_OK);
    assert_true(m.soap);
    assert_string_equal(m.root_name, "OTA_HotelResNotifRQ");
    assert_string_equal(m.echo_token, "d6a1c7e2-40f1-4c55-9a0e-1b2f3a4c5d6e");
    const struct ota_reservation *r = &m.items[0];
    assert_int_equal(r->status, OTA_RES_COMMIT);
    assert_string_equal(r->res_id, "SMX-77120456");
    assert_string_equal(r->hotel_code, "SMHOTEL42");
    assert_string_equal(r->booking_channel, "Expedia");
    assert_string_equal(r->guest.language, "en");
    assert_string_equal(r->guest.country, "AU");
    assert_string_equal(r->guest.surname, "W\xc3\xb3jcik");
    assert_string_equal(r->total, "420.00");
    assert_string_equal(r->currency, "AUD");
    assert_true(r->created_ms > 0); /* "+1100" offsets are read too */
    assert_false(message_holds(&m, "5500 0000 0000 0004"));
    assert_false(message_holds(&m, "s3cret-Pass!2026"));
    ota_res_message_free(&m);

    assert_int_equal(parse_fixture("siteminder_retrieve.xml", 0, &m, &err), HERALD_OK);
    assert_int_equal(m.kind, OTA_MSG_RES_RETRIEVE);
    assert_int_equal(m.n, 2);
    assert_int_equal(m.items[0].status, OTA_RES_MODIFY);
    assert_int_equal(m.items[0].adults, 2);
    assert_int_equal(m.items[0].children, 1);
    assert_string_equal(m.items[0].guest.email, "tomasz.wojcik@example.org");
    assert_string_equal(m.items[0].departure, "2027-01-12");
    assert_int_equal(m.items[1].status, OTA_RES_CANCEL);
    assert_string_equal(m.items[1].res_id, "SMX-77119001");
    assert_string_equal(m.items[1].booking_channel, "Booking.com");
    ota_res_message_free(&m);
}

static void test_alpinebits(void **state)
{
    (void)state;
    struct ota_res_message m;
    struct herald_error err;
    assert_int_equal(parse_fixture("alpinebits_guestrequests.xml", 0, &m, &err), HERALD_OK);
    assert_int_equal(m.n, 2);
    const struct ota_reservation *r = &m.items[0];
    assert_int_equal(r->status, OTA_RES_COMMIT);
    assert_string_equal(r->res_id, "ab-5f1c2e9d7a");
    assert_string_equal(r->hotel_code, "AB-TIROL-7");
    assert_int_equal(r->adults, 2);
    assert_int_equal(r->children, 2);
    assert_true(r->guest.consent_given);
    assert_string_equal(r->guest.consent_text, "newsletter:yes");
    assert_string_equal(r->guest.language, "de");
    assert_string_equal(r->guest.country, "AT");
    assert_string_equal(r->booking_channel, "Alpen Reiseb\xc3\xbc"
                                            "ro");
    assert_non_null(strstr(r->comments, "Skipass"));
    assert_non_null(strstr(r->comments, "Hund"));
    assert_false(message_holds(&m, "5105105105105100"));
    assert_false(message_holds(&m, "Lukas Pichler"));
    r = &m.items[1];
    assert_int_equal(r->status, OTA_RES_CANCEL);
    assert_string_equal(r->res_id, "ab-3e77d01b44");
    assert_true(r->guest.consent_refused);
    assert_false(r->guest.consent_given);
    assert_string_equal(r->guest.language, "it");
    ota_res_message_free(&m);
}

static void test_cancel_and_expedia(void **state)
{
    (void)state;
    struct ota_res_message m;
    struct herald_error err;
    assert_int_equal(parse_fixture("generic_cancel_soap12.xml", 0, &m, &err), HERALD_OK);
    assert_int_equal(m.kind, OTA_MSG_CANCEL);
    assert_true(m.soap);
    assert_string_equal(m.echo_token, "cx-20261124-0007");
    assert_int_equal(m.n, 1);
    assert_int_equal(m.items[0].status, OTA_RES_CANCEL);
    assert_string_equal(m.items[0].res_id, "HRS-300912277");
    assert_string_equal(m.items[0].hotel_code, "GEN-PARIS-3");
    assert_string_equal(m.items[0].arrival, "2027-05-02");
    assert_string_equal(m.items[0].guest.surname, "Dupont");
    assert_string_equal(m.items[0].guest.email, "jean.dupont@example.fr");
    assert_string_equal(m.items[0].booking_channel, "HRS");
    ota_res_message_free(&m);

    assert_int_equal(parse_fixture("expedia_resnotif.xml", 0, &m, &err), HERALD_OK);
    assert_string_equal(m.items[0].res_id, "EXP-8820004417");
    assert_string_equal(m.items[0].guest.email, "praman.44f1c2@m.expediapartnercentral.com");
    assert_string_equal(m.items[0].currency, "USD");
    assert_non_null(strstr(m.items[0].comments, "1 king bed"));
    assert_false(message_holds(&m, "4012888888881881"));
    assert_false(message_holds(&m, "EXPEDIA VIRTUAL CARD"));
    ota_res_message_free(&m);
}

static void test_hostile(void **state)
{
    (void)state;
    struct ota_res_message m;
    struct herald_error err;
    const char *invalid_xml[] = {"xxe.xml", "billion_laughs.xml", "too_deep.xml", "malformed.xml"};
    for (size_t i = 0; i < sizeof(invalid_xml) / sizeof(invalid_xml[0]); i++) {
        assert_int_equal(parse_fixture(invalid_xml[i], 0, &m, &err), HERALD_ERR_XML_INVALID);
        assert_int_equal(m.n, 0);
        assert_null(m.items);
    }
    assert_int_equal(parse_fixture("oversized.xml", 64 * 1024, &m, &err), HERALD_ERR_XML_INVALID);
    assert_non_null(strstr(err.message, "larger than"));
    assert_int_equal(parse_fixture("oversized.xml", 0, &m, &err), HERALD_OK);
    ota_res_message_free(&m);
    assert_int_equal(parse_fixture("not_reservation.xml", 0, &m, &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, "OTA_HotelAvailNotifRQ");
    assert_int_equal(parse_fixture("retrieve_errors.xml", 0, &m, &err), HERALD_ERR_UPSTREAM);
    assert_non_null(strstr(err.message, "497"));
    assert_int_equal(parse_fixture("retrieve_empty.xml", 0, &m, &err), HERALD_OK);
    assert_int_equal(m.n, 0);
    assert_string_equal(m.echo_token, "pull-0002");
    ota_res_message_free(&m);
    /* A reservation without any id, and impossible dates. */
    const char *noid = "<OTA_HotelResNotifRQ><HotelReservations><HotelReservation/>"
                       "</HotelReservations></OTA_HotelResNotifRQ>";
    assert_int_equal(ota_res_parse(noid, strlen(noid), 0, &m, &err), HERALD_ERR_INVALID);
    const char *dates = "<OTA_HotelResNotifRQ><HotelReservations><HotelReservation>"
                        "<UniqueID Type='14' ID='1'/><RoomStays><RoomStay><TimeSpan "
                        "Start='2027-01-05' End='2027-01-02'/></RoomStay></RoomStays>"
                        "</HotelReservation></HotelReservations></OTA_HotelResNotifRQ>";
    assert_int_equal(ota_res_parse(dates, strlen(dates), 0, &m, &err), HERALD_ERR_INVALID);
    const char *none = "<OTA_HotelResNotifRQ><HotelReservations/></OTA_HotelResNotifRQ>";
    assert_int_equal(ota_res_parse(none, strlen(none), 0, &m, &err), HERALD_ERR_INVALID);
}

/* Formatting does not make a new revision: the key covers content, not bytes. */
static void test_revision_key_stable(void **state)
{
    (void)state;
    size_t len;
    char *xml = load_fixture("booking_resnotif.xml", &len);
    struct ota_res_message a, b;
    struct herald_error err;
    assert_int_equal(ota_res_parse(xml, len, 0, &a, &err), HERALD_OK);
    /* Squeeze the indentation between elements out. */
    char *flat = malloc(len + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (xml[i] == '\n') {
            while (i + 1 < len && xml[i + 1] == ' ')
                i++;
            continue;
        }
        flat[k++] = xml[i];
    }
    assert_int_equal(ota_res_parse(flat, k, 0, &b, &err), HERALD_OK);
    assert_string_equal(a.items[0].revision_key, b.items[0].revision_key);
    struct ota_reservation copy = a.items[0];
    copy.adults++;
    ota_reservation_compute_key(&copy);
    assert_string_not_equal(copy.revision_key, a.items[0].revision_key);
    free(flat);
    free(xml);
    ota_res_message_free(&a);
    ota_res_message_free(&b);
}

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
                   int64_t now_ms)
{
    (void)c;
    (void)ch;
    (void)res;
    (void)revision_id;
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
    assert_int_equal(ota_reservations_ingest(r, &ch, late.items, 1, 1800000000000, res, &err),
                     HERALD_OK);
    assert_false(res[0].duplicate);
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
    char dir[256];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(db_url, sizeof(db_url), "sqlite:%s/ota.db", dir);
    return 0;
}

static int make_db(struct store_conn *c, void *arg)
{
    (void)arg;
    int rc = store_exec(c, "DROP DATABASE IF EXISTS herald_unit_ota");
    return rc ? rc : store_exec(c, "CREATE DATABASE herald_unit_ota");
}

static int setup_postgres(void **state)
{
    (void)state;
    const char *pg = getenv("HERALD_TEST_PG_URL");
    struct store_opts opts = {pg, 1, 1, false};
    struct store *st;
    assert_int_equal(store_open(&opts, &st), HERALD_OK);
    assert_int_equal(store_run_plain(st, make_db, NULL), HERALD_OK);
    store_close(st);
    const char *slash = strrchr(pg, '/');
    snprintf(db_url, sizeof(db_url), "%.*s/herald_unit_ota", (int)(slash - pg), pg);
    return 0;
}

int main(void)
{
    const struct CMUnitTest checks[] = {
        cmocka_unit_test(test_xml_reader),
        cmocka_unit_test(test_xml_soap),
        cmocka_unit_test(test_xml_limits),
        cmocka_unit_test(test_rs_writer),
        cmocka_unit_test(test_mask_and_decimals),
        cmocka_unit_test(test_booking_new),
        cmocka_unit_test(test_booking_modify_cancel),
        cmocka_unit_test(test_siteminder),
        cmocka_unit_test(test_alpinebits),
        cmocka_unit_test(test_cancel_and_expedia),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_revision_key_stable),
        cmocka_unit_test_setup(test_ingest, setup_sqlite),
        cmocka_unit_test_setup(test_ingest_batch_rules, setup_sqlite),
        cmocka_unit_test_setup(test_no_card_on_disk, setup_sqlite),
    };
    int failed = cmocka_run_group_tests_name("ota parse and ingest", checks, NULL, NULL);
    const char *pg = getenv("HERALD_TEST_PG_URL");
    if (pg && *pg) {
        const struct CMUnitTest on_postgres[] = {
            cmocka_unit_test_setup(test_ingest, setup_postgres),
            cmocka_unit_test_setup(test_ingest_batch_rules, setup_postgres),
        };
        failed += cmocka_run_group_tests_name("ota ingest on postgres", on_postgres, NULL, NULL);
    }
    return failed;
}
