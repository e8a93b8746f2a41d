#include "unit.h"

#include "base/err.h"
#include "events/key.h"

static struct evkey_input base_input(void)
{
    return (struct evkey_input){
        "lemlist", "test_campaign", "test_event", "test@example.com", NULL, NULL, NULL};
}

static void key_of(struct evkey_input in, char out[EVKEY_MAX_LEN])
{
    struct evkey_fields f;
    struct evkey_problem p;
    assert_int_equal(evkey_validate(&in, &f, &p), HERALD_OK);
    evkey_compute(&f, out);
}

static void test_known_vector(void **state)
{
    (void)state;
    char key[EVKEY_MAX_LEN];
    key_of(base_input(), key);
    /* sha256("v1\x1flemlist\x1ftest_campaign\x1ftest_event\x1ftest@example.com")[:16] */
    assert_string_equal(key, "lemlist_testcampaign_testevent_96fcda0caa9f0092");
}

static void test_prefix_is_squashed(void **state)
{
    (void)state;
    struct evkey_input in = base_input();
    in.campaign_id = "Recovery_Test";
    in.event_type = "Email.Opened-2";
    char key[EVKEY_MAX_LEN];
    key_of(in, key);
    assert_memory_equal(key, "lemlist_recoverytest_emailopened2_", 34);
    assert_int_equal(strlen(key), 34 + 16);
}

static void test_normalisation_and_namespace(void **state)
{
    (void)state;
    char a[EVKEY_MAX_LEN], b[EVKEY_MAX_LEN], c[EVKEY_MAX_LEN];
    key_of(base_input(), a);
    struct evkey_input in = base_input();
    in.email = "  TEST@Example.COM\t";
    in.namespace_ = "elsewhere";
    in.platform = "LEMLIST";
    key_of(in, b);
    assert_string_equal(a, b);
    in = base_input();
    in.source_id = "act_1";
    key_of(in, c);
    assert_string_not_equal(a, c);
}

static void test_occurred_at_is_an_instant(void **state)
{
    (void)state;
    char a[EVKEY_MAX_LEN], b[EVKEY_MAX_LEN], c[EVKEY_MAX_LEN];
    struct evkey_input in = base_input();
    in.occurred_at = "2024-01-15T10:30:00Z";
    key_of(in, a);
    in.occurred_at = "2024-01-15T05:30:00.000-05:00";
    key_of(in, b);
    in.occurred_at = "2024-01-15T10:30:00.001Z";
    key_of(in, c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
}

static void expect_problem(struct evkey_input in, const char *field)
{
    struct evkey_fields f;
    struct evkey_problem p = {0};
    assert_int_equal(evkey_validate(&in, &f, &p), HERALD_ERR_INVALID);
    assert_string_equal(p.field, field);
    assert_non_null(p.message);
}

static void test_validation(void **state)
{
    (void)state;
    struct evkey_input in;
#define CASE(member, value, field)                                                                 \
    in = base_input();                                                                             \
    in.member = value;                                                                             \
    expect_problem(in, field)
    CASE(platform, NULL, "platform");
    CASE(platform, "mailchimp", "platform");
    CASE(campaign_id, "", "campaignId");
    CASE(campaign_id, "a b", "campaignId");
    CASE(campaign_id, "x'; DROP TABLE event_source; --", "campaignId");
    CASE(event_type, "a:b", "eventType");
    CASE(email, "nobody", "email");
    CASE(email, "a@localhost", "email");
    CASE(email, ".a@example.com", "email");
    CASE(email, "a..b@example.com", "email");
    CASE(email, "a@-example.com", "email");
    CASE(source_id, "has space", "sourceId");
    CASE(occurred_at, "2024-01-15", "occurredAt");
    CASE(occurred_at, "2024-01-15T10:30:00", "occurredAt");
    CASE(namespace_, "", "namespace");
#undef CASE
    char long_campaign[130];
    memset(long_campaign, 'a', 129);
    long_campaign[129] = '\0';
    in = base_input();
    in.campaign_id = long_campaign;
    expect_problem(in, "campaignId");
    in.campaign_id = long_campaign + 1; /* exactly 128 */
    char key[EVKEY_MAX_LEN];
    key_of(in, key);
    assert_true(strlen(key) < EVKEY_MAX_LEN);
}

static void test_email_rules(void **state)
{
    (void)state;
    assert_true(evkey_email_valid("first.last+tag@sub.example.co.uk"));
    assert_true(evkey_email_valid("o'neil@example.ie"));
    assert_false(evkey_email_valid("a@b"));
    assert_false(evkey_email_valid("a@b..com"));
    assert_false(evkey_email_valid("a@example.com."));
    assert_false(evkey_email_valid("a b@example.com"));
    char long_email[300];
    memset(long_email, 'a', 250);
    strcpy(long_email + 250, "@example.com");
    assert_false(evkey_email_valid(long_email));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vector),
        cmocka_unit_test(test_prefix_is_squashed),
        cmocka_unit_test(test_normalisation_and_namespace),
        cmocka_unit_test(test_occurred_at_is_an_instant),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_email_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
