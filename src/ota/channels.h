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
    int poll_seconds;           /* pull period (mode pull) */
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

#endif
