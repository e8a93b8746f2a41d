#include "unit.h"

#include "base/clock.h"
#include "base/err.h"
#include "jobs/cron.h"

static int64_t at(const char *iso)
{
    int64_t ms;
    assert_int_equal(clock_parse_iso(iso, &ms), 0);
    return ms;
}

static void expect_next(const char *expr, const char *after, const char *want)
{
    struct cron c;
    char err[128];
    assert_int_equal(cron_parse(expr, &c, err, sizeof(err)), 0);
    char got[40];
    clock_format_iso(cron_next(&c, at(after)), got, sizeof(got));
    assert_string_equal(got, want);
}

static void test_next(void **state)
{
    (void)state;
    expect_next("*/15 * * * *", "2024-01-15T10:07:30Z", "2024-01-15T10:15:00Z");
    expect_next("*/15 * * * *", "2024-01-15T10:15:00Z", "2024-01-15T10:30:00Z");
    expect_next("0 0 * * *", "2024-12-31T23:59:00Z", "2025-01-01T00:00:00Z");
    expect_next("30 9 * * mon-fri", "2024-01-13T12:00:00Z", "2024-01-15T09:30:00Z"); /* Sat */
    expect_next("0 12 29 feb *", "2024-03-01T00:00:00Z", "2028-02-29T12:00:00Z");
    expect_next("0 0 1,15 * 0", "2024-01-02T00:00:00Z", "2024-01-07T00:00:00Z"); /* either day */
    expect_next("5/20 * * * *", "2024-01-15T10:06:00Z", "2024-01-15T10:25:00Z");
    expect_next("0 0 * * 7", "2024-01-15T00:00:00Z", "2024-01-21T00:00:00Z"); /* 7 = Sunday */
    expect_next("@hourly", "2024-01-15T10:00:00Z", "2024-01-15T11:00:00Z");
    expect_next("@every 90s", "2024-01-15T10:00:00Z", "2024-01-15T10:01:30Z");
    struct cron c;
    char err[128];
    assert_int_equal(cron_parse("0 0 30 2 *", &c, err, sizeof(err)), 0);
    assert_int_equal(cron_next(&c, at("2024-01-01T00:00:00Z")), -1);
}

static void test_invalid(void **state)
{
    (void)state;
    const char *bad[] = {"",          "* * * *",      "* * * * * *", "60 * * * *",  "* 24 * * *",
                         "* * 0 * *", "* * * 13 *",   "* * * * 8",   "*/0 * * * *", "5-1 * * * *",
                         "a * * * *", "1,,2 * * * *", "@every",      "@every 0s",   "@every 5d",
                         "@sometimes"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cron c;
        char err[128] = "";
        assert_int_equal(cron_parse(bad[i], &c, err, sizeof(err)), HERALD_ERR_INVALID);
        assert_true(err[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_next), cmocka_unit_test(test_invalid)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
