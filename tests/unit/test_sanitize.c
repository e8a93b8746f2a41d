/* mail/sanitize.c and mail/html_text.c: hostile HTML (OWASP XSS filter-evasion style vectors)
 * cleaned, ordinary email HTML and merge tags kept, idempotence, URL checks, and plain text
 * from HTML (blocks, lists, links, entities, wrapping). */
#include "unit.h"

#include <ctype.h>

#include "base/buf.h"
#include "mail/html_text.h"
#include "mail/sanitize.h"

static char *clean(const char *html)
{
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(mail_sanitize_html(html, strlen(html), &out, &n), HERALD_OK);
    assert_int_equal(n, strlen(out));
    /* Sanitising the output again changes nothing. */
    char *again = NULL;
    assert_int_equal(mail_sanitize_html(out, n, &again, NULL), HERALD_OK);
    assert_string_equal(again, out);
    free(again);
    return out;
}

static void expect_clean(const char *html, const char *want)
{
    char *out = clean(html);
    if (strcmp(out, want) != 0)
        fail_msg("sanitising %s\n gave %s\n want %s", html, out, want);
    free(out);
}

/* Lower-cased output with whitespace removed holds none of the dangerous markers. */
static void expect_harmless(const char *html)
{
    char *out = clean(html);
    char *low = strdup(out);
    size_t k = 0;
    for (size_t i = 0; out[i]; i++)
        if (!isspace((unsigned char)out[i]))
            low[k++] = (char)tolower((unsigned char)out[i]);
    low[k] = '\0';
    static const char *const bad[] = {
        "<script", "javascript:", "vbscript:", "onerror", "onload",      "onclick", "onmouseover",
        "onfocus", "<iframe",     "<object",   "<embed",  "<svg",        "<style",  "<meta",
        "<link",   "<base",       "<form",     "<input",  "expression(", "data:",   "<math",
        "srcdoc",  "formaction",  "xlink",     "<frame",  "<applet"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (strstr(low, bad[i]))
            fail_msg("sanitising %s\n gave %s\n which holds %s", html, out, bad[i]);
    free(low);
    free(out);
}

static void test_xss_vectors(void **state)
{
    (void)state;
    static const char *const vectors[] = {
        "<script>alert('XSS')</script>",
        "<SCRIPT SRC=http://xss.rocks/xss.js></SCRIPT>",
        "<IMG SRC=\"javascript:alert('XSS');\">",
        "<IMG SRC=javascript:alert('XSS')>",
        "<IMG SRC=JaVaScRiPt:alert('XSS')>",
        "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
        "<a onmouseover=\"alert(document.cookie)\">xxs link</a>",
        "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
        "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
        "<IMG SRC=# onmouseover=\"alert('xxs')\">",
        "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
        "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114"
        "&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116"
        "&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
        "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;"
        "&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
        "<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105"
        "&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040"
        "&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041>",
        "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72"
        "&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>",
        "<IMG SRC=\"jav\tascript:alert('XSS');\">",
        "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
        "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
        "<IMG SRC=\"jav&#x0D;ascript:alert('XSS');\">",
        "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
        "<a href=\"java&Tab;script&colon;alert(1)\">x</a>",
        "<a href=\"&#x6A;avascript&#x3A;alert(1)\">x</a>",
        "<a href=\"javascript&#58alert(1)\">x</a>",
        "<SCRIPT/XSS SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
        "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
        "<<SCRIPT>alert(\"XSS\");//<</SCRIPT>",
        "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
        "<IMG SRC=\"`<javascript:alert>`('XSS')\"",
        "</TITLE><SCRIPT>alert(\"XSS\");</SCRIPT>",
        "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
        "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
        "<IMG DYNSRC=\"javascript:alert('XSS')\">",
        "<IMG LOWSRC=\"javascript:alert('XSS')\">",
        "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
        "<svg/onload=alert('XSS')>",
        "<BODY ONLOAD=alert('XSS')>",
        "<BGSOUND SRC=\"javascript:alert('XSS');\">",
        "<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
        "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
        "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
        "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
        "<IFRAME SRC=# onmouseover=\"alert(document.cookie)\"></IFRAME>",
        "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
        "<TABLE BACKGROUND=\"javascript:alert('XSS')\"><TD BACKGROUND=\"javascript:alert('XSS')\">",
        "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
        "<DIV STYLE=\"background-image:\\0075\\0072\\006C\\0028'\\006a\\0061\\0076\\0061\\0073"
        "\\0063\\0072\\0069\\0070\\0074\\003a\\0061\\006c\\0065\\0072\\0074\\0028.1027\\0058.1053"
        "\\0053\\0027\\0029'\\0029\">",
        "<DIV STYLE=\"width: expression(alert('XSS'));\">",
        "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
        "<BASE HREF=\"javascript:alert('XSS');//\">",
        "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.rocks/scriptlet.html\"></OBJECT>",
        "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH "
        "A6Ly93d3cudzMub3JnLzIwMDAv"
        "c3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv\" type=\"image/svg+xml\" AllowScriptAccess="
        "\"always\"></EMBED>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
        "<a href=\"vbscript:msgbox(1)\">x</a>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
        "<button formaction=\"javascript:alert(1)\">x</button>",
        "<svg><a xlink:href=\"javascript:alert(1)\"><text x=\"20\" y=\"20\">XSS</text></a></svg>",
        "<!--[if gte IE 4]><SCRIPT>alert('XSS');</SCRIPT><![endif]-->",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        "<details open ontoggle=alert(1)>",
        "<video><source onerror=\"alert(1)\"></video>",
        "<form><input type=submit formaction=javascript:alert(1)></form>",
        "<a href=\"\x01javascript:alert(1)\">x</a>",
        "<a href=\"  javascript:alert(1)\">x</a>",
        "<img src=\"x\" o\x00nerror=\"alert(1)\">",
        "<xss onafterscriptexecute=alert(1)><script>1</script>",
        "<template><script>alert(1)</script></template>",
    };
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
        expect_harmless(vectors[i]);
}

static void test_email_html_kept(void **state)
{
    (void)state;
    expect_clean("<p>Hello <b>you</b> &amp; <i>me</i></p>",
                 "<p>Hello <b>you</b> &amp; <i>me</i></p>");
    expect_clean("<table width=\"600\" cellpadding=\"0\" border=\"0\" align=\"center\">"
                 "<tr><td style=\"color: #333; padding: 8px\" valign=\"top\" colspan=\"2\">x</td>"
                 "</tr></table>",
                 "<table width=\"600\" cellpadding=\"0\" border=\"0\" align=\"center\"><tr>"
                 "<td style=\"color: #333; padding: 8px\" valign=\"top\" colspan=\"2\">x</td></tr>"
                 "</table>");
    expect_clean(
        "<a href=\"https://example.com/a?b=1&amp;c=2\" title=\"t\" target=\"_blank\">l</a>",
        "<a href=\"https://example.com/a?b=1&amp;c=2\" title=\"t\" target=\"_blank\">l</a>");
    expect_clean(
        "<a href=\"mailto:x@example.com\">m</a><a href=\"/rel\">r</a><a href=\"#top\">t</a>",
        "<a href=\"mailto:x@example.com\">m</a><a href=\"/rel\">r</a><a href=\"#top\">t</a>");
    expect_clean("<img src=\"https://example.com/logo.png\" alt=\"Logo\" width=\"100\"><br>",
                 "<img src=\"https://example.com/logo.png\" alt=\"Logo\" width=\"100\"><br>");
    expect_clean("<ul><li>a</li><li>b</li></ul><h1>T</h1><hr><center>c</center>",
                 "<ul><li>a</li><li>b</li></ul><h1>T</h1><hr><center>c</center>");
    /* Full documents: the body's content; head and its style go. */
    expect_clean("<!DOCTYPE html><html><head><title>t</title><style>p{}</style></head>"
                 "<body bgcolor=red><p>hi</p></body></html>",
                 "<p>hi</p>");
    /* Unknown tags go, their content stays; comments go. */
    expect_clean("<custom>in<!-- c --></custom> out", "in out");
    /* A style without danger stays; one with it is dropped whole. */
    expect_clean("<p style=\"color:red\">a</p><p style=\"background:url(https://x/y.png)\">b</p>",
                 "<p style=\"color:red\">a</p><p>b</p>");
    /* Attribute values with a double quote are written single-quoted. */
    expect_clean("<p title='say \"hi\"'>q</p>", "<p title='say \"hi\"'>q</p>");
    expect_clean("", "");
}

static void test_merge_tags_survive(void **state)
{
    (void)state;
    const char *const same[] = {
        "<p>Hi {{ contact.name | default: \"guest\" }},</p>",
        "<a href=\"{{ unsubscribe_url }}\">Unsubscribe</a>",
        "<a href=\"{{ preferences_url }}\">Preferences</a>",
        "<a href=\"https://example.com/r/{{ contact.attributes.room_type }}\">r</a>",
        "<a href=\"mailto:{{ contact.email }}\">me</a>",
        "<img alt=\"{{ contact.name | default: 'guest' }}\" src=\"https://x/{{ contact.email }}\">",
        "<td style=\"color: {{ contact.attributes.color }}\">c</td>",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        char *out = clean(same[i]);
        if (!strstr(same[i], "<td") && strcmp(out, same[i]) != 0)
            fail_msg("%s became %s", same[i], out);
        if (strstr(same[i], "<td") && !strstr(out, "{{ contact.attributes.color }}"))
            fail_msg("%s became %s", same[i], out);
        free(out);
    }
    /* Tags that could build a scheme at render time are refused. */
    expect_clean("<a href=\"{{ contact.attributes.a }}{{ contact.attributes.b }}\">x</a>",
                 "<a>x</a>");
    expect_clean("<a href=\"java{{ contact.attributes.b }}\">x</a>", "<a>x</a>");
    expect_clean("<a href=\"{{ contact.attributes.a }}script:alert(1)\">x</a>", "<a>x</a>");
    expect_clean("<a href=\"  {{ unsubscribe_url }} \">x</a>",
                 "<a href=\"{{ unsubscribe_url }}\">x</a>");
}

static void test_url_is_safe(void **state)
{
    (void)state;
    const char *const safe[] = {"https://x",  "HTTP://x",
                                "mailto:a@b", "/path",
                                "#frag",      "?q=1",
                                "page.html",  "",
                                "a/b:c",      "%6aavascript:x",
                                "{{ u }}",    "1http:x",
                                "javascript", "https://x/?q=javascript"};
    const char *const unsafe[] = {
        "javascript:alert(1)",       " JAVASCRIPT:x",     "jav\tascript:x",
        "jav&#x09;ascript:x",        "&#106;avascript:x", "java&Tab;script:x",
        "javascript&colon;x",        "vbscript:x",        "data:text/html,x",
        "file:///etc/passwd",        "ftp://x",           "\x01javascript:x",
        "aaaaaaaaaaaaaaaaaaaaaaa:x", "`javascript:x`",    "/r?u=javascript:x"};
    for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
        if (!mail_url_is_safe(safe[i]))
            fail_msg("%s should be safe", safe[i]);
    for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
        if (mail_url_is_safe(unsafe[i]))
            fail_msg("%s should be unsafe", unsafe[i]);
    assert_false(mail_url_is_safe(NULL));
}

static void test_too_large(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(mail_sanitize_html("x", MAIL_SANITIZE_MAX + 1, &out, NULL),
                     HERALD_ERR_TOO_LARGE);
    assert_null(out);
}

/* ---- html_text ---- */

static void expect_text(const char *html, const char *want)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(mail_html_to_text(html, strlen(html), &b), HERALD_OK);
    const char *got = b.data ? b.data : "";
    if (strcmp(got, want) != 0)
        fail_msg("text of %s\n gave [%s]\n want [%s]", html, got, want);
    buf_free(&b);
}

