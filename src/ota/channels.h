/* OTA channels: one connection between one hotel (hotelCode) and one OTA or channel manager,
 * with its type, direction, endpoint and credentials (encrypted at rest, never returned by the
 * API nor logged). Every other OTA module reads channels through this header only. */
#ifndef HERALD_OTA_CHANNELS_H
#define HERALD_OTA_CHANNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

enum ota_channel_type {
    OTA_TYPE_BOOKING,    /* Booking.com connectivity: GET reservations + OTA_HotelResNotifRS ack */
    OTA_TYPE_EXPEDIA,    /* Expedia: booking retrieval + confirmation */
    OTA_TYPE_SITEMINDER, /* SiteMinder pmsXchange: OTA_ReadRQ / OTA_NotifReportRQ, SOAP + WSSE */
    OTA_TYPE_ALPINEBITS, /* AlpineBits HotelData: multipart action=OTA_Read, Basic auth */
    OTA_TYPE_GENERIC,    /* any OpenTravel 2003/05 endpoint: bare XML, Basic auth */
};

enum ota_channel_mode {
    OTA_MODE_PULL, /* Herald polls the channel every poll_seconds */
    OTA_MODE_PUSH, /* the channel posts to /ota/{id}/... or /webhooks/ota/{id} */
};

#define OTA_NAME_MAX 128
#define OTA_HOTEL_CODE_MAX 64
#define OTA_URL_MAX 1024
#define OTA_SECRET_MAX 256

struct ota_channel {
    int64_t id;
    char name[OTA_NAME_MAX];
    enum ota_channel_type type;
    enum ota_channel_mode mode;
    char hotel_code[OTA_HOTEL_CODE_MAX];
    char base_url[OTA_URL_MAX]; /* "" for a push-only channel */
    /* Where rates and availability are posted when that is not base_url ("": base_url).
     * Booking.com pulls reservations from secure-supply-xml.booking.com but takes updates on
     * supply-xml.booking.com: one channel, two hosts. */
    char updates_url[OTA_URL_MAX];
    int poll_seconds; /* pull period (mode pull) */
    bool enabled;
    bool takes_updates; /* rates and availability are fanned out to it */
    /* Decrypted credentials ("" when not set). Outbound: the user name/password Herald presents
     * (HTTP Basic or WSSE UsernameToken per type). Inbound pushes to Herald are accepted with
     * the same user name/password (Basic or WSSE), or with a Standard Webhooks signature made
     * with webhook_secret ("whsec_" + base64 of the key, as the spec writes it). */
    char username[OTA_SECRET_MAX];
    char password[OTA_SECRET_MAX];
    char webhook_secret[OTA_SECRET_MAX];
    int64_t created_at_ms, updated_at_ms;
};

struct ota_channels; /* the domain: store + the credentials key */

/* Loads (or creates, mode 0600) the credentials key at key_file. HERALD_ERR_IO/CONFIG. */
enum herald_err ota_channels_open(struct store *st, const char *key_file,
                                  struct ota_channels **out);
void ota_channels_close(struct ota_channels *chs);

const char *ota_channel_type_name(enum ota_channel_type type); /* "booking", … */
const char *ota_channel_mode_name(enum ota_channel_mode mode); /* "pull", "push" */

/* One channel with its credentials decrypted. HERALD_ERR_NOT_FOUND when there is none. */
enum herald_err ota_channels_get(struct ota_channels *chs, int64_t id, struct ota_channel *out,
                                 struct herald_error *err);
/* Every channel (enabled or not), ordered by id; *out is malloc'ed, free with
 * ota_channels_free_array (which wipes the secrets). */
enum herald_err ota_channels_all(struct ota_channels *chs, struct ota_channel **out, size_t *n,
                                 struct herald_error *err);
void ota_channels_free_array(struct ota_channel *rows, size_t n);
/* Wipes the secrets of a channel held on the stack. */
void ota_channel_wipe(struct ota_channel *ch);

/* ---- the API's operations (api/ota_channels.c), each in its own transaction ----
 * Errors: HERALD_ERR_INVALID with the field in *err (name empty or too long, unknown type or
 * mode, hotelCode missing, baseUrl not http(s) or missing for a pull channel, pollSeconds out
 * of 1..86400, a credential over OTA_SECRET_MAX - 1 bytes, a webhookSecret not "whsec_…",
 * mode pull for a type without a pull connector; updatesUrl is checked like baseUrl),
 * HERALD_ERR_DUPLICATE (name taken; field "name"), HERALD_ERR_NOT_FOUND, HERALD_ERR_CRYPTO (stored
 * credentials that do not open with the key: the key file changed), store errors. */

