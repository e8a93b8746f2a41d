/* mail/template.c: the merge-tag language (compile errors, defaults, escaping, URL contexts,
 * attribute values), rendering speed and concurrent renders of one compiled template. */
#include "unit.h"

#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "base/buf.h"
#include "mail/template.h"
#include "mail/templates.h"

static json_t *attrs;
static struct tmpl_vars vars;

static int setup(void **state)
{
    (void)state;
    attrs = json_pack("{s:s, s:i, s:b, s:b, s:f, s:n, s:[], s:s, s:s, s:s}", "room_type", "suite",
                      "nights", 3, "vip", 1, "smoker", 0, "rate", 99.5, "gone", "list", "empty", "",
                      "site", "javascript:alert(1)", "home", "https://example.com/?a=1&b=2");
    vars = (struct tmpl_vars){
        "<b>Ann</b> & \"Co\"",        "ann@example.com", attrs, "https://h.example/unsubscribe/tok",
        "https://h.example/pref/tok", "Spring 'sale'"};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(attrs);
    return 0;
}

/* Compiles src in mode and renders it with v into a static buffer. */
static const char *render(const char *src, enum tmpl_mode mode, const struct tmpl_vars *v)
{
    static char out[8192];
    struct tmpl *t = NULL;
    struct herald_error err = {0};
    assert_int_equal(tmpl_compile(src, mode, &t, &err), HERALD_OK);
    struct buf b;
    buf_init(&b, sizeof(out) - 1);
    assert_int_equal(tmpl_render(t, v, &b), HERALD_OK);
    snprintf(out, sizeof(out), "%s", b.data ? b.data : "");
    buf_free(&b);
    tmpl_free(t);
    return out;
}

static void expect_error(const char *src, const char *needle)
{
    struct tmpl *t = (struct tmpl *)1;
    struct herald_error err = {0};
    assert_int_equal(tmpl_compile(src, TMPL_HTML, &t, &err), HERALD_ERR_INVALID);
    assert_null(t);
    if (!strstr(err.message, needle))
        fail_msg("%s: message \"%s\" lacks \"%s\"", src, err.message, needle);
    assert_int_equal(tmpl_check(src, TMPL_TEXT, NULL), HERALD_ERR_INVALID);
}

static void test_values_and_defaults(void **state)
{
    (void)state;
    assert_string_equal(render("Hi {{ contact.name }}!", TMPL_TEXT, &vars),
                        "Hi <b>Ann</b> & \"Co\"!");
    assert_string_equal(render("{{contact.email}}|{{ campaign.name }}", TMPL_TEXT, &vars),
                        "ann@example.com|Spring 'sale'");
    assert_string_equal(render("{{ contact.attributes.room_type }} {{ contact.attributes.nights }} "
                               "{{ contact.attributes.vip }} {{ contact.attributes.smoker }} "
                               "{{ contact.attributes.rate }}",
                               TMPL_TEXT, &vars),
                        "suite 3 true false 99.5");
    /* Missing, null, non-scalar and empty values take the default; none: nothing. */
    assert_string_equal(render("[{{ contact.attributes.nope | default: \"x\" }}]"
                               "[{{ contact.attributes.gone|default:'y' }}]"
                               "[{{ contact.attributes.list | default: \"z\" }}]"
                               "[{{ contact.attributes.empty | default: \"e\" }}]"
                               "[{{ contact.attributes.nope }}]",
                               TMPL_TEXT, &vars),
                        "[x][y][z][e][]");
    struct tmpl_vars none = {0};
    assert_string_equal(
        render("Dear {{ contact.name | default: \"guest, 'friend'\" }}", TMPL_TEXT, &none),
        "Dear guest, 'friend'");
    assert_string_equal(render("{{ unsubscribe_url }} {{ preferences_url }}", TMPL_TEXT, &vars),
                        "https://h.example/unsubscribe/tok https://h.example/pref/tok");
    assert_string_equal(render("no tags { } }} {x}", TMPL_TEXT, NULL), "no tags { } }} {x}");
    assert_string_equal(render("", TMPL_HTML, &vars), "");
    assert_string_equal(
        render("{{ contact.attributes.a-b_C9 | default: \"k\" }}", TMPL_TEXT, &vars), "k");
}

