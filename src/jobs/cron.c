/* Parses cron expressions (five fields, names, steps, @aliases, "@every N") into bit sets and
 * finds the next matching minute after a time, in UTC; see cron.h. */
#include "jobs/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/err.h"

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct field {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[0] is value `lo` (or 0 for weekdays) */
    int nnames;
};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL, 0},          {"hour", 0, 23, NULL, 0},
    {"day of month", 1, 31, NULL, 0},    {"month", 1, 12, month_names, 12},
    {"day of week", 0, 7, day_names, 7},
};

static int read_value(const struct field *f, const char **p, int *out)
{
    if (isdigit((unsigned char)**p)) {
        char *end;
        long v = strtol(*p, &end, 10);
        if (end - *p > 4)
            return -1;
        *p = end;
        *out = (int)v;
        return v < f->lo || v > f->hi ? -1 : 0;
    }
    for (int i = 0; i < f->nnames; i++)
        if (strncasecmp(*p, f->names[i], 3) == 0 && !isalpha((unsigned char)(*p)[3])) {
            *p += 3;
            *out = f == &fields[3] ? i + 1 : i;
            return 0;
        }
    return -1;
}

/* Parses one field into a bit set; *any is true for a bare `*`. */
static int parse_field(const struct field *f, const char *text, uint64_t *bits, bool *any)
{
    *bits = 0;
    *any = strcmp(text, "*") == 0;
    const char *p = text;
    for (;;) {
        int lo, hi, step = 1;
        if (*p == '*') {
            lo = f->lo;
            hi = f->hi;
            p++;
        } else {
            if (read_value(f, &p, &lo))
                return -1;
            hi = lo;
            if (*p == '-') {
                p++;
                if (read_value(f, &p, &hi) || hi < lo)
                    return -1;
            }
        }
        if (*p == '/') {
            p++;
            char *end;
            long s = strtol(p, &end, 10);
            if (end == p || s < 1 || s > f->hi + 1)
                return -1;
            step = (int)s;
            p = end;
            if (lo == hi)
                hi = f->hi; /* "5/15" means 5-max/15 */
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ULL << v;
        if (*p == '\0')
            return 0;
        if (*p++ != ',')
            return -1;
    }
}

enum herald_err cron_parse(const char *expr, struct cron *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    static const struct {
        const char *alias, *expr;
    } aliases[] = {{"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
                   {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
                   {"@annually", "0 0 1 1 *"}};
    while (isspace((unsigned char)*expr))
        expr++;
    if (strncmp(expr, "@every ", 7) == 0) {
        char *end;
        double n = strtod(expr + 7, &end);
        int64_t unit = !strcmp(end, "s")   ? 1000
                       : !strcmp(end, "m") ? 60000
                       : !strcmp(end, "h") ? 3600000
                                           : 0;
        if (end == expr + 7 || unit == 0 || n < 1 || n * (double)unit > 366.0 * 86400000) {
            snprintf(err, err_size, "@every needs a duration like 30s, 15m or 2h");
            return HERALD_ERR_INVALID;
        }
        out->every_ms = (int64_t)(n * (double)unit);
        return HERALD_OK;
    }
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(expr, aliases[i].alias) == 0)
            return cron_parse(aliases[i].expr, out, err, err_size);
    char copy[256];
    if (strlen(expr) >= sizeof(copy)) {
        snprintf(err, err_size, "expression too long");
        return HERALD_ERR_INVALID;
    }
    strcpy(copy, expr);
    char *parts[6], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(copy, " \t", &save); t && n < 6; t = strtok_r(NULL, " \t", &save))
        parts[n++] = t;
    if (n != 5) {
        snprintf(err, err_size, "expected 5 fields (minute hour day-of-month month day-of-week)");
        return HERALD_ERR_INVALID;
    }
    uint64_t bits[5];
    bool any[5];
    for (int i = 0; i < 5; i++)
        if (parse_field(&fields[i], parts[i], &bits[i], &any[i])) {
            snprintf(err, err_size, "invalid %s field \"%.32s\"", fields[i].name, parts[i]);
            return HERALD_ERR_INVALID;
        }
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
    out->mday_any = any[2];
    out->wday_any = any[4];
    return HERALD_OK;
}

static bool day_matches(const struct cron *c, const struct tm *tm)
{
    bool md = c->mdays >> tm->tm_mday & 1, wd = c->wdays >> tm->tm_wday & 1;
    /* Vixie cron: when both day fields are restricted, either may match. */
    if (!c->mday_any && !c->wday_any)
        return md || wd;
    return md && wd;
}

int64_t cron_next(const struct cron *c, int64_t after_ms)
{
    if (c->every_ms > 0)
        return after_ms + c->every_ms;
    time_t t = (time_t)(after_ms / 1000);
    t = t - t % 60 + 60; /* the next whole minute */
    time_t limit = t + (time_t)5 * 366 * 86400;
    struct tm tm;
    while (t < limit) {
        gmtime_r(&t, &tm);
        if (!(c->months >> (tm.tm_mon + 1) & 1) || !day_matches(c, &tm)) {
            t += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60); /* next midnight */
            continue;
        }
        if (!(c->hours >> tm.tm_hour & 1)) {
            t += 3600 - tm.tm_min * 60;
            continue;
        }
        if (!(c->minutes >> tm.tm_min & 1)) {
            t += 60;
            continue;
        }
        return (int64_t)t * 1000;
    }
    return -1;
}
