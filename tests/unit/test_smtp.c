/* mail/smtp.c: the pool against the suite's SMTP receiver (tests/fakes/smtp.py): delivery,
 * reply classification with its stage, dropped connections, AUTH, STARTTLS required, pool
 * timeouts and the rate limits. */
#include "unit.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "mail/smtp.h"

struct fake {
    pid_t pid;
    int smtp_port, http_port;
};

static struct fake fake, fake_auth;

static void fake_start(struct fake *f, const char *user, const char *password)
{
    char script[1024];
    snprintf(script, sizeof(script), "%s", __FILE__);
    char *slash = strrchr(script, '/');
    snprintf(slash, sizeof(script) - (size_t)(slash - script), "/../fakes/smtp.py");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    f->pid = fork();
    if (f->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        if (user)
            execl("/usr/bin/python3", "python3", script, "--user", user, "--password", password,
                  (char *)NULL);
        else
            execl("/usr/bin/python3", "python3", script, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char line[128] = "";
    assert_non_null(fgets(line, sizeof(line), in));
    fclose(in);
    assert_int_equal(sscanf(line, "listening %d %d", &f->smtp_port, &f->http_port), 2);
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    buf_append(arg, p, size * n);
    return size * n;
}

/* One call to the fake's control API; returns the parsed JSON answer. */
static json_t *control(const struct fake *f, const char *method, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->http_port, path);
    struct buf b;
    buf_init(&b, 1 << 24);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    json_t *j = json_loadb(b.data, b.len, 0, NULL);
    buf_free(&b);
    assert_non_null(j);
    return j;
}

static void ctl(const struct fake *f, const char *method, const char *path, const char *body)
{
    json_decref(control(f, method, path, body));
}

static int stat_of(const struct fake *f, const char *name)
{
    json_t *j = control(f, "GET", "/_stats", NULL);
    int v = (int)json_integer_value(json_object_get(j, name));
    json_decref(j);
    return v;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    fake_start(&fake, NULL, NULL);
    fake_start(&fake_auth, "herald", "s3cret");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kill(fake.pid, SIGKILL);
    kill(fake_auth.pid, SIGKILL);
    waitpid(fake.pid, NULL, 0);
    waitpid(fake_auth.pid, NULL, 0);
    return 0;
}

static struct smtp_pool *pool_for(const struct fake *f, int workers, const char *rate,
                                  const char *domain_rate, const char *user, const char *pw)
{
    char url[64];
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", f->smtp_port);
    struct smtp_opts o = {.url = url,
                          .user = user,
                          .password = pw,
                          .helo = "herald.test",
                          .tls = SMTP_TLS_OFF,
                          .workers = workers,
                          .timeout_ms = 5000};
    assert_int_equal(mail_smtp_parse_rate(rate, &o.rate), 0);
    assert_int_equal(mail_smtp_parse_rate(domain_rate, &o.domain_rate), 0);
    struct smtp_pool *p = NULL;
    struct herald_error err = {0};
    assert_int_equal(mail_smtp_pool_open(&o, &p, &err), 0);
    return p;
}

static const char *MSG = "From: a@hotel.example\r\nTo: b@mail.example\r\nSubject: t\r\n\r\n"
                         ".starts with a dot\r\nbody\r\n";

static struct smtp_result send_one(struct smtp_pool *p, const char *rcpt)
{
    struct smtp_conn *c = NULL;
    assert_int_equal(mail_smtp_acquire(p, 1000, &c), 0);
    struct smtp_result r;
    assert_int_equal(mail_smtp_send(c, "bounces+x@hotel.example", rcpt, MSG, strlen(MSG), -1, &r),
                     0);
    mail_smtp_release(p, c);
    return r;
}

static void test_delivery_and_reuse(void **state)
{
    (void)state;
    ctl(&fake, "DELETE", "/_messages", NULL);
    struct smtp_pool *p = pool_for(&fake, 1, "off", "off", NULL, NULL);
    for (int i = 0; i < 5; i++) {
        struct smtp_result r = send_one(p, "b@mail.example");
        assert_int_equal(r.status, SMTP_OK);
        assert_int_equal(r.code, 250);
    }
    assert_int_equal(stat_of(&fake, "accepted"), 5);
    assert_int_equal(stat_of(&fake, "connections"), 1); /* one kept-open connection */
    json_t *msgs = control(&fake, "GET", "/_messages", NULL);
    json_t *m0 = json_array_get(msgs, 0);
    assert_string_equal(json_string_value(json_object_get(m0, "mail_from")),
                        "bounces+x@hotel.example");
    json_decref(msgs);
    mail_smtp_pool_close(p);
}

static void test_classification(void **state)
{
    (void)state;
    ctl(&fake, "DELETE", "/_messages", NULL);
    ctl(&fake, "POST", "/_faults",
        "{\"reset\":true,\"rcpt\":{\"hard@mail.example\":{\"code\":550},"
        "\"soft@mail.example\":{\"code\":451,\"times\":1}}}");
    struct smtp_pool *p = pool_for(&fake, 2, "off", "off", NULL, NULL);
    struct smtp_result r = send_one(p, "hard@mail.example");
    assert_int_equal(r.status, SMTP_PERMANENT);
    assert_int_equal(r.code, 550);
    assert_int_equal(r.stage, SMTP_STAGE_RCPT);
    assert_non_null(strstr(r.error, "recipient refused by the fake"));
    r = send_one(p, "soft@mail.example");
    assert_int_equal(r.status, SMTP_TRANSIENT);
    assert_int_equal(r.code, 451);
    assert_int_equal(r.stage, SMTP_STAGE_RCPT);
    assert_int_equal(send_one(p, "soft@mail.example").status, SMTP_OK); /* only once */
    ctl(&fake, "POST", "/_faults", "{\"data_code\":554,\"data_count\":1}");
    r = send_one(p, "b@mail.example");
    assert_int_equal(r.status, SMTP_PERMANENT);
    assert_int_equal(r.stage, SMTP_STAGE_DATA);
    assert_int_equal(r.code, 554);
    ctl(&fake, "POST", "/_faults", "{\"data_code\":452,\"data_count\":1}");
    r = send_one(p, "b@mail.example");
    assert_int_equal(r.status, SMTP_TRANSIENT);
    assert_int_equal(r.stage, SMTP_STAGE_DATA);
    ctl(&fake, "POST", "/_faults", "{\"mail_code\":421,\"mail_count\":1}");
    r = send_one(p, "b@mail.example");
    assert_int_equal(r.status, SMTP_TRANSIENT);
    assert_int_equal(r.stage, SMTP_STAGE_MAIL);
    assert_int_equal(send_one(p, "b@mail.example").status, SMTP_OK);
    mail_smtp_pool_close(p);
}

static void test_dropped_connection(void **state)
{
    (void)state;
    ctl(&fake, "POST", "/_faults", "{\"reset\":true,\"drop\":1}");
    struct smtp_pool *p = pool_for(&fake, 1, "off", "off", NULL, NULL);
    int before = stat_of(&fake, "connections");
    struct smtp_result r = send_one(p, "b@mail.example");
    assert_int_equal(r.status, SMTP_TRANSIENT);
    assert_int_equal(r.code, 0);
    assert_true(r.error[0] != '\0');
    r = send_one(p, "b@mail.example"); /* reopened */
    assert_int_equal(r.status, SMTP_OK);
    assert_int_equal(stat_of(&fake, "connections"), before + 2);
    mail_smtp_pool_close(p);
}

static void test_unreachable_and_tls(void **state)
{
    (void)state;
    struct smtp_opts o = {.url = "smtp://127.0.0.1:1", .workers = 1, .timeout_ms = 2000};
    struct smtp_pool *p = NULL;
    assert_int_equal(mail_smtp_pool_open(&o, &p, NULL), 0);
    struct smtp_result r = send_one(p, "b@mail.example");
    assert_int_equal(r.status, SMTP_TRANSIENT);
    assert_int_equal(r.stage, SMTP_STAGE_CONNECT);
    mail_smtp_pool_close(p);
    /* STARTTLS required, the fake offers none: refused before MAIL, as a configuration error */
    char url[64];
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", fake.smtp_port);
    o = (struct smtp_opts){.url = url, .tls = SMTP_TLS_REQUIRED, .workers = 1, .timeout_ms = 2000};
    assert_int_equal(mail_smtp_pool_open(&o, &p, NULL), 0);
    r = send_one(p, "b@mail.example");
    assert_int_equal(r.status, SMTP_PERMANENT);
    assert_int_equal(r.stage, SMTP_STAGE_CONNECT);
    mail_smtp_pool_close(p);
    struct herald_error err = {0};
    o.url = "http://127.0.0.1:25";
    assert_int_equal(mail_smtp_pool_open(&o, &p, &err), HERALD_ERR_CONFIG);
    assert_string_equal(err.field, "HERALD_SMTP_URL");
}

static void test_auth(void **state)
{
    (void)state;
    struct smtp_pool *p = pool_for(&fake_auth, 1, "off", "off", "herald", "s3cret");
    assert_int_equal(send_one(p, "b@mail.example").status, SMTP_OK);
    assert_int_equal(stat_of(&fake_auth, "auth"), 1);
    mail_smtp_pool_close(p);
    p = pool_for(&fake_auth, 1, "off", "off", "herald", "wrong");
    struct smtp_result r = send_one(p, "b@mail.example");
    assert_int_equal(r.status, SMTP_PERMANENT);
    assert_int_equal(r.stage, SMTP_STAGE_CONNECT);
    assert_null(strstr(r.error, "wrong"));
    mail_smtp_pool_close(p);
}

static void test_pool_timeout(void **state)
{
    (void)state;
    struct smtp_pool *p = pool_for(&fake, 1, "off", "off", NULL, NULL);
    struct smtp_conn *a = NULL, *b = NULL;
    assert_int_equal(mail_smtp_acquire(p, 100, &a), 0);
    int64_t t0 = clock_mono_ns();
    assert_int_equal(mail_smtp_acquire(p, 200, &b), HERALD_ERR_SMTP);
    assert_true(clock_mono_ns() - t0 >= 190 * 1000000LL);
    mail_smtp_release(p, a);
    assert_int_equal(mail_smtp_acquire(p, 100, &b), 0);
    assert_ptr_equal(a, b);
    mail_smtp_release(p, b);
    /* a private connection shares the pool's options */
    struct smtp_conn *own = NULL;
    assert_int_equal(mail_smtp_conn_open(p, &own), 0);
    struct smtp_result r;
    assert_int_equal(
        mail_smtp_send(own, "a@hotel.example", "b@mail.example", MSG, strlen(MSG), -1, &r), 0);
    assert_int_equal(r.status, SMTP_OK);
    mail_smtp_conn_close(own);
    mail_smtp_pool_stop(p);
    assert_int_equal(mail_smtp_acquire(p, 100, &b), HERALD_ERR_SHUTTING_DOWN);
    mail_smtp_pool_close(p);
}

static void test_rate_limits(void **state)
{
    (void)state;
    ctl(&fake, "POST", "/_faults", "{\"reset\":true}");
    /* 20/s global: a burst of 20 (one second's worth) at once, 10 more take ~0.5 s */
    struct smtp_pool *p = pool_for(&fake, 1, "20/s", "off", NULL, NULL);
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < 30; i++)
        assert_int_equal(send_one(p, "b@mail.example").status, SMTP_OK);
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    assert_true(secs >= 0.45);
    mail_smtp_pool_close(p);
    /* 2/s per domain: another domain is not held back; a short max wait gives RATE */
    p = pool_for(&fake, 1, "off", "2/s", NULL, NULL);
    struct smtp_conn *c = NULL;
    assert_int_equal(mail_smtp_acquire(p, 100, &c), 0);
    struct smtp_result r;
    for (int i = 0; i < 2; i++) {
        mail_smtp_send(c, "a@hotel.example", "x@slow.example", MSG, strlen(MSG), 0, &r);
        assert_int_equal(r.status, SMTP_OK);
    }
    mail_smtp_send(c, "a@hotel.example", "y@slow.example", MSG, strlen(MSG), 10, &r);
    assert_int_equal(r.status, SMTP_TRANSIENT);
    assert_int_equal(r.stage, SMTP_STAGE_RATE);
    assert_true(r.retry_after_ms > 100 && r.retry_after_ms <= 501);
    mail_smtp_send(c, "a@hotel.example", "z@other.example", MSG, strlen(MSG), 0, &r);
    assert_int_equal(r.status, SMTP_OK);
    mail_smtp_release(p, c);
    mail_smtp_pool_close(p);
}

