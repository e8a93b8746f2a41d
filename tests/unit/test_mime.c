/* mail/mime.c: message building, RFC 2047 words, quoted-printable, header injection. */
#include "unit.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "mail/mime.h"

static struct mime_message base_msg(void)
{
    return (struct mime_message){
        .from_email = "news@hotel.example",
        .from_name = "Hotel Example",
        .to_email = "guest@mail.example",
        .to_name = "Ann Guest",
        .subject = "Welcome",
        .html = "<p>Hello <b>Ann</b></p>",
        .text = "Hello Ann",
        .unsubscribe_url = "https://herald.example/unsubscribe/abc234",
        .unsubscribe_mailto = "mailto:unsub+abc234@bounce.example",
        .date_ms = 1795698000000, /* Thu, 26 Nov 2026 13:00:00 +0000 */
    };
}

static char *build(const struct mime_message *m, enum herald_err *rc)
{
    struct buf b;
    buf_init(&b, 1 << 22);
    struct herald_error err = {0};
    *rc = mail_mime_build(m, &b, NULL, &err);
    if (*rc) {
        buf_free(&b);
        return NULL;
    }
    char *out;
    size_t n;
    assert_int_equal(buf_steal(&b, &out, &n), 0);
    return out;
}

/* Every line ends in CRLF, none is longer than `max` (998 in headers, 76 in QP bodies). */
static void assert_lines(const char *msg, size_t header_max, size_t body_max)
{
    bool body = false;
    for (const char *p = msg; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_true(nl > p && nl[-1] == '\r');
        size_t len = (size_t)(nl - p) - 1;
        assert_true(len <= (body ? body_max : header_max));
        if (len == 0)
            body = true;
        p = nl + 1;
    }
}

static const char *header(const char *msg, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = msg; *p && !(p[0] == '\r' && p[1] == '\n');) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 2, *e = v;
            while (!(e[0] == '\r' && e[1] == '\n' && e[2] != ' ' && e[2] != '\t'))
                e++;
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return out;
        }
        p = strstr(p, "\r\n") + 2;
    }
    return NULL;
}

static void test_headers(void **state)
{
    (void)state;
    struct mime_message m = base_msg();
    struct mime_header extra[] = {{"Precedence", "bulk"}, {"Feedback-ID", "42:herald"}};
    m.headers = extra;
    m.n_headers = 2;
    enum herald_err rc;
    char *msg = build(&m, &rc), h[2048];
    assert_int_equal(rc, 0);
    assert_lines(msg, 78, 76);
    assert_string_equal(header(msg, "From", h, sizeof(h)), "Hotel Example <news@hotel.example>");
    assert_string_equal(header(msg, "To", h, sizeof(h)), "Ann Guest <guest@mail.example>");
    assert_string_equal(header(msg, "Date", h, sizeof(h)), "Thu, 26 Nov 2026 13:00:00 +0000");
    assert_string_equal(header(msg, "MIME-Version", h, sizeof(h)), "1.0");
    assert_string_equal(header(msg, "Precedence", h, sizeof(h)), "bulk");
    assert_string_equal(header(msg, "Feedback-ID", h, sizeof(h)), "42:herald");
    assert_string_equal(header(msg, "List-Unsubscribe", h, sizeof(h)),
                        "<https://herald.example/unsubscribe/abc234>,\r\n"
                        " <mailto:unsub+abc234@bounce.example>");
    assert_string_equal(header(msg, "List-Unsubscribe-Post", h, sizeof(h)),
                        "List-Unsubscribe=One-Click");
    header(msg, "Message-ID", h, sizeof(h));
    assert_int_equal(h[0], '<');
    assert_non_null(strstr(h, "@hotel.example>"));
    assert_non_null(strstr(msg, "Content-Type: multipart/alternative;\r\n boundary=\"=_hb_"));
    /* text part before the html part, both quoted-printable UTF-8 */
    char *text = strstr(msg, "Content-Type: text/plain; charset=utf-8\r\n"
                             "Content-Transfer-Encoding: quoted-printable\r\n\r\nHello Ann\r\n");
    char *html = strstr(msg, "Content-Type: text/html; charset=utf-8");
    assert_non_null(text);
    assert_non_null(html);
    assert_true(text < html);
    free(msg);
}

