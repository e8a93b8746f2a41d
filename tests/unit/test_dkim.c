/* mail/dkim.c: signatures checked by libopendkim's verifier and by dkimpy (not by our code),
 * key generation, configuration errors, concurrent signing. */
#include "unit.h"

#include <opendkim/dkim.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "mail/dkim.h"
#include "mail/mime.h"

static char dir[512], rsa_path[600], ed_path[600];
static char rsa_txt[1024], ed_txt[256];

static int setup(void **state)
{
    (void)state;
    unit_tmpdir(dir, sizeof(dir));
    snprintf(rsa_path, sizeof(rsa_path), "%s/rsa.pem", dir);
    snprintf(ed_path, sizeof(ed_path), "%s/ed.pem", dir);
    struct buf t;
    buf_init(&t, 4096);
    if (mail_dkim_keygen(MAIL_DKIM_RSA, 2048, rsa_path, &t, NULL))
        return -1;
    snprintf(rsa_txt, sizeof(rsa_txt), "%s", t.data);
    buf_reset(&t);
    if (mail_dkim_keygen(MAIL_DKIM_ED25519, 0, ed_path, &t, NULL))
        return -1;
    snprintf(ed_txt, sizeof(ed_txt), "%s", t.data);
    buf_free(&t);
    return 0;
}

static char *signed_message(struct mail_dkim *d, const char *subject)
{
    struct mime_message m = {
        .from_email = "news@hotel.example",
        .from_name = "Hôtel Zürich",
        .to_email = "guest@mail.example",
        .subject = subject,
        .html = "<p>Hello   there</p>\n<p>.a dot line</p>\n",
        .text = "Hello there\n",
        .unsubscribe_url = "https://herald.example/unsubscribe/tok",
        .unsubscribe_mailto = "u@bounce.example",
    };
    struct buf msg, sigs, all;
    buf_init(&msg, 1 << 20);
    buf_init(&sigs, 1 << 16);
    buf_init(&all, 1 << 20);
    assert_int_equal(mail_mime_build(&m, &msg, NULL, NULL), 0);
    struct herald_error err = {0};
    assert_int_equal(mail_dkim_sign(d, msg.data, msg.len, &sigs, &err), 0);
    buf_append(&all, sigs.data, sigs.len);
    buf_append(&all, msg.data, msg.len);
    buf_free(&msg);
    buf_free(&sigs);
    char *out;
    size_t n;
    buf_steal(&all, &out, &n);
    return out;
}

/* libopendkim's verifier asks for the key record of each signature: answer from our TXT. */
static DKIM_STAT key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, unsigned char *buf, size_t len)
{
    (void)dkim;
    const char *sel = (const char *)dkim_sig_getselector(sig);
    const char *txt = strcmp(sel, "ed") == 0 ? ed_txt : rsa_txt;
    snprintf((char *)buf, len, "%s", txt);
    return DKIM_STAT_OK;
}

/* Number of signatures libopendkim verifies as passing (body hash and signature). */
static int opendkim_verify(const char *msg)
{
    DKIM_LIB *lib = dkim_init(NULL, NULL);
    dkim_set_key_lookup(lib, key_lookup);
    DKIM_STAT st;
    DKIM *v = dkim_verify(lib, (const unsigned char *)"test", NULL, &st);
    assert_non_null(v);
    dkim_chunk(v, (unsigned char *)msg, strlen(msg));
    dkim_chunk(v, NULL, 0);
    dkim_eom(v, NULL);
    DKIM_SIGINFO **sigs;
    int n = 0, passed = 0;
    if (dkim_getsiglist(v, &sigs, &n) == DKIM_STAT_OK)
        for (int i = 0; i < n; i++)
            passed += (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_PASSED) &&
                      dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MATCH;
    dkim_free(v);
    dkim_close(lib);
    return passed;
}

