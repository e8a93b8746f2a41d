/* Exponential backoff with jitter: the one formula every retry loop in Herald uses (store
 * transactions, upstream HTTP, Mixpanel, job retries), each with its own numbers. */
#ifndef HERALD_BASE_BACKOFF_H
#define HERALD_BASE_BACKOFF_H

#include <stdint.h>

struct backoff {
    int64_t first_ms;                   /* the wait before the first retry (attempt 0) */
    int64_t max_ms;                     /* the doubling stops here */
    int jitter_percent;                 /* plus a random 0..jitter_percent % of the doubled wait */
    int64_t extra_min_ms, extra_max_ms; /* plus a random extra in [min, max] (0, 0: none) */
};

/* The wait before retry number `attempt` (0-based). `seed` is the caller's rand_r state, so
 * threads do not share one; it may be NULL when the backoff has no jitter. */
int64_t backoff_delay_ms(const struct backoff *b, int attempt, unsigned *seed);

#endif