static void test_message_ids_differ(void **state)
{
    (void)state;
    struct mime_message m = base_msg();
    m.message_id_domain = "mid.example";
    struct buf b;
    buf_init(&b, 1 << 20);
    char a[MIME_MESSAGE_ID_MAX], c[MIME_MESSAGE_ID_MAX];
    assert_int_equal(mail_mime_build(&m, &b, a, NULL), 0);
    assert_int_equal(mail_mime_build(&m, &b, c, NULL), 0);
    assert_string_not_equal(a, c);
    assert_non_null(strstr(a, "@mid.example"));
    m.message_id = "fixed123@given.example";
    assert_int_equal(mail_mime_build(&m, &b, a, NULL), 0);
    assert_string_equal(a, "fixed123@given.example");
    buf_free(&b);
}

static int b64val(char c)
{
    const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(t, c) : NULL;
    return p ? (int)(p - t) : -1;
}

/* Decodes a header value made of B encoded-words (separated by folding) into out. */
static void decode_words(const char *v, char *out)
{
    size_t n = 0;
    for (const char *p = strstr(v, "=?UTF-8?B?"); p; p = strstr(p, "=?UTF-8?B?")) {
        const char *s = p + 10, *e = strstr(s, "?=");
        assert_non_null(e);
        assert_true(e + 2 - p <= 75);
        unsigned acc = 0;
        int bits = 0;
        for (const char *q = s; q < e && *q != '='; q++) {
            acc = (acc << 6) | (unsigned)b64val(*q);
            bits += 6;
            if (bits >= 8) {
                out[n++] = (char)((acc >> (bits - 8)) & 0xff);
                bits -= 8;
            }
        }
        p = e + 2;
    }
    out[n] = '\0';
}

static void test_encoded_words(void **state)
{
    (void)state;
    struct mime_message m = base_msg();
    m.subject = "Réservation confirmée à l'hôtel «Zürich» — Ihre Buchung für Ihren "
                "Aufenthalt im März ✓ 日本語のテキストも大丈夫です";
    m.from_name = "Hôtel Zürich";
    enum herald_err rc;
    char *msg = build(&m, &rc), h[4096], dec[1024];
    assert_int_equal(rc, 0);
    assert_lines(msg, 78, 76);
    header(msg, "Subject", h, sizeof(h));
    assert_non_null(strstr(h, "\r\n ")); /* folded */
    decode_words(h, dec);
    assert_string_equal(dec, m.subject);
    header(msg, "From", h, sizeof(h));
    decode_words(h, dec);
    assert_string_equal(dec, m.from_name);
    assert_non_null(strstr(h, "<news@hotel.example>"));
    free(msg);
}

static void test_quoting_and_folding(void **state)
{
    (void)state;
    struct mime_message m = base_msg();
    m.to_name = "Doe, \"JJ\" John";
    m.subject = "A plain subject that is long enough to need folding because it goes on and on "
                "past the seventy-eight character soft limit of a header line";
    enum herald_err rc;
    char *msg = build(&m, &rc), h[2048];
    assert_int_equal(rc, 0);
    assert_lines(msg, 78, 76);
    assert_string_equal(header(msg, "To", h, sizeof(h)),
                        "\"Doe, \\\"JJ\\\" John\" <guest@mail.example>");
    header(msg, "Subject", h, sizeof(h));
    assert_non_null(strstr(h, "\r\n "));
    free(msg);
}

static int hexval(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : c - 'A' + 10;
}