static void test_html_escaping(void **state)
{
    (void)state;
    assert_string_equal(render("<p>{{ contact.name }}</p>", TMPL_HTML, &vars),
                        "<p>&lt;b&gt;Ann&lt;/b&gt; &amp; &quot;Co&quot;</p>");
    struct tmpl_vars none = {0};
    assert_string_equal(render("<p>{{ contact.name | default: '<i>&' }}</p>", TMPL_HTML, &none),
                        "<p>&lt;i&gt;&amp;</p>");
    /* Our own URLs are escaped too (an & in a query stays valid HTML). */
    struct tmpl_vars amp = {.unsubscribe_url = "https://h/u?a=1&b=2"};
    assert_string_equal(render("<a href=\"{{ unsubscribe_url }}\">u</a>", TMPL_HTML, &amp),
                        "<a href=\"https://h/u?a=1&amp;b=2\">u</a>");
    /* Attributes render escaped in any attribute. */
    assert_string_equal(render("<img alt=\"{{ campaign.name }}\">", TMPL_HTML, &vars),
                        "<img alt=\"Spring &#39;sale&#39;\">");
}

static void test_header_mode(void **state)
{
    (void)state;
    struct tmpl_vars v = {.contact_name = "Ann\r\nBcc: x@evil.example\tY\x7f",
                          .campaign_name = "line\none"};
    assert_string_equal(render("Hi {{ contact.name }} - {{ campaign.name }}", TMPL_HEADER, &v),
                        "Hi Ann  Bcc: x@evil.example Y  - line one");
    assert_string_equal(render("{{ contact.email | default: \"a\tb\" }}", TMPL_HEADER, &v), "a b");
    assert_int_equal(tmpl_check("{{ nope }}", TMPL_HEADER, NULL), HERALD_ERR_INVALID);
}

static void test_url_attributes(void **state)
{
    (void)state;
    /* A contact's value that opens a URL attribute must have a safe scheme. */
    assert_string_equal(render("<a href=\"{{ contact.attributes.site }}\">x</a>", TMPL_HTML, &vars),
                        "<a href=\"\">x</a>");
    assert_string_equal(render("<a HREF = '{{ contact.attributes.site | default: \"#\" }}'>x</a>",
                               TMPL_HTML, &vars),
                        "<a HREF = ''>x</a>");
    assert_string_equal(render("<a href=\"{{ contact.attributes.home }}\">x</a>", TMPL_HTML, &vars),
                        "<a href=\"https://example.com/?a=1&amp;b=2\">x</a>");
    assert_string_equal(
        render("<img src=\"{{ contact.attributes.nope | default: 'javascript:x' }}\">", TMPL_HTML,
               &vars),
        "<img src=\"\">");
    /* Not at the start of the value, or not a URL attribute: escaped as usual. */
    assert_string_equal(
        render("<a href=\"https://x/?s={{ contact.attributes.site }}\">", TMPL_HTML, &vars),
        "<a href=\"https://x/?s=javascript:alert(1)\">");
    assert_string_equal(render("<a title=\"{{ contact.attributes.site }}\">", TMPL_HTML, &vars),
                        "<a title=\"javascript:alert(1)\">");
    /* In a text part it is just text. */
    assert_string_equal(render("href=\"{{ contact.attributes.site }}\"", TMPL_TEXT, &vars),
                        "href=\"javascript:alert(1)\"");
}

