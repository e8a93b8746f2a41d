/* Token buckets per caller (API key id or client IP), in a sharded hash table. Memory is
 * bounded: a shard past its limit drops buckets that have refilled (they are as good as new). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "http/internal.h"

#define SHARDS 16
#define BUCKETS_PER_SHARD 1024
#define MAX_PER_SHARD 8192

struct bucket {
    char *who;
    double tokens;
    int64_t updated_ms;
    int capacity;
    int period_sec;
    struct bucket *next;
};

struct shard {
    pthread_mutex_t mu;
    struct bucket *table[BUCKETS_PER_SHARD];
    size_t count;
};

struct ratelimit {
    struct shard shards[SHARDS];
};

enum herald_err ratelimit_new(struct ratelimit **out)
{
    struct ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return HERALD_ERR_NOMEM;
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&rl->shards[i].mu, NULL);
    *out = rl;
    return HERALD_OK;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < SHARDS; i++) {
        for (int b = 0; b < BUCKETS_PER_SHARD; b++) {
            struct bucket *k = rl->shards[i].table[b];
            while (k) {
                struct bucket *next = k->next;
                free(k->who);
                free(k);
                k = next;
            }
        }
        pthread_mutex_destroy(&rl->shards[i].mu);
    }
    free(rl);
}

static void refill(struct bucket *b, int64_t now_ms)
{
    double per_ms = (double)b->capacity / (b->period_sec * 1000.0);
    if (now_ms > b->updated_ms) {
        b->tokens += (double)(now_ms - b->updated_ms) * per_ms;
        if (b->tokens > b->capacity)
            b->tokens = b->capacity;
        b->updated_ms = now_ms;
    }
}

static void sweep(struct shard *sh, int64_t now_ms)
{
    for (int i = 0; i < BUCKETS_PER_SHARD; i++) {
        struct bucket **pp = &sh->table[i];
        while (*pp) {
            struct bucket *b = *pp;
            refill(b, now_ms);
            if (b->tokens >= b->capacity) {
                *pp = b->next;
                free(b->who);
                free(b);
                sh->count--;
            } else {
                pp = &b->next;
            }
        }
    }
}

void ratelimit_take(struct ratelimit *rl, const char *who, const struct cfg_rate *rate,
                    int64_t now_ms, struct ratelimit_verdict *out)
{
    uint64_t h = text_hash(who);
    struct shard *sh = &rl->shards[h % SHARDS];
    size_t slot = (size_t)(h / SHARDS) % BUCKETS_PER_SHARD;
    pthread_mutex_lock(&sh->mu);
    struct bucket *b = sh->table[slot];
    while (b && strcmp(b->who, who) != 0)
        b = b->next;
    if (!b) {
        if (sh->count >= MAX_PER_SHARD)
            sweep(sh, now_ms);
        b = calloc(1, sizeof(*b));
        if (b)
            b->who = strdup(who);
        if (!b || !b->who) {
            /* Without memory for a bucket, let the request through rather than fail it. */
            if (b)
                free(b);
            pthread_mutex_unlock(&sh->mu);
            *out = (struct ratelimit_verdict){true, rate->count, rate->count - 1, 0, 0};
            return;
        }
        b->tokens = rate->count;
        b->updated_ms = now_ms;
        b->next = sh->table[slot];
        sh->table[slot] = b;
        sh->count++;
    }
    if (b->capacity != rate->count || b->period_sec != rate->period_sec) {
        b->capacity = rate->count;
        b->period_sec = rate->period_sec;
        if (b->tokens > b->capacity)
            b->tokens = b->capacity;
    }
    refill(b, now_ms);
    double per_sec = (double)b->capacity / b->period_sec;
    out->limit = b->capacity;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        out->allowed = true;
        out->retry_after_sec = 0;
    } else {
        out->allowed = false;
        out->retry_after_sec = (long)ceil((1.0 - b->tokens) / per_sec);
        if (out->retry_after_sec < 1)
            out->retry_after_sec = 1;
    }
    out->remaining = (long)floor(b->tokens);
    out->reset_sec = (long)ceil((b->capacity - b->tokens) / per_sec);
    pthread_mutex_unlock(&sh->mu);
}

bool ratelimit_peek(struct ratelimit *rl, const char *who, const struct cfg_rate *rate,
                    int64_t now_ms)
{
    uint64_t h = text_hash(who);
    struct shard *sh = &rl->shards[h % SHARDS];
    size_t slot = (size_t)(h / SHARDS) % BUCKETS_PER_SHARD;
    pthread_mutex_lock(&sh->mu);
    struct bucket *b = sh->table[slot];
    while (b && strcmp(b->who, who) != 0)
        b = b->next;
    bool left = true;
    if (b && b->capacity == rate->count && b->period_sec == rate->period_sec) {
        refill(b, now_ms);
        left = b->tokens >= 1.0;
    }
    pthread_mutex_unlock(&sh->mu);
    return left;
}

size_t ratelimit_count(struct ratelimit *rl)
{
    size_t n = 0;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&rl->shards[i].mu);
        n += rl->shards[i].count;
        pthread_mutex_unlock(&rl->shards[i].mu);
    }
    return n;
}