static void test_text_blocks_and_lists(void **state)
{
    (void)state;
    expect_text("<h1>Title</h1><p>One   two\n three</p><p>Four</p>",
                "Title\n\nOne two three\n\nFour\n");
    expect_text("<div>a</div><div>b</div>line<br>break<br><br>para", "a\nb\nline\nbreak\n\npara\n");
    expect_text("<ul><li>one</li><li>two</li></ul><ol><li>first</li><li>second</li></ol>",
                "- one\n- two\n\n1. first\n2. second\n");
    expect_text("<ul><li>a<ul><li>nested</li></ul></li></ul>", "- a\n  - nested\n");
    expect_text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc\n");
    expect_text("<p>x</p><hr><p>y</p>", "x\n\n--------------------\n\ny\n");
    expect_text("<pre>  keep\n   this</pre>", "  keep\n   this\n");
    expect_text("<head><title>t</title><style>p{}</style></head><script>x()</script><p>only</p>",
                "only\n");
    expect_text("", "");
    expect_text("<p> </p>", "");
}

static void test_text_links_entities(void **state)
{
    (void)state;
    expect_text("<p>See <a href=\"https://example.com/x\">our site</a>.</p>",
                "See our site (https://example.com/x).\n");
    expect_text("<a href=\"https://example.com\">https://example.com</a>", "https://example.com\n");
    expect_text("<a href=\"mailto:a@example.com\">a@example.com</a>", "a@example.com\n");
    expect_text("<a href=\"#top\">Top</a>", "Top\n");
    expect_text("<a href=\"https://x.example/\"><img src=\"y\"></a>", "https://x.example/\n");
    expect_text("<a href=\"javascript:alert(1)\">bad</a>", "bad\n");
    expect_text("<img src=\"x\" alt=\"Logo\"> text", "Logo text\n");
    expect_text("<p>&lt;b&gt; &amp; &eacute;t&eacute; &#8364;5&nbsp;&nbsp;x</p>",
                "<b> & \xc3\xa9t\xc3\xa9 \xe2\x82\xac"
                "5 x\n");
    expect_text("<p>Hi {{ contact.name | default: \"dear   guest\" }},</p>"
                "<a href=\"{{ unsubscribe_url }}\">Unsubscribe</a>",
                "Hi {{ contact.name | default: \"dear   guest\" }},\n\n"
                "Unsubscribe ({{ unsubscribe_url }})\n");
}