static void test_compile_errors(void **state)
{
    (void)state;
    expect_error("Hi {{ contact.nmae }}", "unknown tag \"{{ contact.nmae }}\" at offset 3");
    expect_error("{{ foo }}", "\"{{ foo }}\" at offset 0");
    expect_error("ab {{ contact.name | upper }}", "unknown filter in tag");
    expect_error("{{ contact.name | default }}", "default needs");
    expect_error("{{ contact.name | default: guest }}", "quoted text");
    expect_error("{{ contact.name | default: \"guest }}", "unterminated");
    expect_error("x {{ contact.name", "unterminated tag \"{{ contact.name }}\" at offset 2");
    expect_error("{{ contact.name {{ contact.email }}", "unterminated tag");
    expect_error("{{ }}", "bad tag");
    expect_error("{{ contact.attributes. }}", "unknown tag");
    expect_error("{{ contact.attributes.a.b }}", "unknown tag");
    expect_error("{{ contact.attributes.a b }}", "bad tag");
    expect_error("{{ contact.name | default: 'a' | default: 'b' }}", "bad tag");
    expect_error("{{ Contact.Name }}", "unknown tag");
}

static void test_uses_and_mode(void **state)
{
    (void)state;
    struct tmpl *t = NULL;
    assert_int_equal(
        tmpl_compile("{{ unsubscribe_url }} {{ contact.attributes.x }}", TMPL_HTML, &t, NULL),
        HERALD_OK);
    assert_int_equal(tmpl_uses(t), TMPL_USES_UNSUBSCRIBE | TMPL_USES_CONTACT);
    assert_int_equal(tmpl_get_mode(t), TMPL_HTML);
    tmpl_free(t);
    assert_int_equal(tmpl_compile("plain", TMPL_TEXT, &t, NULL), HERALD_OK);
    assert_int_equal(tmpl_uses(t), 0);
    tmpl_free(t);
    /* Bytes after a NUL are text too with tmpl_compile_n. */
    assert_int_equal(tmpl_compile_n("a\0{{ contact.name }}", 20, TMPL_TEXT, &t, NULL), HERALD_OK);
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(tmpl_render(t, &vars, &b), HERALD_OK);
    assert_int_equal(b.len, 2 + strlen(vars.contact_name));
    /* A full output buffer is an error, not a crash. */
    struct buf small;
    buf_init(&small, 4);
    assert_int_equal(tmpl_render(t, &vars, &small), HERALD_ERR_TOO_LARGE);
    buf_free(&small);
    buf_free(&b);
    tmpl_free(t);
}

/* A 4 KB HTML body with a dozen tags. */
static char *big_template(void)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 12; i++)
        buf_printf(&b,
                   "<tr><td style=\"padding:8px\">Dear {{ contact.name | default: 'guest' }}, your "
                   "{{ contact.attributes.room_type }} for {{ contact.attributes.nights }} nights "
                   "is waiting. <a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></td></tr>\n");
    char *s = NULL;
    buf_steal(&b, &s, NULL);
    buf_free(&b);
    return s;
}

static void test_render_speed(void **state)
{
    (void)state;
    char *src = big_template();
    struct tmpl *t = NULL;
    assert_int_equal(tmpl_compile(src, TMPL_HTML, &t, NULL), HERALD_OK);
    struct buf b;
    buf_init(&b, 1 << 20);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 20000; i++) {
        buf_reset(&b);
        assert_int_equal(tmpl_render(t, &vars, &b), HERALD_OK);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* ~10k renders/s are needed; even a sanitizer build does far more. */
    if (s > 2.0)
        fail_msg("20000 renders took %.2f s", s);
    buf_free(&b);
    tmpl_free(t);
    free(src);
}

struct render_job {
    const struct tmpl *t;
    const char *expect;
    int bad;
};

static void *render_thread(void *arg)
{
    struct render_job *j = arg;
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 2000; i++) {
        buf_reset(&b);
        if (tmpl_render(j->t, &vars, &b) || strcmp(b.data, j->expect) != 0)
            j->bad++;
    }
    buf_free(&b);
    return NULL;
}

