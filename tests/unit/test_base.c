/* base/: buffers, clock, configuration, crypto, error table. */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include <jansson.h>

#include "base/backoff.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/crypto.h"
#include "base/err.h"
#include "base/gzip.h"
#include "base/text.h"

#include <zlib.h>

static void test_buf_caps(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_append_str(&b, "hello"), HERALD_OK);
    assert_int_equal(buf_printf(&b, "%d", 12345), HERALD_OK);
    assert_string_equal(b.data, "hello12345");
    assert_int_equal(buf_append_str(&b, "x"), HERALD_ERR_TOO_LARGE);
    assert_string_equal(b.data, "hello12345");
    char *out;
    size_t len;
    assert_int_equal(buf_steal(&b, &out, &len), HERALD_OK);
    assert_int_equal(len, 10);
    assert_null(b.data);
    free(out);
    buf_free(&b);
}

static void test_buf_json_string(void **state)
{
    (void)state;
    const char *cases[] = {"plain", "quote \" back\\slash", "ctl \x01\x1f\n\t\r", "üñí €", ""};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, 1024);
        assert_int_equal(buf_append_json_string(&b, cases[i]), 0);
        json_t *v = json_loads(b.data, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        assert_string_equal(json_string_value(v), cases[i]);
        json_decref(v);
        buf_free(&b);
    }
}

