/* Private to ota/channels.c, send.c, validate.c and the pull connectors: the channels domain's
 * state (store, credentials key, one client-side rate limiter per channel type) and the
 * conversion of a store row into a channel with its credentials opened. */
#ifndef HERALD_OTA_CHANNELS_INTERNAL_H
#define HERALD_OTA_CHANNELS_INTERNAL_H

#include "base/crypto.h"
#include "ota/channels.h"
#include "store/ota_channels.h"
#include "sync/http_client.h"

#define OTA_TYPE_COUNT 5

struct ota_channels {
    struct store *st;
    uint8_t key[CRYPTO_AES_KEY_LEN];
    struct hc_limiter limiters[OTA_TYPE_COUNT]; /* per channel type, shared by every sender */
    bool allow_insecure;                        /* http:// base URLs accepted */
};

/* Fills *out from a store row, opening its credentials. HERALD_ERR_CRYPTO when they do not
 * open (the key changed). */
enum herald_err ota_channel_from_row(struct ota_channels *chs, const struct store_ota_channel *row,
                                     struct ota_channel *out);

#endif
