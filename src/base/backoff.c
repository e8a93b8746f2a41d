/* Owns the backoff formula (backoff.h): doubling, capping and jitter, nothing else. */
#include "base/backoff.h"

#include <stdlib.h>

static int64_t random_upto(int64_t n, unsigned *seed)
{
    return n > 0 ? (int64_t)((uint64_t)rand_r(seed) % (uint64_t)(n + 1)) : 0;
}

int64_t backoff_delay_ms(const struct backoff *b, int attempt, unsigned *seed)
{
    int64_t wait = b->first_ms;
    for (int i = 0; i < attempt && wait < b->max_ms; i++)
        wait *= 2;
    if (wait > b->max_ms)
        wait = b->max_ms;
    wait += random_upto(wait * b->jitter_percent / 100, seed);
    if (b->extra_max_ms > 0)
        wait += b->extra_min_ms + random_upto(b->extra_max_ms - b->extra_min_ms, seed);
    return wait;
}