static void test_clock_parse(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(clock_parse_iso("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(clock_parse_iso("2024-01-15T10:30:00Z", &ms), 0);
    assert_int_equal(ms, 1705314600000LL);
    assert_int_equal(clock_parse_iso("2024-01-15T11:30:00.250+01:00", &ms), 0);
    assert_int_equal(ms, 1705314600250LL);
    assert_int_equal(clock_parse_iso("2024-02-29", &ms), 0);
    assert_int_equal(clock_parse_iso("2023-02-29", &ms), HERALD_ERR_INVALID);
    assert_int_equal(clock_parse_iso("2024-01-15T10:30:00", &ms), HERALD_ERR_INVALID);
    assert_int_equal(clock_parse_iso("2024-01-15T25:00:00Z", &ms), HERALD_ERR_INVALID);
    assert_int_equal(clock_parse_iso("2024-01-15T10:30:00Zjunk", &ms), HERALD_ERR_INVALID);
    assert_int_equal(clock_parse_iso("", &ms), HERALD_ERR_INVALID);
    char out[40];
    clock_format_iso_ms(1705314600250LL, out, sizeof(out));
    assert_string_equal(out, "2024-01-15T10:30:00.250Z");
    clock_format_iso(1705314600250LL, out, sizeof(out));
    assert_string_equal(out, "2024-01-15T10:30:00Z");
}

static void test_config_rates(void **state)
{
    (void)state;
    struct cfg_rate r;
    assert_int_equal(cfg_parse_rate("100/min", &r), 0);
    assert_int_equal(r.count, 100);
    assert_int_equal(r.period_sec, 60);
    assert_int_equal(cfg_parse_rate("5/s", &r), 0);
    assert_int_equal(r.period_sec, 1);
    assert_int_equal(cfg_parse_rate("5000/h", &r), 0);
    assert_int_equal(r.period_sec, 3600);
    assert_int_equal(cfg_parse_rate("20/2s", &r), 0);
    assert_int_equal(r.count, 20);
    assert_int_equal(r.period_sec, 2);
    assert_int_equal(cfg_parse_rate("20/0s", &r), HERALD_ERR_INVALID);
    assert_int_equal(cfg_parse_rate("0/min", &r), HERALD_ERR_INVALID);
    assert_int_equal(cfg_parse_rate("10/day", &r), HERALD_ERR_INVALID);
    assert_int_equal(cfg_parse_rate("/min", &r), HERALD_ERR_INVALID);
}

static void test_config_load(void **state)
{
    (void)state;
    struct cfg cfg;
    char err[256];
    unsetenv("HERALD_LISTEN");
    setenv("HERALD_MAX_BODY", "512KiB", 1);
    assert_int_equal(cfg_load(&cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.max_body, 512 * 1024);
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8080);
    assert_int_equal(cfg.rate_limit.count, 100);
    cfg_free(&cfg);
    setenv("HERALD_DB_POOL_MAX", "many", 1);
    assert_int_equal(cfg_load(&cfg, err, sizeof(err)), HERALD_ERR_CONFIG);
    assert_non_null(strstr(err, "HERALD_DB_POOL_MAX"));
    cfg_free(&cfg);
    struct herald_error detail;
    assert_int_equal(cfg_read(&cfg, &detail), HERALD_ERR_CONFIG);
    assert_string_equal(detail.field, "HERALD_DB_POOL_MAX");
    assert_string_equal(detail.message,
                        "HERALD_DB_POOL_MAX: must be an integer from 1 to 1000, got \"many\"");
    assert_string_equal(err, detail.message); /* the buffer form carries the same text */
    cfg_free(&cfg);
    unsetenv("HERALD_DB_POOL_MAX");
    setenv("HERALD_DB_POOL_MIN", "30", 1);
    assert_int_equal(cfg_load(&cfg, err, sizeof(err)), HERALD_ERR_CONFIG);
    assert_non_null(strstr(err, "HERALD_DB_POOL_MIN"));
    cfg_free(&cfg);
    unsetenv("HERALD_DB_POOL_MIN");
    unsetenv("HERALD_MAX_BODY");
}

static void test_config_secret_file(void **state)
{
    (void)state;
    char dir[256], path[300];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/token", dir);
    FILE *f = fopen(path, "w");
    fputs("  from-a-file\n", f);
    fclose(f);
    setenv("HERALD_METRICS_TOKEN_FILE", path, 1);
    struct cfg cfg;
    char err[256];
    assert_int_equal(cfg_load(&cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.metrics_token, "from-a-file");
    cfg_free(&cfg);
    unsetenv("HERALD_METRICS_TOKEN_FILE");
    unlink(path);
    rmdir(dir);
}

static void test_crypto_basics(void **state)
{
    (void)state;
    char hex[65];
    crypto_sha256_hex("abc", hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(crypto_ct_equal("abc", 3, "abc", 3));
    assert_false(crypto_ct_equal("abc", 3, "abd", 3));
    assert_false(crypto_ct_equal("abc", 3, "abcd", 4));
    char b64[16];
    crypto_b64url((const uint8_t *)"\xfb\xff", 2, b64);
    assert_string_equal(b64, "-_8");
    crypto_b64((const uint8_t *)":key", 4, b64);
    assert_string_equal(b64, "OmtleQ==");
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* RFC 4231's HMAC-SHA256 vectors, with keys alternating, repeated and on another thread: the
 * per-thread keyed context must never answer with the previous key's MAC. */
static const char *hmac_hex(const void *key, size_t key_len, const char *data)
{
    static _Thread_local char hex[65];
    uint8_t mac[CRYPTO_SHA256_LEN];
    assert_int_equal(crypto_hmac_sha256(key, key_len, data, strlen(data), mac), HERALD_OK);
    crypto_hex(mac, sizeof(mac), hex);
    return hex;
}

#define RFC4231_1 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
#define RFC4231_2 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
#define RFC4231_6 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"

static void *hmac_other_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        assert_string_equal(hmac_hex("Jefe", 4, "what do ya want for nothing?"), RFC4231_2);
    return NULL;
}

static void test_crypto_hmac(void **state)
{
    (void)state;
    uint8_t k1[20], k6[131];
    memset(k1, 0x0b, sizeof(k1));
    memset(k6, 0xaa, sizeof(k6)); /* longer than the cached key: the one-shot path */
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    for (int i = 0; i < 3; i++) {
        assert_string_equal(hmac_hex(k1, sizeof(k1), "Hi There"), RFC4231_1);
        assert_string_equal(hmac_hex(k1, sizeof(k1), "Hi There"), RFC4231_1);
        assert_string_equal(hmac_hex("Jefe", 4, "what do ya want for nothing?"), RFC4231_2);
        assert_string_equal(hmac_hex(k6, sizeof(k6), d6), RFC4231_6);
    }
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hmac_other_thread, NULL), 0);
    assert_string_equal(hmac_hex(k1, sizeof(k1), "Hi There"), RFC4231_1);
    assert_int_equal(pthread_join(t, NULL), 0);
}

static void test_crypto_files(void **state)
{
    (void)state;
    char dir[256], plain[300], enc[300], dec[300], keyf[300];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(plain, sizeof(plain), "%s/plain", dir);
    snprintf(enc, sizeof(enc), "%s/enc", dir);
    snprintf(dec, sizeof(dec), "%s/dec", dir);
    snprintf(keyf, sizeof(keyf), "%s/key", dir);
    static char data[200000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 7);
    write_file(plain, data, sizeof(data));
    write_file(keyf, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 65);
    uint8_t key[32], other[32];
    assert_int_equal(crypto_load_key_file(keyf, key), 0);
    assert_int_equal(key[1], 0x11);
    assert_int_equal(crypto_encrypt_file(key, plain, enc), 0);
    assert_true(crypto_file_is_encrypted(enc));
    assert_false(crypto_file_is_encrypted(plain));
    assert_int_equal(crypto_decrypt_file(key, enc, dec), 0);
    FILE *f = fopen(dec, "rb");
    static char back[200001];
    assert_int_equal(fread(back, 1, sizeof(back), f), sizeof(data));
    fclose(f);
    assert_memory_equal(back, data, sizeof(data));
    memcpy(other, key, 32);
    other[0] ^= 1;
    assert_int_equal(crypto_decrypt_file(other, enc, dec), HERALD_ERR_BACKUP_INVALID);
    assert_int_equal(access(dec, F_OK), -1); /* no half-written output left behind */
    write_file(keyf, "short", 5);
    assert_int_equal(crypto_load_key_file(keyf, key), HERALD_ERR_CONFIG);
    unlink(plain);
    unlink(enc);
    unlink(keyf);
    rmdir(dir);
}

static void test_backoff(void **state)
{
    (void)state;
    const struct backoff plain = {.first_ms = 250, .max_ms = 30000};
    assert_int_equal(backoff_delay_ms(&plain, 0, NULL), 250);
    assert_int_equal(backoff_delay_ms(&plain, 3, NULL), 2000);
    assert_int_equal(backoff_delay_ms(&plain, 40, NULL), 30000);
    const struct backoff jittered = {.first_ms = 100,
                                     .max_ms = 1000,
                                     .jitter_percent = 50,
                                     .extra_min_ms = 10,
                                     .extra_max_ms = 20};
    unsigned seed = 7;
    bool varied = false;
    int64_t first = backoff_delay_ms(&jittered, 2, &seed);
    for (int i = 0; i < 200; i++) {
        int64_t d = backoff_delay_ms(&jittered, 2, &seed);
        assert_in_range(d, 400 + 10, 400 + 200 + 20);
        varied |= d != first;
    }
    assert_true(varied);
}

static void test_gzip_round_trip(void **state)
{
    (void)state;
    char text[4096];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = (char)('a' + i % 7);
    char *gz;
    size_t gz_len;
    assert_int_equal(gzip_compress(text, sizeof(text), 1, &gz, &gz_len), HERALD_OK);
    assert_true(gz_len < sizeof(text) / 4);
    assert_int_equal((unsigned char)gz[0], 0x1f); /* gzip magic */
    assert_int_equal((unsigned char)gz[1], 0x8b);
    char back[sizeof(text)];
    z_stream zs = {0};
    assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    zs.next_in = (Bytef *)gz;
    zs.avail_in = (uInt)gz_len;
    zs.next_out = (Bytef *)back;
    zs.avail_out = sizeof(back);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, sizeof(text));
    inflateEnd(&zs);
    assert_memory_equal(back, text, sizeof(text));
    free(gz);
}

static void test_text_helpers(void **state)
{
    (void)state;
    assert_true(text_ident_ok("camp_1.a:b-c", 64, "_.:-"));
    assert_false(text_ident_ok("", 64, "_.:-"));
    assert_false(text_ident_ok("a,b", 64, "_.:-"));
    assert_false(text_ident_ok("abcd", 3, ""));
    assert_true(text_hash("a") != text_hash("b"));
    assert_int_equal(text_hash(""), 1469598103934665603ULL);
    uint8_t raw[] = {0xfb, 0xff, 0x00, 'h', 'i'}, out[8];
    char enc[16];
    size_t n;
    crypto_b64url(raw, sizeof(raw), enc);
    assert_int_equal(crypto_b64url_decode(enc, out, sizeof(out), &n), HERALD_OK);
    assert_int_equal(n, sizeof(raw));
    assert_memory_equal(out, raw, sizeof(raw));
    assert_int_equal(crypto_b64url_decode("ab+c", out, sizeof(out), &n), HERALD_ERR_INVALID);
    assert_int_equal(crypto_b64url_decode(enc, out, 2, &n), HERALD_ERR_INVALID);
}

static void test_monotonic_deadline(void **state)
{
    (void)state;
    pthread_cond_t cv;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    assert_int_equal(clock_cond_init(&cv), 0);
    int64_t start = clock_mono_ns();
    struct timespec deadline = clock_deadline_in(30);
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (rc == 0)
        rc = pthread_cond_timedwait(&cv, &mu, &deadline);
    pthread_mutex_unlock(&mu);
    assert_int_equal(rc, ETIMEDOUT);
    assert_true(clock_mono_ns() - start >= 29 * 1000000LL);
    pthread_cond_destroy(&cv);
}

static void test_error_table(void **state)
{
    (void)state;
    assert_string_equal(herald_err_code(HERALD_ERR_INVALID), "validation_failed");
    assert_int_equal(herald_err_http_status(HERALD_ERR_INVALID), 400);
    assert_int_equal(herald_err_http_status(HERALD_ERR_RATE_LIMITED), 429);
    assert_int_equal(herald_err_http_status(HERALD_ERR_DB_SOFT), 503);
    assert_string_equal(herald_err_code((enum herald_err)9999), "internal_error");
    assert_int_equal(HERALD_ERR_CORS_DENIED, 21); /* numbers are stable */

    struct herald_error err;
    assert_int_equal(herald_error_set(&err, HERALD_ERR_INVALID, "steps", "steps must be %d", 3),
                     HERALD_ERR_INVALID);
    assert_int_equal(err.code, HERALD_ERR_INVALID);
    assert_string_equal(err.field, "steps");
    assert_string_equal(herald_error_message(&err), "steps must be 3");
    herald_error_set(&err, HERALD_ERR_DB_SOFT, NULL, NULL);
    assert_string_equal(err.field, "");
    assert_string_equal(herald_error_message(&err), "database busy or unreachable");
    assert_int_equal(herald_error_set(NULL, HERALD_ERR_IO, NULL, "x"), HERALD_ERR_IO);
}

/* docs/errors.md lists every code of the X-macro, row for row. */
static void test_error_table_documented(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof(path), "%s", __FILE__);
    char *slash = strstr(path, "tests/unit/");
    if (!slash)
        skip(); /* built without an absolute source path */
    snprintf(slash, sizeof(path) - (size_t)(slash - path), "docs/errors.md");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    int missing = 0;
#define HERALD_ERR_DOC_ROW(name, num, code, status, msg)                                           \
    do {                                                                                           \
        char row[512];                                                                             \
        snprintf(row, sizeof(row), "| %d | `%s` | `%s` | %d | %s |\n", num, #name, code, status,   \
                 msg);                                                                             \
        if (!strstr(doc, row)) {                                                                   \
            fprintf(stderr, "docs/errors.md lacks the row: %s", row);                              \
            missing++;                                                                             \
        }                                                                                          \
    } while (0);
    HERALD_ERRORS(HERALD_ERR_DOC_ROW)
#undef HERALD_ERR_DOC_ROW
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_caps),
        cmocka_unit_test(test_buf_json_string),
        cmocka_unit_test(test_clock_parse),
        cmocka_unit_test(test_config_rates),
        cmocka_unit_test(test_config_load),
        cmocka_unit_test(test_config_secret_file),
        cmocka_unit_test(test_crypto_basics),
        cmocka_unit_test(test_crypto_files),
        cmocka_unit_test(test_crypto_hmac),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_gzip_round_trip),
        cmocka_unit_test(test_text_helpers),
        cmocka_unit_test(test_monotonic_deadline),
        cmocka_unit_test(test_error_table_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
