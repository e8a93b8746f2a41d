#include "base/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

int64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int clock_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc)
        return rc;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (!rc)
        rc = pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

struct timespec clock_deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void split_ms(int64_t ms, struct tm *tm, int *millis)
{
    int64_t secs = ms / 1000;
    int rem = (int)(ms % 1000);
    if (rem < 0) {
        rem += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    gmtime_r(&t, tm);
    *millis = rem;
}

void clock_format_iso(int64_t ms, char *out, size_t out_size)
{
    struct tm tm;
    int millis;
    split_ms(ms, &tm, &millis);
    strftime(out, out_size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void clock_format_iso_ms(int64_t ms, char *out, size_t out_size)
{
    struct tm tm;
    int millis;
    split_ms(ms, &tm, &millis);
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, out_size, "%s.%03dZ", base, millis);
}

static int read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int64_t clock_days_from_civil(int y, int m, int d)
{
    /* Howard Hinnant's algorithm: exact for the proleptic Gregorian calendar. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int clock_days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

/* ".123" or ",123456": up to nine digits, the first three kept as milliseconds. */
static enum herald_err read_fraction(const char **pp, int *millis)
{
    const char *p = *pp;
    int digits = 0;
    *millis = 0;
    while (isdigit((unsigned char)*p)) {
        if (digits < 3)
            *millis = *millis * 10 + (*p - '0');
        digits++;
        p++;
    }
    if (digits == 0 || digits > 9)
        return HERALD_ERR_INVALID;
    for (int i = digits; i < 3; i++)
        *millis *= 10;
    *pp = p;
    return HERALD_OK;
}

/* "Z", or "+HH:MM" / "-HHMM" as minutes east of UTC. */
static enum herald_err read_offset(const char **pp, int64_t *offset_min)
{
    const char *p = *pp;
    *offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        *pp = p + 1;
        return HERALD_OK;
    }
    if (*p != '+' && *p != '-')
        return HERALD_ERR_INVALID;
    int sign = *p == '-' ? -1 : 1, oh, om;
    p++;
    if (read_digits(&p, 2, &oh))
        return HERALD_ERR_INVALID;
    if (*p == ':')
        p++;
    if (read_digits(&p, 2, &om) || oh > 23 || om > 59)
        return HERALD_ERR_INVALID;
    *offset_min = sign * (oh * 60 + om);
    *pp = p;
    return HERALD_OK;
}

enum herald_err clock_parse_iso(const char *s, int64_t *out_ms)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, millis = 0;
    if (read_digits(&p, 4, &y) || *p++ != '-' || read_digits(&p, 2, &mo) || *p++ != '-' ||
        read_digits(&p, 2, &d))
        return HERALD_ERR_INVALID;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > clock_days_in_month(y, mo))
        return HERALD_ERR_INVALID;
    int64_t offset_min = 0;
    if (*p == '\0')
        goto done;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return HERALD_ERR_INVALID;
    p++;
    if (read_digits(&p, 2, &h) || *p++ != ':' || read_digits(&p, 2, &mi))
        return HERALD_ERR_INVALID;
    if (*p == ':') {
        p++;
        if (read_digits(&p, 2, &sec))
            return HERALD_ERR_INVALID;
        if (*p == '.' || *p == ',') {
            p++;
            if (read_fraction(&p, &millis))
                return HERALD_ERR_INVALID;
        }
    }
    if (h > 23 || mi > 59 || sec > 60 || read_offset(&p, &offset_min) || *p != '\0')
        return HERALD_ERR_INVALID;
done:;
    int64_t days = clock_days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    *out_ms = secs * 1000 + millis;
    return HERALD_OK;
}