/* dkimpy, run by the system Python: "2/2" when both signatures verify. */
static void dkimpy_verify(const char *msg, const char *want)
{
    char path[700], script[700], cmd[2200];
    snprintf(path, sizeof(path), "%s/msg.eml", dir);
    snprintf(script, sizeof(script), "%s/verify.py", dir);
    FILE *f = fopen(path, "wb");
    fputs(msg, f);
    fclose(f);
    f = fopen(script, "w");
    fprintf(f,
            "import dkim, sys\n"
            "recs = {b'rsa._domainkey.hotel.example.': b'%s',\n"
            "        b'ed._domainkey.hotel.example.': b'%s'}\n"
            "raw = open(sys.argv[1], 'rb').read()\n"
            "n = raw.count(b'DKIM-Signature:')\n"
            "def check(i):\n"
            "    try:\n"
            "        return bool(dkim.DKIM(raw).verify(idx=i, dnsfunc=lambda name, timeout=5: "
            "recs.get(name)))\n"
            "    except Exception:\n" /* dkimpy raises on a bad Ed25519 signature */
            "        return False\n"
            "ok = sum(check(i) for i in range(n))\n"
            "print('%%d/%%d' %% (ok, n))\n",
            rsa_txt, ed_txt);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s 2>&1", script, path);
    FILE *p = popen(cmd, "r");
    char out[512] = "";
    assert_non_null(fgets(out, sizeof(out), p));
    pclose(p);
    out[strcspn(out, "\n")] = '\0';
    assert_string_equal(out, want);
}

static struct mail_dkim *open_signer(bool rsa, bool ed)
{
    struct mail_dkim_opts o = {.domain = "hotel.example",
                               .selector = "rsa",
                               .key_file = rsa ? rsa_path : NULL,
                               .ed25519_selector = "ed",
                               .ed25519_key_file = ed ? ed_path : NULL};
    struct mail_dkim *d = NULL;
    struct herald_error err = {0};
    assert_int_equal(mail_dkim_open(&o, &d, &err), 0);
    return d;
}

static void test_rsa_and_ed25519(void **state)
{
    (void)state;
    struct mail_dkim *d = open_signer(true, true);
    char *msg = signed_message(d, "Réservation confirmée");
    assert_non_null(strstr(msg, "a=rsa-sha256; c=relaxed/relaxed; d=hotel.example;\r\n\ts=rsa;"));
    assert_non_null(strstr(msg, "a=ed25519-sha256; c=relaxed/relaxed; d=hotel.example;"));
    /* Every header that must occur once is signed once more than it occurs (over-signed):
     * a second From or Subject added later breaks the signature. */
    const char *h = strstr(msg, "h=Message-ID:Date:From:To:Subject:MIME-Version:");
    assert_non_null(h);
    char hlist[1024] = "";
    for (const char *p = h + 2; *p && *p != ';' && strlen(hlist) < sizeof(hlist) - 1; p++)
        if (*p != '\r' && *p != '\n' && *p != '\t' && *p != ' ')
            strncat(hlist, p, 1);
    for (const char *name = "From"; name; name = strcmp(name, "From") == 0 ? "Subject" : NULL) {
        const char *first = strcasestr(hlist, name);
        assert_non_null(first);
        assert_non_null(strcasestr(first + 1, name));
    }
    assert_non_null(strstr(hlist, "List-Unsubscribe-Post"));
    assert_int_equal(opendkim_verify(msg), 2);
    dkimpy_verify(msg, "2/2");
    /* one changed byte in the body: nothing verifies */
    char *body = strstr(msg, "Hello there");
    body[0] = 'J';
    assert_int_equal(opendkim_verify(msg), 0);
    dkimpy_verify(msg, "0/2");
    free(msg);
    mail_dkim_close(d);
}

static void test_rsa_only(void **state)
{
    (void)state;
    struct mail_dkim *d = open_signer(true, false);
    unsigned long hits = mail_dkim_key_cache_hits();
    char *msg = signed_message(d, "Plain");
    assert_int_equal(mail_dkim_key_cache_hits(), hits + 1); /* the key was not parsed again */
    assert_null(strstr(msg, "ed25519"));
    assert_int_equal(opendkim_verify(msg), 1);
    dkimpy_verify(msg, "1/1");
    free(msg);
    mail_dkim_close(d);
}

