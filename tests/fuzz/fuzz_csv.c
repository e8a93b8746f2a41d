/* The incremental CSV parser: any bytes, cut into pieces anywhere, give the same records as in
 * one piece; offsets advance to the end of the input; limits hold; and a parse resumed after a
 * record at its (end_offset, next_line) gives the records that followed it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "mail/csv.h"

static const struct csv_opts opts = {.max_field = 16, .max_fields = 8, .max_record = 64};

struct seen {
    struct buf out;
    int64_t last_end, last_line;
    int64_t ends[4], lines[4];
    size_t outpos[4]; /* where the output after record k starts */
    int n;
};

static int collect(void *arg, const struct csv_record *rec)
{
    struct seen *s = arg;
    if (rec->nfields == 0 || rec->nfields > opts.max_fields || rec->end_offset <= s->last_end ||
        rec->line < s->last_line || rec->next_line < rec->line)
        abort();
    for (size_t i = 0; i < rec->nfields; i++)
        if (rec->fields[i].len > opts.max_field || rec->fields[i].data[rec->fields[i].len])
            abort();
    s->last_end = rec->end_offset;
    s->last_line = rec->next_line;
    buf_printf(&s->out, "%lld@%lld:%zu:", (long long)rec->line, (long long)rec->end_offset,
               rec->nfields);
    for (size_t i = 0; i < rec->nfields; i++) {
        buf_printf(&s->out, "%zu,", rec->fields[i].len);
        buf_append(&s->out, rec->fields[i].data, rec->fields[i].len);
    }
    buf_printf(&s->out, "!%s\n", rec->error ? rec->error : "");
    if (s->n < 4) {
        s->ends[s->n] = rec->end_offset;
        s->lines[s->n] = rec->next_line;
        s->outpos[s->n] = s->out.len;
    }
    s->n++;
    return 0;
}

/* Parses data[from..size) from (offset, line) in pieces of `step` bytes (0: one piece). */
static void parse(const uint8_t *data, size_t size, size_t from, int64_t line, size_t step,
                  struct seen *s)
{
    memset(s, 0, sizeof(*s));
    buf_init(&s->out, 1 << 26);
    s->last_end = (int64_t)from;
    struct csv_parser *p = csv_new(&opts, (int64_t)from, line);
    if (!p)
        abort();
    for (size_t at = from; at < size;) {
        size_t n = step && size - at > step ? step : size - at;
        if (csv_feed(p, (const char *)data + at, n, collect, s))
            abort();
        at += n;
    }
    if (csv_finish(p, collect, s) || csv_offset(p) != (int64_t)size)
        abort();
    csv_free(p);
    buf_append(&s->out, "", 0);
}

static void same(const struct seen *a, const char *b_text)
{
    const char *a_text = a->out.data ? a->out.data : "";
    if (strcmp(a_text, b_text ? b_text : "") != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen whole, cut;
    parse(data, size, 0, 1, 0, &whole);
    size_t steps[] = {1, 2, 3, 7, size > 1 ? (size_t)data[0] % size + 1 : 1};
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        parse(data, size, 0, 1, steps[k], &cut);
        same(&cut, whole.out.data);
        buf_free(&cut.out);
    }
    /* Resumed after each of the first records: the rest of the whole parse. */
    for (int r = 0; r < whole.n && r < 4; r++) {
        parse(data, size, (size_t)whole.ends[r], whole.lines[r], 0, &cut);
        same(&cut, whole.out.data + whole.outpos[r]);
        buf_free(&cut.out);
    }
    buf_free(&whole.out);
    return 0;
}