/* Decodes the quoted-printable part that starts at p up to the next boundary line. */
static void qp_decode(const char *p, char *out)
{
    size_t n = 0;
    while (*p && strncmp(p, "\r\n--=_hb_", 9) != 0) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 3;
        } else if (p[0] == '=') {
            out[n++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 3;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

static void test_quoted_printable(void **state)
{
    (void)state;
    static char html[20000], want[20000], got[20000];
    size_t n = 0;
    n += (size_t)sprintf(html + n, "<p style=\"color:red\">Prix: 100 € =  </p>\n.dot line\r\n");
    for (int i = 0; i < 1500; i++)
        html[n++] = (char)('a' + i % 26); /* one very long line */
    n += (size_t)sprintf(html + n, "\ttab end\t\nlast");
    html[n] = '\0';
    struct mime_message m = base_msg();
    m.html = html;
    enum herald_err rc;
    char *msg = build(&m, &rc);
    assert_int_equal(rc, 0);
    assert_lines(msg, 78, 76);
    char *start = strstr(msg, "Content-Type: text/html");
    start = strstr(start, "\r\n\r\n") + 4;
    assert_non_null(strstr(start, "=3D"));
    assert_non_null(strstr(start, "=E2=82=AC"));
    assert_non_null(strstr(start, "tab end=09\r\n")); /* trailing white space encoded */
    qp_decode(start, got);
    /* every line ending becomes CRLF */
    size_t k = 0;
    for (const char *p = html; *p; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n')
            want[k++] = '\r';
        want[k++] = *p;
    }
    want[k] = '\0'; /* the CRLF closing the part belongs to the boundary line (RFC 2046) */
    assert_string_equal(got, want);
    free(msg);
}

static void test_single_part(void **state)
{
    (void)state;
    struct mime_message m = base_msg();
    m.html = NULL;
    m.unsubscribe_url = NULL;
    m.unsubscribe_mailto = NULL;
    enum herald_err rc;
    char *msg = build(&m, &rc), h[256];
    assert_int_equal(rc, 0);
    assert_string_equal(header(msg, "Content-Type", h, sizeof(h)), "text/plain; charset=utf-8");
    assert_null(header(msg, "List-Unsubscribe", h, sizeof(h)));
    assert_null(strstr(msg, "multipart"));
    free(msg);
}

static void assert_refused(struct mime_message m, const char *field)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct herald_error err = {0};
    assert_int_equal(mail_mime_build(&m, &b, NULL, &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, field);
    buf_free(&b);
}

static void test_injection_refused(void **state)
{
    (void)state;
    struct mime_message m = base_msg();
    m.subject = "Hi\r\nBcc: victim@example.com";
    assert_refused(m, "subject");
    m = base_msg();
    m.subject = "Hi\nBcc: victim@example.com";
    assert_refused(m, "subject");
    m = base_msg();
    m.to_name = "Ann\rBcc: x@y.z";
    assert_refused(m, "to_name");
    m = base_msg();
    m.from_name = "A\nB";
    assert_refused(m, "from_name");
    m = base_msg();
    m.to_email = "guest@mail.example\r\nBcc: x@y.z";
    assert_refused(m, "to_email");
    m = base_msg();
    m.to_email = "Guest <guest@mail.example>";
    assert_refused(m, "to_email");
    m = base_msg();
    m.from_email = "no-at-sign";
    assert_refused(m, "from_email");
    m = base_msg();
    m.reply_to = "a@b.c\nX: y";
    assert_refused(m, "reply_to");
    m = base_msg();
    m.unsubscribe_url = "https://x.example/u\r\nBcc: x@y.z";
    assert_refused(m, "unsubscribe_url");
    m = base_msg();
    m.unsubscribe_url = "javascript:alert(1)";
    assert_refused(m, "unsubscribe_url");
    m = base_msg();
    m.html = m.text = NULL;
    assert_refused(m, "html");
    struct mime_header bad[] = {{"X-Ok", "fine\r\nBcc: x@y.z"}};
    m = base_msg();
    m.headers = bad;
    m.n_headers = 1;
    assert_refused(m, "headers");
    struct mime_header own[] = {{"from", "evil@x.example"}};
    m.headers = own;
    assert_refused(m, "headers");
    struct mime_header name[] = {{"X Bad", "v"}};
    m.headers = name;
    assert_refused(m, "headers");
    m = base_msg();
    m.subject = "bad utf-8 \xc3\x28";
    assert_refused(m, "subject");
}

/* ~4 KB HTML message: reports the build rate (the sender calls this per recipient). */
static void test_speed(void **state)
{
    (void)state;
    static char html[4200];
    size_t n = 0;
    while (n < 4000)
        n += (size_t)snprintf(html + n, sizeof(html) - n,
                              "<p>Dear guest, our spa reopens on Monday — book now at "
                              "<a href=\"https://hotel.example/spa?x=1\">the spa</a>.</p>\n");
    struct mime_message m = base_msg();
    m.html = html;
    m.text = "Dear guest, our spa reopens on Monday.";
    struct buf b;
    buf_init(&b, 1 << 20);
    int64_t t0 = clock_mono_ns();
    int count = 20000;
    for (int i = 0; i < count; i++) {
        buf_reset(&b);
        assert_int_equal(mail_mime_build(&m, &b, NULL, NULL), 0);
    }
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    printf("mime: %d messages of %zu bytes in %.3f s = %.0f/s\n", count, b.len, secs, count / secs);
    assert_true(b.len > 4000);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),           cmocka_unit_test(test_message_ids_differ),
        cmocka_unit_test(test_encoded_words),     cmocka_unit_test(test_quoting_and_folding),
        cmocka_unit_test(test_quoted_printable),  cmocka_unit_test(test_single_part),
        cmocka_unit_test(test_injection_refused), cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
