/* The transport benchmark: COUNT personalised 4 KB HTML messages built (mail/mime.h),
 * DKIM-signed (mail/dkim.h: RSA-2048, plus Ed25519 with "ed25519") and sent over WORKERS
 * kept-open connections (mail/smtp.h) to an SMTP sink, one thread per connection, no store.
 * The other modes time one stage alone on one thread: "build", "sign" (build + sign), "send"
 * (one pre-rendered message sent COUNT times over WORKERS connections).
 * usage: send_raw SMTP_URL COUNT WORKERS [full|build|sign|send] [rsa|ed25519|none]
 *   -> prints "mails_per_sec N ok K failed F cpu_us_per_mail C" */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/clock.h"
#include "mail/transport.h"

struct bench {
    struct mail_transport *t;
    const char *mode;
    long count;
    atomic_long next, ok, failed;
    char html[4200];
    const char *fixed; /* "send" mode: the one rendered message */
    size_t fixed_len;
};

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ~4 KB of HTML, as a newsletter paragraph repeated, with a link. */
static void make_html(char *html, size_t cap)
{
    size_t n = 0;
    while (n < 4000)
        n += (size_t)snprintf(html + n, cap - n,
                              "<p>Dear guest, our spa reopens on Monday with new treatments — "
                              "<a href=\"https://hotel.example/spa?c=42\">book now</a>.</p>\n");
}

static void render_one(struct bench *b, long i, struct buf *out, char *rcpt, size_t rcpt_cap)
{
    char name[64], unsub[128];
    snprintf(rcpt, rcpt_cap, "guest%ld@mail%ld.example", i, i % 50);
    snprintf(name, sizeof(name), "Guest Nº %ld", i);
    snprintf(unsub, sizeof(unsub), "https://herald.example/unsubscribe/tok%ld", i);
    struct mime_message m = {.from_email = "news@hotel.example",
                             .from_name = "Hôtel Example",
                             .to_email = rcpt,
                             .to_name = name,
                             .subject = "Our spa reopens — Réservez maintenant",
                             .html = b->html,
                             .text = "Dear guest, our spa reopens on Monday.",
                             .unsubscribe_url = unsub,
                             .unsubscribe_mailto = "unsubscribe@bounce.hotel.example"};
    buf_reset(out);
    if (mail_transport_render(b->t, &m, out, NULL, NULL))
        atomic_fetch_add(&b->failed, 1);
}

static void *worker(void *arg)
{
    struct bench *b = arg;
    struct smtp_conn *c = NULL;
    bool sending = strcmp(b->mode, "full") == 0 || strcmp(b->mode, "send") == 0;
    if (sending && mail_smtp_acquire(mail_transport_pool(b->t), 10000, &c))
        return NULL;
    struct buf msg;
    buf_init(&msg, MAIL_MESSAGE_MAX);
    char rcpt[128] = "guest@mail.example";
    for (long i; (i = atomic_fetch_add(&b->next, 1)) < b->count;) {
        if (!b->fixed)
            render_one(b, i, &msg, rcpt, sizeof(rcpt));
        if (!sending) {
            atomic_fetch_add(&b->ok, 1);
            continue;
        }
        struct smtp_result r;
        const char *data = b->fixed ? b->fixed : msg.data;
        size_t len = b->fixed ? b->fixed_len : msg.len;
        mail_smtp_send(c, "bounces+x@bounce.hotel.example", rcpt, data, len, -1, &r);
        atomic_fetch_add(r.status == SMTP_OK ? &b->ok : &b->failed, 1);
    }
    buf_free(&msg);
    if (c)
        mail_smtp_release(mail_transport_pool(b->t), c);
    return NULL;
}

/* RSA-2048 (and Ed25519) keys in a scratch directory, made with the keygen of mail/dkim.h. */
static void make_keys(char *dir, struct mail_dkim_opts *d, const char *sig)
{
    static char rsa[600], ed[600];
    snprintf(rsa, sizeof(rsa), "%s/rsa.pem", dir);
    snprintf(ed, sizeof(ed), "%s/ed.pem", dir);
    struct buf txt;
    buf_init(&txt, 4096);
    if (mail_dkim_keygen(MAIL_DKIM_RSA, 2048, rsa, &txt, NULL) ||
        mail_dkim_keygen(MAIL_DKIM_ED25519, 0, ed, &txt, NULL)) {
        fprintf(stderr, "send_raw: key generation failed\n");
        exit(1);
    }
    buf_free(&txt);
    *d = (struct mail_dkim_opts){.domain = "hotel.example", .selector = "s1"};
    if (strcmp(sig, "none") != 0)
        d->key_file = rsa;
    if (strcmp(sig, "ed25519") == 0) {
        d->ed25519_key_file = ed;
        d->ed25519_selector = "s2";
    }
}

static void run(struct bench *b, int threads)
{
    pthread_t th[256];
    int n = strcmp(b->mode, "full") == 0 || strcmp(b->mode, "send") == 0 ? threads : 1;
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, worker, b);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: send_raw SMTP_URL COUNT WORKERS [full|build|sign|send] "
                        "[rsa|ed25519|none]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int workers = atoi(argv[3]);
    static struct bench b;
    b.count = atol(argv[2]);
    b.mode = argc > 4 ? argv[4] : "full";
    char dir[] = "/tmp/send_raw-XXXXXX";
    if (!mkdtemp(dir) || workers < 1 || workers > 256 || b.count < 1)
        return 2;
    struct mail_transport_opts o = {
        .smtp = {.url = argv[1], .workers = workers, .timeout_ms = 30000, .tls = SMTP_TLS_OFF}};
    make_keys(dir, &o.dkim, argc > 5 ? argv[5] : "rsa");
    if (strcmp(b.mode, "build") == 0)
        o.dkim.key_file = o.dkim.ed25519_key_file = NULL;
    struct herald_error err = {0};
    if (mail_transport_open(&o, &b.t, &err)) {
        fprintf(stderr, "send_raw: %s\n", herald_error_message(&err));
        return 1;
    }
    make_html(b.html, sizeof(b.html));
    struct buf fixed;
    buf_init(&fixed, MAIL_MESSAGE_MAX);
    if (strcmp(b.mode, "send") == 0) {
        char rcpt[128];
        render_one(&b, 0, &fixed, rcpt, sizeof(rcpt));
        b.fixed = fixed.data;
        b.fixed_len = fixed.len;
    }
    double c0 = cpu_seconds();
    int64_t t0 = clock_mono_ns();
    run(&b, workers);
    double secs = (double)(clock_mono_ns() - t0) / 1e9, cpu = cpu_seconds() - c0;
    long ok = atomic_load(&b.ok), failed = atomic_load(&b.failed);
    printf("mails_per_sec %.0f ok %ld failed %ld cpu_us_per_mail %.0f\n", (double)ok / secs, ok,
           failed, cpu * 1e6 / (double)(ok ? ok : 1));
    buf_free(&fixed);
    mail_transport_close(b.t);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "send_raw: could not remove %s\n", dir);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
