/* mail/token.c: signed link tokens. */
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mail/token.h"

static struct mail_keyring key_a, key_b;

static int setup(void **state)
{
    (void)state;
    memset(key_a.key, 0x11, sizeof(key_a.key));
    memset(key_b.key, 0x22, sizeof(key_b.key));
    return 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct mail_token t = {MAIL_TOKEN_UNSUBSCRIBE, 1234567, 42, 7, 0}, out;
    char tok[MAIL_TOKEN_MAX];
    mail_token_make(&key_a, &t, NULL, tok);
    assert_true(strlen(tok) < 64 - 8); /* fits a VERP local part after "bounces+" */
    for (const char *p = tok; *p; p++)
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= '2' && *p <= '7'));
    assert_int_equal(mail_token_parse(&key_a, MAIL_TOKEN_UNSUBSCRIBE, tok, NULL, 0, &out), 0);
    assert_int_equal(out.contact_id, 1234567);
    assert_int_equal(out.campaign_id, 42);
    assert_int_equal(out.list_id, 7);
    /* Case-folded by an MTA: still the same token. */
    char upper[MAIL_TOKEN_MAX];
    for (size_t i = 0; i <= strlen(tok); i++)
        upper[i] = (char)(tok[i] >= 'a' && tok[i] <= 'z' ? tok[i] - 32 : tok[i]);
    assert_int_equal(mail_token_parse(&key_a, MAIL_TOKEN_UNSUBSCRIBE, upper, NULL, 0, &out), 0);
}

static void test_refusals(void **state)
{
    (void)state;
    struct mail_token t = {MAIL_TOKEN_CONFIRM, 5, 0, 3, 1000}, out;
    char tok[MAIL_TOKEN_MAX];
    mail_token_make(&key_a, &t, NULL, tok);
    assert_int_equal(mail_token_parse(&key_a, MAIL_TOKEN_CONFIRM, tok, NULL, 999, &out), 0);
    assert_int_equal(mail_token_parse(&key_a, MAIL_TOKEN_CONFIRM, tok, NULL, 1000, &out),
                     HERALD_ERR_TOKEN_EXPIRED);
    assert_int_equal(mail_token_parse(&key_b, MAIL_TOKEN_CONFIRM, tok, NULL, 0, &out),
                     HERALD_ERR_TOKEN_INVALID);
    assert_int_equal(mail_token_parse(&key_a, MAIL_TOKEN_UNSUBSCRIBE, tok, NULL, 0, &out),
                     HERALD_ERR_TOKEN_INVALID);
    /* Every single-character change is refused. */
    for (size_t i = 0; tok[i]; i++) {
        char bad[MAIL_TOKEN_MAX];
        memcpy(bad, tok, sizeof(bad));
        bad[i] = bad[i] == 'a' ? 'b' : 'a';
        assert_int_not_equal(mail_token_parse(&key_a, MAIL_TOKEN_CONFIRM, bad, NULL, 0, &out), 0);
    }
    assert_int_equal(mail_token_parse(&key_a, MAIL_TOKEN_CONFIRM, "", NULL, 0, &out),
                     HERALD_ERR_TOKEN_INVALID);
    assert_int_equal(mail_token_parse(&key_a, MAIL_TOKEN_CONFIRM, "abc!", NULL, 0, &out),
                     HERALD_ERR_TOKEN_INVALID);
    assert_int_equal(mail_token_parse(&key_a, MAIL_TOKEN_CONFIRM, NULL, NULL, 0, &out),
                     HERALD_ERR_TOKEN_INVALID);
}

static void test_bound_url(void **state)
{
    (void)state;
    struct mail_token t = {MAIL_TOKEN_CLICK, 9, 2, 0, 0}, out;
    char tok[MAIL_TOKEN_MAX], long_url[2000];
    mail_token_make(&key_a, &t, "https://hotel.example/offer", tok);
    assert_int_equal(
        mail_token_parse(&key_a, MAIL_TOKEN_CLICK, tok, "https://hotel.example/offer", 0, &out), 0);
    assert_int_equal(
        mail_token_parse(&key_a, MAIL_TOKEN_CLICK, tok, "https://evil.example/", 0, &out),
        HERALD_ERR_TOKEN_INVALID);
    assert_int_equal(mail_token_parse(&key_a, MAIL_TOKEN_CLICK, tok, NULL, 0, &out),
                     HERALD_ERR_TOKEN_INVALID);
    memset(long_url, 'x', sizeof(long_url) - 1);
    long_url[sizeof(long_url) - 1] = '\0';
    mail_token_make(&key_a, &t, long_url, tok);
    assert_int_equal(mail_token_parse(&key_a, MAIL_TOKEN_CLICK, tok, long_url, 0, &out), 0);
    long_url[5] = 'y';
    assert_int_equal(mail_token_parse(&key_a, MAIL_TOKEN_CLICK, tok, long_url, 0, &out),
                     HERALD_ERR_TOKEN_INVALID);
}

static void test_keyring_file(void **state)
{
    (void)state;
    char path[] = "/tmp/herald-token-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    struct mail_keyring a, b;
    assert_int_equal(mail_keyring_load(path, &a), 0); /* created */
    assert_int_equal(mail_keyring_load(path, &b), 0); /* read back */
    assert_memory_equal(a.key, b.key, sizeof(a.key));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bound_url),
        cmocka_unit_test(test_keyring_file),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