/* A creation or a change: NULL strings and negative numbers stay as they are on a change
 * (required on a creation: name, type, mode, hotel_code; base_url for mode pull). */
struct ota_channel_input {
    const char *name, *type, *mode, *hotel_code, *base_url;
    const char *updates_url; /* NULL: unchanged ("" on creation); "": cleared */
    long long poll_seconds;  /* -1: unchanged (300 on creation) */
    int enabled;             /* -1: unchanged (true on creation) */
    int takes_updates;       /* -1: unchanged (false on creation) */
    bool has_credentials;    /* the request carried a credentials object */
    const char *username;    /* within it: NULL leaves a stored value, "" clears it */
    const char *password;
    const char *webhook_secret;
};

/* A channel as the API shows it: the channel (credentials decrypted: show only whether each
 * is set) and its pull state. */
struct ota_channel_view {
    struct ota_channel ch;
    int64_t next_pull_at_ms, last_pull_at_ms; /* 0: never */
    char last_pull_status[32];                /* "ok", "failed", "retrying", "" */
    char last_error[512];                     /* "" when none */
};

enum herald_err ota_channels_create(struct ota_channels *chs, const struct ota_channel_input *in,
                                    struct ota_channel_view *out, struct herald_error *err);
enum herald_err ota_channels_update(struct ota_channels *chs, int64_t id,
                                    const struct ota_channel_input *in,
                                    struct ota_channel_view *out, struct herald_error *err);
enum herald_err ota_channels_delete(struct ota_channels *chs, int64_t id);
enum herald_err ota_channels_view(struct ota_channels *chs, int64_t id,
                                  struct ota_channel_view *out, struct herald_error *err);
/* Channels with id > after_id, ascending, at most limit. *out is malloc'ed: free with
 * ota_channels_free_views() (which wipes the secrets). */
enum herald_err ota_channels_list(struct ota_channels *chs, int64_t after_id, int limit,
                                  struct ota_channel_view **out, size_t *n,
                                  struct herald_error *err);
void ota_channels_free_views(struct ota_channel_view *rows, size_t n);
/* Parses "booking", … / "pull", "push"; false for anything else. */
bool ota_channel_type_parse(const char *s, enum ota_channel_type *out);
bool ota_channel_mode_parse(const char *s, enum ota_channel_mode *out);
/* Whether a channel's baseUrl may be http:// (HERALD_ALLOW_INSECURE_UPSTREAM; off by default:
 * only https:// is accepted on create and update, field "baseUrl"). */
void ota_channels_allow_insecure(struct ota_channels *chs, bool allow);
/* The store this domain works on (for the pull scheduler and validation). */
struct store *ota_channels_store(struct ota_channels *chs);

/* ---- validation (ota/validate.c): POST /api/ota/channels/{id}/validate, herald ota validate
 * Three checks, in order, each ok / failed / skipped with a message and its duration:
 *   reachable  a GET of the channel's endpoint WITHOUT credentials answers at all (any HTTP
 *              status; a transport error or timeout fails it);
 *   auth       the connector's read request WITH the credentials is not refused (HTTP
 *              401/403, an OpenTravel authentication error or a WS-Security fault fail it;
 *              so does any other failure, which leaves the credentials unverified);
 *   read       its answer parses as a reservation message (nothing is acknowledged, so the
 *              read is harmless: the channel keeps every reservation queued).
 * A push channel (or a type without a pull connector) skips reachable and read, and its auth
 * check says whether credentials are set (a push without them is refused). A failed check
 * skips the ones after it. */
enum ota_check_result { OTA_CHECK_OK, OTA_CHECK_FAILED, OTA_CHECK_SKIPPED };
const char *ota_check_result_name(enum ota_check_result r); /* "ok", "failed", "skipped" */