static void test_text_wrapping(void **state)
{
    (void)state;
    char html[2048] = "<p>";
    for (int i = 0; i < 40; i++)
        strcat(html, "word ");
    strcat(html, "</p><ul><li>");
    for (int i = 0; i < 30; i++)
        strcat(html, "item ");
    strcat(html, "</li></ul><p>https://example.com/a/very/long/url/that/is/longer/than/seventy/"
                 "eight/columns/of/text/anyway</p>");
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(mail_html_to_text(html, strlen(html), &b), HERALD_OK);
    int lines = 0, item = -1;
    for (char *line = b.data, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        size_t len = (size_t)(nl - line);
        if (strncmp(line, "https://", 8) != 0)
            assert_true(len <= MAIL_TEXT_WIDTH);
        else
            assert_true(len > MAIL_TEXT_WIDTH); /* a long word stays whole */
        if (strncmp(line, "- item", 6) == 0)
            item = lines;
        if (item >= 0 && lines == item + 1)
            assert_memory_equal(line, "  item", 6); /* continuation indented under the item */
        lines++;
    }
    assert_int_equal(item, 4);  /* 200 characters of words: 3 lines, then a blank one */
    assert_int_equal(lines, 8); /* 3 + blank + 2 + blank + 1 */
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xss_vectors),         cmocka_unit_test(test_email_html_kept),
        cmocka_unit_test(test_merge_tags_survive),  cmocka_unit_test(test_url_is_safe),
        cmocka_unit_test(test_too_large),           cmocka_unit_test(test_text_blocks_and_lists),
        cmocka_unit_test(test_text_links_entities), cmocka_unit_test(test_text_wrapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
