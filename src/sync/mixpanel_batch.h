/* A batch of stored events as one Mixpanel import body: a JSON array that remembers where each
 * event lies, so that a part of it can be sent alone (413, 2 MB) or dead-lettered (400). Each
 * event's $insert_id, time and distinct_id derive only from its row (see mixpanel.h). */
#ifndef HERALD_SYNC_MIXPANEL_BATCH_H
#define HERALD_SYNC_MIXPANEL_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "store/store.h"

/* "[" then each event followed by "," ("]" after the last). Event i spans json[start(i),
 * end[i]), where start(0) = 1 and start(i) = end[i - 1] + 1. */
struct mixpanel_batch {
    char *json;
    size_t *end;
    size_t n;
};

/* Serialises n rows (n > 0) into *out (free with mixpanel_batch_free()); with a hash_key
 * (NULL: none) the distinct_id is mixpanel_hashed_id() and the email property is left out.
 * HERALD_ERR_NOMEM, or an error of mixpanel_hashed_id(). */
enum herald_err mixpanel_batch_build(const struct store_event *rows, size_t n, const char *hash_key,
                                     struct mixpanel_batch *out);
/* The hashed distinct_id: HMAC-SHA256(hash_key, lower-cased email) in 64 hex digits. Keyed,
 * so that the ids cannot be reversed by hashing a list of known addresses; a new key gives
 * every person a new id. HERALD_ERR_INVALID for an email of 512 bytes or more,
 * HERALD_ERR_CRYPTO. */
enum herald_err mixpanel_hashed_id(const char *hash_key, const char *email, char out[65]);
void mixpanel_batch_free(struct mixpanel_batch *b);
/* Event i alone, for a dead letter (free() it); NULL when out of memory. */
char *mixpanel_batch_event(const struct mixpanel_batch *b, size_t i);
/* Events [from, to) as a JSON array, gzip'd (free() it). NULL with *too_big set when that
 * array is past Mixpanel's 2 MB and holds more than one event (split it); NULL alone when out
 * of memory. */
char *mixpanel_batch_gzip(const struct mixpanel_batch *b, size_t from, size_t to, size_t *gz_len,
                          bool *too_big);

#endif