#define OTA_CHECKS 3
struct ota_check {
    const char *name; /* "reachable", "auth", "read" */
    enum ota_check_result result;
    char message[300]; /* never a credential nor the channel's body */
    int64_t duration_ms;
};
struct ota_validation {
    int64_t channel_id;
    bool ok; /* no check failed */
    struct ota_check checks[OTA_CHECKS];
};
/* Runs the checks of channel id (timeout_ms per request; max_bytes caps the parsed answer).
 * HERALD_ERR_NOT_FOUND / HERALD_ERR_CRYPTO / store errors when the channel cannot be read; a
 * failing channel is HERALD_OK with out->ok false. */
enum herald_err ota_channel_validate(struct ota_channels *chs, int64_t id, long timeout_ms,
                                     size_t max_bytes, struct ota_validation *out,
                                     struct herald_error *err);

/* ---- sending to a channel (pull connectors here; rates and availability out in otarates) ----
 *
 * ota_channel_post() and ota_channel_get() talk to ch->base_url + path over sync/http_client.h
 * (libcurl: timeouts, Retry-After on 429, backoff on 5xx and transport errors, a client-side
 * rate limit per channel type held by `chs`), presenting the channel's credentials the way its
 * type expects:
 *   siteminder  the body (one OpenTravel element, e.g. <OTA_ReadRQ …>) is wrapped in a SOAP 1.1
 *               envelope whose Header carries a WS-Security UsernameToken (PasswordText) with
 *               ch->username / ch->password; `action` goes in the SOAPAction header (quoted);
 *               Content-Type text/xml; charset=utf-8. The reply is returned as received (the
 *               envelope included: ota/xml.h unwraps it).
 *   alpinebits  multipart/form-data with the parts "action" (= `action`, e.g.
 *               "OTA_Read:GuestRequests") and "request" (= the body), HTTP Basic, and the
 *               headers X-AlpineBits-ClientProtocolVersion and X-AlpineBits-ClientID.
 *   booking, expedia, generic
 *               the body as is, Content-Type text/xml; charset=utf-8, HTTP Basic; `action`
 *               is ignored (NULL is fine).
 * No credential is ever logged; the URL in logs and errors is the path only. */
struct ota_send_opts {
    long timeout_ms;      /* per attempt; 0: 30000 */
    int max_attempts;     /* attempts on 5xx / transport errors; 0: 1 (let the job layer retry) */
    int max_rate_limited; /* 429s waited out (Retry-After honoured) before giving up; 0: none */
    /* Asked during waits and transfers (e.g. jobs_ctx_should_stop with the job's ctx): true
     * abandons the request with HERALD_ERR_CANCELLED. NULL: never. */
    bool (*should_stop)(void *arg);
    void *stop_arg;
    /* Extra request headers, "Name: value", NULL-terminated (e.g. the ones Booking.com
     * documents); NULL for none. An "Accept:" line here replaces the default, a
     * "Content-Type:" line the type's (text/xml or multipart: keep it for alpinebits). */
    const char *const *headers;
};

struct ota_reply {
    long status; /* the last HTTP status; 0 for a transport error */
    char *body;  /* malloc'ed, NUL-terminated (NULL when nothing came back) */
    size_t len;
    int attempts;     /* requests made */
    int rate_limited; /* 429s waited out */
    int64_t duration_ms;
    char error[256]; /* "HTTP 503", a transport error, … ("" on success); never a secret */
};
void ota_reply_free(struct ota_reply *r);

/* POSTs `body` (len bytes) to the channel as described above. HERALD_OK with a 2xx reply;
 * HERALD_ERR_UPSTREAM for a 4xx other than 429, or once attempts / rate-limit waits are used
 * up (reply->status says which: 401/403 means the credentials were refused, 429 rate limited,
 * 5xx the channel failed, 0 transport/timeout; the last body is kept); HERALD_ERR_CANCELLED
 * when should_stop said so; HERALD_ERR_INVALID when the channel has no base_url. Always
 * fills *reply (free it with ota_reply_free()). */
enum herald_err ota_channel_post(struct ota_channels *chs, const struct ota_channel *ch,
                                 const char *path, const char *action, const char *body, size_t len,
                                 const struct ota_send_opts *opts, struct ota_reply *reply);
/* GETs base_url + path (query included) with the channel's HTTP Basic credentials (every
 * type; siteminder too). Same returns as ota_channel_post(). */
enum herald_err ota_channel_get(struct ota_channels *chs, const struct ota_channel *ch,
                                const char *path, const struct ota_send_opts *opts,
                                struct ota_reply *reply);

#endif
