/* The hardened OpenTravel reader and RS writer (ota/xml.h) and the reservation parser over the
 * channel fixtures in tests/fixtures/ota: every shape's fields, card data dropped, hostile XML
 * refused, ids and statuses picked by the documented rules, stable revision keys. */
#include "unit.h"

#include <unistd.h>

#include "ota/res_parse_internal.h"
#include "ota/reservations.h"
#include "ota/xml.h"
#include "ota_fixtures.h"

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

/* libxml2 says nothing on stderr, whatever the input: its messages quote input bytes. */
static void test_xml_silent(void **state)
{
    (void)state;
    char dir[256], path[300];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/stderr", dir);
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    dup2(fileno(f), 2);
    const char *inputs[] = {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>4111111111111111\xff\xfe</a>",
        "<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?><a>4111111111111111\x1b$B\xff</a>",
        "<?xml version=\"1.0\" encoding=\"x-none\"?><a>4111111111111111</a>",
        "<a><b>4111111111111111</a>",
        "<a>&undefined4111111111111111;</a>",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        struct ota_xml_doc *d = NULL;
        struct herald_error err = {0};
        assert_int_equal(ota_xml_parse(inputs[i], strlen(inputs[i]), NULL, &d, &err),
                         HERALD_ERR_XML_INVALID);
        assert_null(strstr(err.message, "4111"));
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fseek(f, 0, SEEK_END);
    assert_int_equal(ftell(f), 0);
    fclose(f);
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
    char s2[] = "ref 4111111111111113 stays"; /* no 13-19 digit window passes Luhn */
    ota_mask_card_runs(s2);
    assert_string_equal(s2, "ref 4111111111111113 stays");
    char s3[] = "5500-0000-0000-0004";
    ota_mask_card_runs(s3);
    assert_string_equal(s3, "XXXX-XXXX-XXXX-XXXX");
    /* A card next to other digits forms a longer run that fails Luhn as a whole: the card's
     * own window is masked (and any neighbour a passing window also covers). */
    char cvv[] = "4111 1111 1111 1111 123";
    ota_mask_card_runs(cvv);
    assert_string_equal(cvv, "XXXX XXXX XXXX XXXX XX3");
    char expiry[] = "4111111111111111 1227";
    ota_mask_card_runs(expiry);
    assert_string_equal(expiry, "XXXXXXXXXXXXXXXX XXXX");
    char room[] = "room 2 4111111111111111";
    ota_mask_card_runs(room);
    assert_string_equal(room, "room 2 XXXXXXXXXXXXXXXX");
    char amex[] = "amex 3782-822463-10005 exp 0928";
    ota_mask_card_runs(amex);
    assert_string_equal(amex, "amex XXXX-XXXXXX-XXXXX exp 0928");
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

static void test_reservation_ids(void **state)
{
    (void)state;
    struct ota_res_message m;
    struct herald_error err;
    const char *order = "<OTA_HotelResNotifRQ><HotelReservations><HotelReservation>"
                        "<UniqueID Type='16' ID='msg-1'/><UniqueID Type='15' ID='cx-9'/>"
                        "<UniqueID Type='14' ID='res-1'/></HotelReservation>"
                        "</HotelReservations></OTA_HotelResNotifRQ>";
    assert_int_equal(ota_res_parse(order, strlen(order), 0, &m, &err), HERALD_OK);
    assert_string_equal(m.items[0].res_id, "res-1");
    ota_res_message_free(&m);
    const char *typed = "<OTA_HotelResNotifRQ><HotelReservations><HotelReservation>"
                        "<ResGlobalInfo><HotelReservationIDs>"
                        "<HotelReservationID ResID_Type='13' ResID_Value='summer-promo'/>"
                        "<HotelReservationID ResID_Type='3' ResID_Value='77'/>"
                        "<HotelReservationID ResID_Type='14' ResID_Value='bk-5'/>"
                        "</HotelReservationIDs></ResGlobalInfo></HotelReservation>"
                        "</HotelReservations></OTA_HotelResNotifRQ>";
    assert_int_equal(ota_res_parse(typed, strlen(typed), 0, &m, &err), HERALD_OK);
    assert_string_equal(m.items[0].res_id, "bk-5");
    assert_int_equal(m.items[0].status, OTA_RES_COMMIT);
    ota_res_message_free(&m);
    const char *foreign = "<OTA_HotelResNotifRQ><HotelReservations><HotelReservation>"
                          "<UniqueID Type='16' ID='msg-1'/><ResGlobalInfo><HotelReservationIDs>"
                          "<HotelReservationID ResID_Type='13' ResID_Value='summer-promo'/>"
                          "</HotelReservationIDs></ResGlobalInfo></HotelReservation>"
                          "</HotelReservations></OTA_HotelResNotifRQ>";
    assert_int_equal(ota_res_parse(foreign, strlen(foreign), 0, &m, &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, "HotelReservation[0]");
    /* Statuses: a PMS state on the reservation beats the root's transaction status. */
    const char *pms = "<OTA_HotelResNotifRQ ResStatus='Modify'><HotelReservations>"
                      "<HotelReservation ResStatus='In-house'><UniqueID Type='14' ID='a'/>"
                      "</HotelReservation><HotelReservation ResStatus='Reserved'>"
                      "<UniqueID Type='14' ID='b'/></HotelReservation><HotelReservation "
                      "ResStatus='No-show'><UniqueID Type='14' ID='c'/></HotelReservation>"
                      "<HotelReservation ResStatus='Requested'><UniqueID Type='14' ID='d'/>"
                      "</HotelReservation>"
                      "</HotelReservations></OTA_HotelResNotifRQ>";
    assert_int_equal(ota_res_parse(pms, strlen(pms), 0, &m, &err), HERALD_OK);
    assert_int_equal(m.items[0].status, OTA_RES_IN_HOUSE);
    assert_int_equal(m.items[1].status, OTA_RES_MODIFY);
    assert_int_equal(m.items[2].status, OTA_RES_NO_SHOW);
    assert_int_equal(m.items[3].status, OTA_RES_RESERVED); /* an AlpineBits inquiry */
    assert_string_equal(ota_res_status_name(m.items[0].status), "in_house");
    ota_res_message_free(&m);
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

/* A raw answer kept as a dead letter: payment elements cut out even from malformed XML. */
static void test_scrub_raw_copy(void **state)
{
    (void)state;
    const char *raw =
        "<OTA_HotelResNotifRQ><Guarantee><GuaranteesAccepted><GuaranteeAccepted>"
        "<ota:PaymentCard CardCode=\"VI\" CardNumber=\"4111111111111111\" SeriesCode=\"737\">"
        "<CardHolderName>Ann Guest</CardHolderName></ota:PaymentCard></GuaranteeAccepted>"
        "</GuaranteesAccepted></Guarantee><Comment>card 4111 1111 1111 1111</Comment>"
        "<PaymentCard CardNumber=\"5555555555554444\"/><ResGuest>kept</ResGuest>"
        "<PaymentCard CardNumber=\"378282246310005\" SeriesCode=\"1234\"><unclosed";
    char *out = ota_scrub_raw_copy(raw, 65536);
    assert_non_null(out);
    assert_null(strstr(out, "4111"));
    assert_null(strstr(out, "5555555555554444"));
    assert_null(strstr(out, "378282246310005"));
    assert_null(strstr(out, "737"));
    assert_null(strstr(out, "1234"));
    assert_null(strstr(out, "Ann Guest"));
    assert_non_null(strstr(out, "<ResGuest>kept</ResGuest>"));
    assert_non_null(strstr(out, "payment data removed"));
    free(out);
    char *cut = ota_scrub_raw_copy("<a>0123456789</a>", 5);
    assert_string_equal(cut, "<a>01");
    free(cut);
    assert_null(ota_scrub_raw_copy(NULL, 10));
}

/* A document parsed once (for its WS-Security header) reads as the bytes do, card data
 * dropped; the thread's reused parser context still refuses a DOCTYPE after a good parse and
 * parses again after a refusal. */
static void test_parse_doc_and_reuse(void **state)
{
    (void)state;
    size_t len;
    char *xml = load_fixture("siteminder_push_soap11.xml", &len);
    const char *bad[] = {"<!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>",
                         "<a><b></a>"};
    struct ota_res_message a, b;
    struct herald_error err = {0};
    struct ota_xml_doc *doc = NULL;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(ota_res_parse(xml, len, 0, &a, &err), HERALD_OK);
        assert_int_equal(ota_xml_parse(xml, len, NULL, &doc, &err), HERALD_OK);
        assert_int_equal(ota_res_parse_doc(doc, &b, &err), HERALD_OK);
        assert_null(ota_xml_find(ota_xml_body(doc), "PaymentCard"));
        ota_xml_free(doc);
        assert_int_equal(b.n, a.n);
        assert_true(b.soap);
        assert_string_equal(a.items[0].revision_key, b.items[0].revision_key);
        assert_string_equal(a.items[0].guest.email, b.items[0].guest.email);
        ota_res_message_free(&a);
        ota_res_message_free(&b);
        const char *x = bad[round % 2];
        assert_int_equal(ota_xml_parse(x, strlen(x), NULL, &doc, &err), HERALD_ERR_XML_INVALID);
        assert_null(doc);
    }
    free(xml);
}

int main(void)
{
    const struct CMUnitTest checks[] = {
        cmocka_unit_test(test_xml_reader),         cmocka_unit_test(test_xml_soap),
        cmocka_unit_test(test_xml_limits),         cmocka_unit_test(test_xml_silent),
        cmocka_unit_test(test_rs_writer),          cmocka_unit_test(test_mask_and_decimals),
        cmocka_unit_test(test_booking_new),        cmocka_unit_test(test_booking_modify_cancel),
        cmocka_unit_test(test_siteminder),         cmocka_unit_test(test_alpinebits),
        cmocka_unit_test(test_cancel_and_expedia), cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_reservation_ids),    cmocka_unit_test(test_revision_key_stable),
        cmocka_unit_test(test_scrub_raw_copy),     cmocka_unit_test(test_parse_doc_and_reuse),
    };
    return cmocka_run_group_tests_name("ota xml and parse", checks, NULL, NULL);
}
