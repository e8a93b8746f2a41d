/* The upstream HTTP client's pure parts (sync/http_client.c): the Retry-After parser, whose
 * delay-seconds and HTTP-date forms must clamp instead of overflowing. */
#include "unit.h"

#include "sync/http_client.h"

/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date, in milliseconds. */
#define RFC_DATE_MS 784111777000LL

static void test_retry_after_seconds(void **state)
{
    (void)state;
    assert_int_equal(hc_parse_retry_after("0", 0), 0);
    assert_int_equal(hc_parse_retry_after(" 2\r\n", 0), 2000);
    assert_int_equal(hc_parse_retry_after("60", 0), 60000);
    assert_int_equal(hc_parse_retry_after("61", 0), HC_MAX_RETRY_AFTER_MS);
    assert_int_equal(hc_parse_retry_after("99999999999999999999", 0), HC_MAX_RETRY_AFTER_MS);
    assert_int_equal(hc_parse_retry_after("999999999999999999999999999999999999999999", 0),
                     HC_MAX_RETRY_AFTER_MS);
}

static void test_retry_after_refuses_other_numbers(void **state)
{
    (void)state;
    const char *bad[] = {"-1",    "-99999999999999999999",
                         "1.5",   "nan",
                         "NaN",   "inf",
                         "1e30",  "0x10",
                         "",      "   ",
                         "12abc", "soon"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(hc_parse_retry_after(bad[i], 0), -1);
    }
}

static void test_retry_after_http_date(void **state)
{
    (void)state;
    const char *date = "Sun, 06 Nov 1994 08:49:37 GMT";
    assert_int_equal(hc_parse_retry_after(date, RFC_DATE_MS - 5000), 5000);
    assert_int_equal(hc_parse_retry_after(date, RFC_DATE_MS), 0);
    assert_int_equal(hc_parse_retry_after(date, RFC_DATE_MS + 3600000), 0); /* past: now */
    assert_int_equal(hc_parse_retry_after(date, 0), HC_MAX_RETRY_AFTER_MS); /* far: clamped */
    /* The obsolete forms RFC 9110 still asks recipients to accept. */
    assert_int_equal(hc_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", RFC_DATE_MS - 1000),
                     1000);
    assert_int_equal(hc_parse_retry_after("Sun Nov  6 08:49:37 1994", RFC_DATE_MS - 1000), 1000);
    assert_int_equal(hc_parse_retry_after("Sun, 99 Foo 1994 99:99:99 GMT", 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_refuses_other_numbers),
        cmocka_unit_test(test_retry_after_http_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
