/* The incremental CSV parser (mail/csv.c): quoting, line breaks, the BOM, malformed records and
 * their recovery, limits, and the same records whatever the pieces the input comes in. */
#include "unit.h"

#include "base/buf.h"
#include "mail/csv.h"

/* Each record as "L<line>@<end>:<field>|<field>[!<error>]\n" (fields printed raw). */
static int collect(void *arg, const struct csv_record *rec)
{
    struct buf *out = arg;
    assert_true(rec->next_line >= rec->line);
    buf_printf(out, "L%lld@%lld:", (long long)rec->line, (long long)rec->end_offset);
    for (size_t i = 0; i < rec->nfields; i++) {
        if (i)
            buf_append(out, "|", 1);
        buf_append(out, rec->fields[i].data, rec->fields[i].len);
    }
    if (rec->error)
        buf_printf(out, "!%s", rec->error);
    buf_append(out, "\n", 1);
    return 0;
}

/* Parses `in` cut into pieces at `cuts` (ascending offsets) and returns what was collected
 * (free() it). */
static char *parse_cut(const struct csv_opts *o, const char *in, size_t len, const size_t *cuts,
                       size_t ncuts)
{
    struct buf out;
    buf_init(&out, 1 << 24);
    struct csv_parser *p = csv_new(o, 0, 1);
    assert_non_null(p);
    size_t from = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t to = k < ncuts ? cuts[k] : len;
        assert_int_equal(csv_feed(p, in + from, to - from, collect, &out), 0);
        from = to;
    }
    assert_int_equal(csv_finish(p, collect, &out), 0);
    assert_int_equal(csv_offset(p), (int64_t)len);
    csv_free(p);
    buf_append(&out, "", 0);
    char *s;
    size_t n;
    buf_steal(&out, &s, &n);
    return s;
}

/* Whole, then cut once at every offset, then cut twice around every offset, then byte by byte:
 * always the same records, and `want`. */
static void expect_opts(const struct csv_opts *o, const char *in, const char *want)
{
    size_t len = strlen(in);
    char *whole = parse_cut(o, in, len, NULL, 0);
    assert_string_equal(whole, want);
    for (size_t c = 0; c <= len; c++) {
        size_t cuts[2] = {c, c + 1 <= len ? c + 1 : len};
        char *one = parse_cut(o, in, len, cuts, 1);
        assert_string_equal(one, want);
        free(one);
        char *two = parse_cut(o, in, len, cuts, 2);
        assert_string_equal(two, want);
        free(two);
    }
    size_t *all = malloc(len * sizeof(size_t) + 1);
    for (size_t c = 0; c < len; c++)
        all[c] = c;
    char *bytes = parse_cut(o, in, len, all, len);
    assert_string_equal(bytes, want);
    free(bytes);
    free(all);
    free(whole);
}

static void expect(const char *in, const char *want)
{
    expect_opts(NULL, in, want);
}

static void test_basic(void **state)
{
    (void)state;
    expect("email,name\na@b.c,Ann\n", "L1@11:email|name\nL2@21:a@b.c|Ann\n");
    expect("a,b", "L1@3:a|b\n");              /* no final line break */
    expect("a,,\n", "L1@4:a||\n");            /* empty fields */
    expect("a\n\n\nb\n", "L1@2:a\nL4@6:b\n"); /* blank lines skipped, lines counted */
    expect("", "");
    expect("\n", "");
}

static void test_line_breaks(void **state)
{
    (void)state;
    expect("a,b\r\nc,d\r\n", "L1@5:a|b\nL2@10:c|d\n");
    expect("a\rb\rc", "L1@2:a\nL2@4:b\nL3@5:c\n"); /* lone CR */
    expect("a\r\n\r\nb\r\n", "L1@3:a\nL3@8:b\n");
    expect("a,b\r", "L1@4:a|b\n");
}

static void test_quoting(void **state)
{
    (void)state;
    expect("\"a,b\",c\n", "L1@8:a,b|c\n");
    expect("\"say \"\"hi\"\"\",x\n", "L1@15:say \"hi\"|x\n");
    expect("\"multi\r\nline\",z\r\nnext,1\r\n", "L1@17:multi\r\nline|z\nL3@25:next|1\n");
    expect("\"\"\n", "L1@3:\n"); /* a quoted empty field is a record, not a blank line */
    expect("5\" screen,b\n", "L1@12:5\" screen|b\n"); /* a quote inside an unquoted field */
    expect("\"a\"", "L1@3:a\n");
}

static void test_bom(void **state)
{
    (void)state;
    expect("\xEF\xBB\xBF"
           "email\nx\n",
           "L1@9:email\nL2@11:x\n");
    expect("\xEF\xBB"
           "a\n",
           "L1@4:\xEF\xBB"
           "a\n"); /* a partial BOM is data */
    expect("\xEF", "L1@1:\xEF\n");
    expect("\xEF\xBB\xBF", "");
}

static void test_bad_quoting(void **state)
{
    (void)state;
    expect("\"ab\"c,d\nx,y\n",
           "L1@8:abc|d!unexpected character after a closing quote\nL2@12:x|y\n");
    /* An unterminated quote at the end costs its own line only. */
    expect("a,b\n\"open,c\nd,e\nf,g\n",
           "L1@4:a|b\nL2@12:open,c\nd,e\nf,g\n!unterminated quoted field (or a record over 65536 "
           "bytes)\nL3@16:d|e\nL4@20:f|g\n");
    expect("\"never closed", "L1@13:never closed!unterminated quoted field\n");
}

