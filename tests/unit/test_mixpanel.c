/* Mixpanel import bodies (sync/mixpanel_batch.c): the JSON of each event, where each lies in
 * the array, parts of it gzip'd alone. */
#include "unit.h"

#include <jansson.h>
#include <zlib.h>

#include "base/err.h"
#include "sync/mixpanel.h"
#include "sync/mixpanel_batch.h"

static struct store_event row(int64_t id, char *key, char *email, char *payload)
{
    return (struct store_event){.id = id,
                                .event_key = key,
                                .platform = "lemlist",
                                .campaign_id = "c1",
                                .event_type = "opened",
                                .email = email,
                                .namespace_ = "n\"s",
                                .payload = payload,
                                .has_occurred_at = true,
                                .occurred_at_ms = 1705314600000,
                                .created_at_ms = 1};
}

static void test_batch_json(void **state)
{
    (void)state;
    struct store_event rows[] = {
        row(1, "herald_k1", "a@example.com", "{\"type\":\"emailsOpened\"}"),
        row(2, "herald_k2", "b@example.com", NULL)};
    rows[1].has_occurred_at = false;
    rows[1].created_at_ms = -5;
    struct mixpanel_batch b;
    assert_int_equal(mixpanel_batch_build(rows, 2, NULL, &b), HERALD_OK);
    json_t *doc = json_loads(b.json, 0, NULL);
    assert_true(json_is_array(doc) && json_array_size(doc) == 2);
    json_t *p = json_object_get(json_array_get(doc, 0), "properties");
    char iid[33];
    mixpanel_insert_id("herald_k1", iid);
    assert_string_equal(json_string_value(json_object_get(p, "$insert_id")), iid);
    assert_int_equal(json_integer_value(json_object_get(p, "time")), 1705314600000);
    assert_string_equal(json_string_value(json_object_get(p, "distinct_id")), "a@example.com");
    assert_string_equal(json_string_value(json_object_get(p, "namespace")), "n\"s");
    assert_string_equal(json_string_value(json_object_get(p, "upstream_type")), "emailsOpened");
    p = json_object_get(json_array_get(doc, 1), "properties");
    assert_int_equal(json_integer_value(json_object_get(p, "time")), -5);
    assert_null(json_object_get(p, "upstream_type"));
    json_decref(doc);
    char *second = mixpanel_batch_event(&b, 1);
    json_t *one = json_loads(second, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(one, "event")), "opened");
    json_decref(one);
    free(second);
    mixpanel_batch_free(&b);
}

/* The upstream type is read from the stored payload without parsing it whole: it must give
 * jansson's answer for the top-level "type" string, and nothing for anything else. */
static void test_upstream_type_of_payloads(void **state)
{
    (void)state;
    const char *payloads[] = {
        "{\"type\":\"emailsOpened\"}",
        " { \"_id\" : \"a\\\"type\\\":x\" , \"type\" : \"emailsClicked\" } ",
        "{\"nested\":{\"type\":\"inner\"},\"list\":[1,{\"type\":\"x\"},\"]\"],\"type\":\"outer\"}",
        "{\"n\":-1.5e3,\"t\":true,\"z\":null,\"type\":\"caf\\u00e9 \\\"q\\\"\"}",
        "{\"type\":7}",
        "{\"types\":\"no\",\"typ\":\"no\"}",
        "{\"a\":{\"type\":\"only nested\"}}",
        "[\"type\",\"x\"]",
        "{\"type\":\"bad\\q\"}",
        "{\"type\":\"\\ud800\"}",      /* a lone surrogate: jansson refuses the payload */
        "{\"type\":\"h\\u00e9tel\"}",  /* decoded by jansson */
        "{\"type\":\"h\xc3\xa9tel\"}", /* UTF-8 as stored */
        "{\"type\":\"\xff\"}",         /* not UTF-8: refused */
        "{\"type\":\"unterminated",
        "{\"a\":[1,2,{\"b\":\"}",
        "",
    };
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        struct store_event r = row(1, "herald_k1", "a@example.com", (char *)payloads[i]);
        struct mixpanel_batch b;
        assert_int_equal(mixpanel_batch_build(&r, 1, NULL, &b), HERALD_OK);
        json_t *doc = json_loads(b.json, 0, NULL);
        assert_non_null(doc); /* whatever the payload, the body stays valid JSON */
        json_t *got =
            json_object_get(json_object_get(json_array_get(doc, 0), "properties"), "upstream_type");
        json_t *payload = json_loads(payloads[i], 0, NULL);
        json_t *want = json_object_get(payload, "type");
        if (json_is_string(want))
            assert_string_equal(json_string_value(got), json_string_value(want));
        else
            assert_null(got);
        json_decref(payload);
        json_decref(doc);
        mixpanel_batch_free(&b);
    }
}

static void test_batch_hashed_and_part(void **state)
{
    (void)state;
    struct store_event rows[] = {row(1, "k1", "a@example.com", NULL),
                                 row(2, "k2", "b@example.com", NULL),
                                 row(3, "k3", "c@example.com", NULL)};
    struct mixpanel_batch b;
    assert_int_equal(mixpanel_batch_build(rows, 3, "0123456789abcdef", &b), HERALD_OK);
    size_t gz_len = 0;
    bool too_big = true;
    char *gz = mixpanel_batch_gzip(&b, 1, 3, &gz_len, &too_big);
    assert_non_null(gz);
    assert_false(too_big);
    char plain[4096];
    uLongf plain_len = sizeof(plain) - 1;
    z_stream zs = {.next_in = (Bytef *)gz,
                   .avail_in = (uInt)gz_len,
                   .next_out = (Bytef *)plain,
                   .avail_out = (uInt)plain_len};
    assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    plain[zs.total_out] = '\0';
    inflateEnd(&zs);
    free(gz);
    json_t *doc = json_loads(plain, 0, NULL);
    assert_true(json_is_array(doc) && json_array_size(doc) == 2);
    json_t *p = json_object_get(json_array_get(doc, 0), "properties");
    assert_string_equal(json_string_value(json_object_get(p, "herald_event_key")), "k2");
    char want[65];
    assert_int_equal(mixpanel_hashed_id("0123456789abcdef", "b@example.com", want), HERALD_OK);
    assert_string_equal(json_string_value(json_object_get(p, "distinct_id")), want);
    assert_null(json_object_get(p, "email"));
    json_decref(doc);
    mixpanel_batch_free(&b);
}

/* RFC 4231 test case 2, then the address lower-cased before the MAC. */
static void test_hashed_id_is_an_hmac(void **state)
{
    (void)state;
    char out[65];
    assert_int_equal(mixpanel_hashed_id("Jefe", "what do ya want for nothing?", out), HERALD_OK);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    char upper[65];
    assert_int_equal(mixpanel_hashed_id("k", "A@Example.COM", upper), HERALD_OK);
    assert_int_equal(mixpanel_hashed_id("k", "a@example.com", out), HERALD_OK);
    assert_string_equal(upper, out);
    assert_int_equal(mixpanel_hashed_id("k2", "a@example.com", upper), HERALD_OK);
    assert_string_not_equal(upper, out); /* a new key, a new id */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_json), cmocka_unit_test(test_upstream_type_of_payloads),
        cmocka_unit_test(test_batch_hashed_and_part), cmocka_unit_test(test_hashed_id_is_an_hmac)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