static void test_config_errors(void **state)
{
    (void)state;
    struct mail_dkim *d = NULL;
    struct herald_error err = {0};
    struct mail_dkim_opts o = {.domain = "hotel.example", .selector = "s"};
    assert_int_equal(mail_dkim_open(&o, &d, &err), HERALD_ERR_CONFIG);
    o.key_file = "/nonexistent/key.pem";
    assert_int_equal(mail_dkim_open(&o, &d, &err), HERALD_ERR_CONFIG);
    assert_string_equal(err.field, "HERALD_DKIM_KEY_FILE");
    o.key_file = ed_path; /* an Ed25519 key where RSA is expected */
    assert_int_equal(mail_dkim_open(&o, &d, &err), HERALD_ERR_CONFIG);
    o.key_file = NULL;
    o.ed25519_key_file = rsa_path;
    o.ed25519_selector = "ed";
    assert_int_equal(mail_dkim_open(&o, &d, &err), HERALD_ERR_CONFIG);
    assert_string_equal(err.field, "HERALD_DKIM_ED25519_KEY_FILE");
    o.ed25519_key_file = ed_path;
    o.domain = "";
    assert_int_equal(mail_dkim_open(&o, &d, &err), HERALD_ERR_CONFIG);
    assert_string_equal(err.field, "HERALD_DKIM_DOMAIN");
    assert_null(d);
}

static void test_keygen(void **state)
{
    (void)state;
    struct buf t;
    buf_init(&t, 4096);
    struct herald_error err = {0};
    assert_int_equal(mail_dkim_keygen(MAIL_DKIM_RSA, 2048, rsa_path, &t, &err),
                     HERALD_ERR_DUPLICATE); /* never overwrites */
    assert_int_equal(mail_dkim_keygen(MAIL_DKIM_RSA, 512, "/tmp/never", &t, &err),
                     HERALD_ERR_INVALID);
    struct stat sb;
    assert_int_equal(stat(rsa_path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(strncmp(rsa_txt, "v=DKIM1; k=rsa; p=MII", 21), 0);
    assert_int_equal(strncmp(ed_txt, "v=DKIM1; k=ed25519; p=", 22), 0);
    assert_int_equal(strlen(ed_txt), 22 + 44); /* 32 bytes in base64 */
    buf_free(&t);
}

struct worker {
    struct mail_dkim *d;
    int n, ok;
    char *last;
};

static void *sign_many(void *arg)
{
    struct worker *w = arg;
    struct buf sigs;
    buf_init(&sigs, 1 << 16);
    const char *msg = "From: a@hotel.example\r\nTo: b@mail.example\r\nSubject: x\r\n\r\nbody\r\n";
    for (int i = 0; i < w->n; i++) {
        buf_reset(&sigs);
        w->ok += mail_dkim_sign(w->d, msg, strlen(msg), &sigs, NULL) == HERALD_OK;
    }
    buf_append(&sigs, msg, strlen(msg));
    size_t n;
    buf_steal(&sigs, &w->last, &n);
    return NULL;
}

/* Four threads share one signer; prints the rate (RSA-2048 + Ed25519 per message). */
static void test_concurrent(void **state)
{
    (void)state;
    struct mail_dkim *d = open_signer(true, true);
    struct worker w[4];
    pthread_t th[4];
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.d = d, .n = 100};
        pthread_create(&th[i], NULL, sign_many, &w[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    printf("dkim: 400 messages (rsa-sha256 + ed25519-sha256) in %.2f s = %.0f/s\n", secs,
           400 / secs);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(w[i].ok, 100);
        assert_int_equal(opendkim_verify(w[i].last), 2);
        free(w[i].last);
    }
    mail_dkim_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_and_ed25519), cmocka_unit_test(test_rsa_only),
        cmocka_unit_test(test_config_errors),   cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
