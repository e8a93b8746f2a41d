/* Time: wall clock in milliseconds since the Unix epoch, a monotonic clock for durations,
 * and the one ISO-8601 form Herald writes ("2024-01-15T10:30:00Z" / with ".123"). */
#ifndef HERALD_BASE_CLOCK_H
#define HERALD_BASE_CLOCK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

int64_t clock_now_ms(void);
int64_t clock_mono_ns(void);
/* "2024-01-15T10:30:00Z" (seconds precision). */
void clock_format_iso(int64_t ms, char *out, size_t out_size);
/* "2024-01-15T10:30:00.123Z". */
void clock_format_iso_ms(int64_t ms, char *out, size_t out_size);
/* Parses an ISO-8601 date-time: YYYY-MM-DD[T ]HH:MM[:SS[.fraction]] followed by Z or ±HH:MM
 * (an offset is required), or a bare date YYYY-MM-DD meaning midnight UTC. Returns
 * HERALD_ERR_INVALID for anything else, including impossible dates. */
enum herald_err clock_parse_iso(const char *s, int64_t *out_ms);
/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12, d 1..31). */
int64_t clock_days_from_civil(int y, int m, int d);
/* 28..31: the days of month m (1..12) of year y. */
int clock_days_in_month(int y, int m);

/* Condition variables whose timed waits run on the monotonic clock, so a wall-clock step
 * (NTP, an operator) neither cuts a wait short nor stretches it. Every timed wait in Herald
 * initialises its condvar with clock_cond_init and computes its deadline with
 * clock_deadline_in. Returns pthread's error code (0 on success). */
int clock_cond_init(pthread_cond_t *cv);
/* The monotonic time `ms` milliseconds from now, for pthread_cond_timedwait. */
struct timespec clock_deadline_in(int64_t ms);

#endif
