/* Cron expressions: the five standard fields (minute hour day-of-month month day-of-week) with
 * `*`, lists, ranges, steps and month/day names, the usual @hourly/@daily/@weekly/@monthly/
 * @yearly, and "@every N{s,m,h}" for fixed intervals. All times are UTC. */
#ifndef HERALD_JOBS_CRON_H
#define HERALD_JOBS_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct cron {
    uint64_t minutes; /* bit n: minute n */
    uint32_t hours;   /* bit n: hour n */
    uint32_t mdays;   /* bit n: day n (1-31) */
    uint16_t months;  /* bit n: month n (1-12) */
    uint8_t wdays;    /* bit n: weekday n (0 = Sunday) */
    bool mday_any, wday_any;
    int64_t every_ms; /* > 0 for "@every" */
};

/* HERALD_ERR_INVALID with a message in err on a bad expression. */
enum herald_err cron_parse(const char *expr, struct cron *out, char *err, size_t err_size);
/* The first time strictly after after_ms (whole minutes; for @every, after_ms + interval).
 * -1 if none within five years (e.g. "0 0 30 2 *"). */
int64_t cron_next(const struct cron *c, int64_t after_ms);

#endif