static void test_refuses_bad_addresses(void **state)
{
    (void)state;
    struct smtp_pool *p = pool_for(&fake, 1, "off", "off", NULL, NULL);
    struct smtp_conn *c = NULL;
    assert_int_equal(mail_smtp_acquire(p, 100, &c), 0);
    struct smtp_result r;
    assert_int_equal(mail_smtp_send(c, "a@h.example", "b@m.example>\r\nRCPT TO:<c@d.example", MSG,
                                    strlen(MSG), -1, &r),
                     HERALD_ERR_INVALID);
    assert_int_equal(mail_smtp_send(c, "a@h.example\r\n", "b@m.example", MSG, strlen(MSG), -1, &r),
                     HERALD_ERR_INVALID);
    mail_smtp_release(p, c);
    mail_smtp_pool_close(p);
    struct cfg_rate rate;
    assert_int_equal(mail_smtp_parse_rate("fast", &rate), HERALD_ERR_INVALID);
    enum smtp_tls tls;
    assert_int_equal(mail_smtp_parse_tls("maybe", &tls), HERALD_ERR_INVALID);
    assert_int_equal(mail_smtp_parse_tls("required", &tls), 0);
    assert_int_equal(tls, SMTP_TLS_REQUIRED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivery_and_reuse),
        cmocka_unit_test(test_classification),
        cmocka_unit_test(test_dropped_connection),
        cmocka_unit_test(test_unreachable_and_tls),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_pool_timeout),
        cmocka_unit_test(test_rate_limits),
        cmocka_unit_test(test_refuses_bad_addresses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
