/* Event keys: the deterministic identity of an event, so the same upstream activity is stored
 * and counted once whichever request, job or namespace brings it.
 *
 *   {platform}_{campaign}_{eventType}_{hash}
 *
 * campaign and eventType are lowercased with everything but [a-z0-9] removed; hash is the
 * first 16 hex digits of SHA-256 over the normalised tuple (platform, campaignId, eventType,
 * email trimmed and lowercased, then sourceId and occurredAt — as a canonical UTC instant —
 * when given). The namespace is deliberately not part of it. */
#ifndef HERALD_EVENTS_KEY_H
#define HERALD_EVENTS_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVKEY_MAX_LEN 256

/* Raw, untrusted input; any pointer may be NULL (= absent). */
struct evkey_input {
    const char *platform;
    const char *campaign_id;
    const char *event_type;
    const char *email;
    const char *source_id;
    const char *occurred_at; /* ISO-8601 */
    const char *namespace_;
};

/* Validated, normalised fields. */
struct evkey_fields {
    char platform[16];
    char campaign_id[129];
    char event_type[65];
    char email[255];
    bool has_source_id;
    char source_id[257];
    bool has_occurred_at;
    int64_t occurred_at_ms;
    bool has_namespace;
    char namespace_[65];
};

/* The validation failure: which field (the JSON name) and why. */
struct evkey_problem {
    const char *field;
    const char *message;
};

/* Validates and normalises. Returns HERALD_ERR_INVALID and fills *problem on bad input. */
int evkey_validate(const struct evkey_input *in, struct evkey_fields *out,
                   struct evkey_problem *problem);
/* Writes the key (NUL-terminated, at most EVKEY_MAX_LEN bytes with the NUL). */
void evkey_compute(const struct evkey_fields *f, char out[EVKEY_MAX_LEN]);
/* True when `platform` is one Herald knows. */
bool evkey_platform_known(const char *platform);
/* True for a syntactically valid address of at most 254 characters (no surrounding space). */
bool evkey_email_valid(const char *email);

#endif