static void test_limits(void **state)
{
    (void)state;
    struct csv_opts o = {.max_field = 4, .max_fields = 3, .max_record = 16};
    expect_opts(&o, "abcde,x\nok\n", "L1@8:abcd|x!a field is longer than 4 bytes\nL2@11:ok\n");
    expect_opts(&o, "a,b,c,d\nok\n", "L1@8:a|b|c!more than 3 fields\nL2@11:ok\n");
    struct csv_opts wide = {.max_field = 64, .max_fields = 8, .max_record = 16};
    expect_opts(&wide, "a,b,c,dddddddddddddddd\nok\n",
                "L1@23:a|b|c!a record is longer than 16 bytes\nL2@26:ok\n");
    /* A quote open past max_record over several lines: reported on its line, then resumed. */
    expect_opts(&o, "\"x\nab\ncd\nef\ngh\nij\n",
                "L1@3:x\nab!unterminated quoted field (or a record over 16 bytes)\n"
                "L2@6:ab\nL3@9:cd\nL4@12:ef\nL5@15:gh\nL6@18:ij\n");
    /* A quote on the next line closes the field: one record over two lines, with text after
     * its closing quote. */
    expect_opts(&o, "\"a\n\"b\nc\nd\n",
                "L1@6:a\nb!unexpected character after a closing quote\nL3@8:c\nL4@10:d\n");
}

/* Resuming at an offset (as an import job does after its last committed batch). */
static void test_resume(void **state)
{
    (void)state;
    const char *in = "h\n\"x,1\ny\",2\nz,3\n";
    struct buf out;
    buf_init(&out, 4096);
    struct csv_parser *p = csv_new(NULL, 12, 4);
    assert_int_equal(csv_feed(p, in + 12, strlen(in) - 12, collect, &out), 0);
    assert_int_equal(csv_finish(p, collect, &out), 0);
    csv_free(p);
    buf_append(&out, "", 0);
    assert_string_equal(out.data, "L4@16:z|3\n");
    buf_free(&out);
}

/* Resuming after each record at its (end_offset, next_line) gives the rest of the records,
 * lines included. */
struct resume_points {
    int64_t end[16], next[16];
    int n;
};

static int note_point(void *arg, const struct csv_record *rec)
{
    struct resume_points *rp = arg;
    assert_true(rp->n < 16);
    rp->end[rp->n] = rec->end_offset;
    rp->next[rp->n++] = rec->next_line;
    return 0;
}

static char *parse_from(const char *in, int64_t offset, int64_t line, const struct csv_opts *o)
{
    struct buf out;
    buf_init(&out, 1 << 20);
    struct csv_parser *p = csv_new(o, offset, line);
    assert_int_equal(csv_feed(p, in + offset, strlen(in) - (size_t)offset, collect, &out), 0);
    assert_int_equal(csv_finish(p, collect, &out), 0);
    csv_free(p);
    buf_append(&out, "", 0);
    return out.data;
}

static void expect_resumable(const char *in, const struct csv_opts *o)
{
    struct resume_points rp = {.n = 0};
    struct csv_parser *p = csv_new(o, 0, 1);
    assert_int_equal(csv_feed(p, in, strlen(in), note_point, &rp), 0);
    assert_int_equal(csv_finish(p, note_point, &rp), 0);
    csv_free(p);
    char *whole = parse_from(in, 0, 1, o);
    const char *rest = whole;
    for (int k = 0; k < rp.n; k++) {
        /* the next record's "L<line>@" (no field of these inputs holds "\nL") */
        const char *next = strstr(rest, "\nL");
        rest = next ? next + 1 : rest + strlen(rest);
        char *resumed = parse_from(in, rp.end[k], rp.next[k], o);
        assert_string_equal(resumed, rest);
        free(resumed);
    }
    free(whole);
}

static void test_resume_after_every_record(void **state)
{
    (void)state;
    struct csv_opts o = {.max_field = 64, .max_fields = 8, .max_record = 16};
    expect_resumable("h,i\r\na,1\r\n\r\nb,2\rc,3\n\"d\",4\n", NULL);
    expect_resumable("a\n\"open\nb\nc\nd\ne\nf\ng\nh\n", &o);
    expect_resumable("\"x\"y,1\nz,2", NULL);
}

static int stop_at_two(void *arg, const struct csv_record *rec)
{
    (void)rec;
    return ++*(int *)arg == 2 ? 42 : 0;
}

static void test_callback_stops(void **state)
{
    (void)state;
    int n = 0;
    struct csv_parser *p = csv_new(NULL, 0, 1);
    assert_int_equal(csv_feed(p, "a\nb\nc\n", 6, stop_at_two, &n), 42);
    assert_int_equal(n, 2);
    csv_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),          cmocka_unit_test(test_line_breaks),
        cmocka_unit_test(test_quoting),        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_bad_quoting),    cmocka_unit_test(test_limits),
        cmocka_unit_test(test_resume),         cmocka_unit_test(test_resume_after_every_record),
        cmocka_unit_test(test_callback_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