static void test_concurrent_renders(void **state)
{
    (void)state;
    char *src = big_template();
    struct tmpl *t = NULL;
    assert_int_equal(tmpl_compile(src, TMPL_HTML, &t, NULL), HERALD_OK);
    struct buf ref;
    buf_init(&ref, 1 << 20);
    assert_int_equal(tmpl_render(t, &vars, &ref), HERALD_OK);
    pthread_t th[4];
    struct render_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct render_job){t, ref.data, 0};
        assert_int_equal(pthread_create(&th[i], NULL, render_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].bad, 0);
    }
    buf_free(&ref);
    tmpl_free(t);
    free(src);
}

static void expect_prepare_error(const char *subject, const char *html, const char *text,
                                 const char *field, const char *needle)
{
    struct mail_content c;
    struct herald_error err = {0};
    assert_int_equal(mail_content_prepare(subject, html, text, &c, &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, field);
    if (!strstr(err.message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
    assert_null(c.html);
}

/* The content step campaigns share: validation naming the field, sanitising, generated text. */
static void test_content_prepare(void **state)
{
    (void)state;
    struct mail_content c;
    struct herald_error err = {0};
    assert_int_equal(mail_content_prepare("Hi {{ contact.name }}",
                                          "<p onclick=\"x()\">Hello {{ contact.name | default: "
                                          "'guest' }}</p><script>x()</script>",
                                          NULL, &c, &err),
                     HERALD_OK);
    assert_string_equal(c.subject, "Hi {{ contact.name }}");
    assert_string_equal(c.html, "<p>Hello {{ contact.name | default: 'guest' }}</p>");
    assert_string_equal(c.text, "Hello {{ contact.name | default: 'guest' }}\n");
    assert_true(c.text_generated);
    mail_content_clear(&c);
    assert_int_equal(mail_content_prepare("s", "", "only text", &c, &err), HERALD_OK);
    assert_string_equal(c.html, "");
    assert_string_equal(c.text, "only text");
    assert_false(c.text_generated);
    mail_content_clear(&c);
    expect_prepare_error("", "<p>x</p>", NULL, "subject", "required");
    expect_prepare_error("a\r\nBcc: x", "<p>x</p>", NULL, "subject", "line break");
    expect_prepare_error("{{ nope }}", "<p>x</p>", NULL, "subject", "subject: unknown tag");
    expect_prepare_error("s", NULL, NULL, "html", "html or text is required");
    expect_prepare_error("s", "<p>{{ contact.x }}</p>", NULL, "html", "at offset 3");
    expect_prepare_error("s", "<p>x</p>", "{{ contact.name", "text", "unterminated");
    expect_prepare_error("s", "<p>\xff</p>", NULL, "html", "UTF-8");
    expect_prepare_error("s", "<script>x()</script>", NULL, "html", "no text left");
}

static void test_compiled_render(void **state)
{
    (void)state;
    struct mail_compiled c;
    struct herald_error err = {0};
    assert_int_equal(mail_compile("Hi {{ contact.name }}", "<p>{{ contact.name }}</p>",
                                  "T {{ contact.name }}", &c, &err),
                     HERALD_OK);
    struct buf s, h, t;
    buf_init(&s, 1024);
    buf_init(&h, 1024);
    buf_init(&t, 1024);
    assert_int_equal(mail_compiled_render(&c, &vars, &s, &h, &t), HERALD_OK);
    assert_string_equal(s.data, "Hi <b>Ann</b> & \"Co\"");
    assert_string_equal(h.data, "<p>&lt;b&gt;Ann&lt;/b&gt; &amp; &quot;Co&quot;</p>");
    assert_string_equal(t.data, "T <b>Ann</b> & \"Co\"");
    mail_compiled_clear(&c);
    assert_int_equal(mail_compile("s", "<p>{{ x }}</p>", "t", &c, &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, "html");
    assert_null(c.subject);
    buf_free(&s);
    buf_free(&h);
    buf_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_defaults), cmocka_unit_test(test_html_escaping),
        cmocka_unit_test(test_url_attributes),      cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_uses_and_mode),       cmocka_unit_test(test_render_speed),
        cmocka_unit_test(test_concurrent_renders),  cmocka_unit_test(test_content_prepare),
        cmocka_unit_test(test_compiled_render),     cmocka_unit_test(test_header_mode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
