/* Event validation and normalisation (platforms, fields, namespace lists) and the
 * deterministic event key. */
#include "events/key.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/err.h"
#include "base/text.h"

static const char *const known_platforms[] = {"lemlist", "smartlead", "ota", "herald"};

bool evkey_platform_known(const char *platform)
{
    for (size_t i = 0; i < sizeof(known_platforms) / sizeof(known_platforms[0]); i++)
        if (strcmp(platform, known_platforms[i]) == 0)
            return true;
    return false;
}

/* Copies `s` without leading/trailing ASCII space into out (size bytes); false if too long. */
static bool copy_trimmed(const char *s, char *out, size_t size, size_t *len)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n >= size)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    *len = n;
    return true;
}

/* A namespace label or a comma-separated list of them, none empty. */
static bool namespaces_valid(const char *s)
{
    if (!*s || *s == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
        return false;
    return text_ident_ok(s, SIZE_MAX, "_.:-,");
}

static bool domain_valid(const char *d, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    int dots = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = d[i];
        if (ch == '.') {
            if (label == 0 || d[i - 1] == '-')
                return false;
            label = 0;
            dots++;
            continue;
        }
        if (!isalnum((unsigned char)ch) && ch != '-')
            return false;
        if (ch == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return dots > 0 && label > 0 && d[n - 1] != '-';
}

bool evkey_email_valid(const char *email)
{
    size_t n = strlen(email);
    if (n < 3 || n > 254)
        return false;
    const char *at = strchr(email, '@');
    if (!at || strchr(at + 1, '@'))
        return false;
    size_t local = (size_t)(at - email);
    if (local == 0 || local > 64 || email[0] == '.' || email[local - 1] == '.')
        return false;
    for (size_t i = 0; i < local; i++) {
        unsigned char ch = (unsigned char)email[i];
        if (ch == '.' && email[i + 1] == '.')
            return false;
        if (!isalnum(ch) && !strchr(".!#$%&'*+/=?^_`{|}~-", ch))
            return false;
    }
    return domain_valid(at + 1, n - local - 1);
}

#define FAIL(f, m)                                                                                 \
    do {                                                                                           \
        problem->field = (f);                                                                      \
        problem->message = (m);                                                                    \
        return HERALD_ERR_INVALID;                                                                 \
    } while (0)

int evkey_validate(const struct evkey_input *in, struct evkey_fields *out,
                   struct evkey_problem *problem)
{
    size_t n;
    memset(out, 0, sizeof(*out));
    if (!in->platform)
        FAIL("platform", "platform is required");
    if (!copy_trimmed(in->platform, out->platform, sizeof(out->platform), &n))
        FAIL("platform", "platform must be one of lemlist, smartlead, ota, herald");
    for (char *p = out->platform; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!evkey_platform_known(out->platform))
        FAIL("platform", "platform must be one of lemlist, smartlead, ota, herald");

    if (!in->campaign_id)
        FAIL("campaignId", "campaignId is required");
    if (!copy_trimmed(in->campaign_id, out->campaign_id, sizeof(out->campaign_id), &n) ||
        !text_ident_ok(out->campaign_id, SIZE_MAX, "_.:-"))
        FAIL("campaignId", "campaignId must be 1-128 characters of A-Z a-z 0-9 _ . : -");

    if (!in->event_type)
        FAIL("eventType", "eventType is required");
    if (!copy_trimmed(in->event_type, out->event_type, sizeof(out->event_type), &n) ||
        !text_ident_ok(out->event_type, SIZE_MAX, "_.-"))
        FAIL("eventType", "eventType must be 1-64 characters of A-Z a-z 0-9 _ . -");

    if (!in->email)
        FAIL("email", "email is required");
    if (!copy_trimmed(in->email, out->email, sizeof(out->email), &n))
        FAIL("email", "email must be a valid address of at most 254 characters");
    for (char *p = out->email; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!evkey_email_valid(out->email))
        FAIL("email", "email must be a valid address of at most 254 characters");

    if (in->source_id) {
        if (!copy_trimmed(in->source_id, out->source_id, sizeof(out->source_id), &n) || n == 0)
            FAIL("sourceId", "sourceId must be 1-256 printable characters");
        for (const char *p = out->source_id; *p; p++)
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
                FAIL("sourceId", "sourceId must be 1-256 printable characters");
        out->has_source_id = true;
    }
    if (in->occurred_at) {
        /* A bare date is no instant: require the time and its zone. */
        if (strlen(in->occurred_at) <= 10 || clock_parse_iso(in->occurred_at, &out->occurred_at_ms))
            FAIL("occurredAt", "occurredAt must be an ISO-8601 date-time with a time zone, "
                               "e.g. 2024-01-15T10:30:00Z");
        out->has_occurred_at = true;
    }
    if (in->namespace_) {
        if (!copy_trimmed(in->namespace_, out->namespace_, sizeof(out->namespace_), &n) ||
            !namespaces_valid(out->namespace_))
            FAIL("namespace", "namespace must be 1-64 characters of A-Z a-z 0-9 _ . : - "
                              "(several joined with ,)");
        out->has_namespace = true;
    }
    return HERALD_OK;
}

/* Lowercases and keeps [a-z0-9]. */
static size_t squash(const char *s, char *out)
{
    size_t n = 0;
    for (; *s; s++) {
        char ch = (char)tolower((unsigned char)*s);
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
            out[n++] = ch;
    }
    out[n] = '\0';
    return n;
}

void evkey_compute(const struct evkey_fields *f, char out[EVKEY_MAX_LEN])
{
    /* Unit separators cannot occur in validated fields, so the tuple encodes unambiguously. */
    char material[1024];
    int len = snprintf(material, sizeof(material), "v1\x1f%s\x1f%s\x1f%s\x1f%s", f->platform,
                       f->campaign_id, f->event_type, f->email);
    if (f->has_source_id)
        len += snprintf(material + len, sizeof(material) - (size_t)len, "\x1fs=%s", f->source_id);
    if (f->has_occurred_at) {
        char iso[40];
        clock_format_iso_ms(f->occurred_at_ms, iso, sizeof(iso));
        len += snprintf(material + len, sizeof(material) - (size_t)len, "\x1ft=%s", iso);
    }
    uint8_t digest[CRYPTO_SHA256_LEN];
    crypto_sha256(material, (size_t)len, digest);
    char hex[2 * CRYPTO_SHA256_LEN + 1];
    crypto_hex(digest, 8, hex);
    char campaign[129], type[65];
    squash(f->campaign_id, campaign);
    squash(f->event_type, type);
    /* Bounded parts: 15 + 128 + 64 + 16 + 3 separators < EVKEY_MAX_LEN. */
    size_t pos = 0;
    const char *parts[] = {f->platform, campaign, type, hex};
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(parts[i]);
        memcpy(out + pos, parts[i], n);
        pos += n;
        out[pos++] = i < 3 ? '_' : '\0';
    }
}
