/* OTA channel credentials at rest (ota/credentials.c, private to ota/): the user name,
 * password and webhook secret of a channel as one JSON object sealed with AES-256-GCM under
 * the key of HERALD_OTA_SECRET_FILE, stored as text "v1." + base64url(nonce | ciphertext |
 * tag). Nothing here logs; every clear buffer is wiped before it is freed.
 * Errors: HERALD_ERR_IO / HERALD_ERR_CONFIG (key file), HERALD_ERR_CRYPTO (a sealed value that
 * does not open with this key, or is damaged), HERALD_ERR_NOMEM. */
#ifndef HERALD_OTA_CREDENTIALS_H
#define HERALD_OTA_CREDENTIALS_H

#include <stdint.h>

#include "base/crypto.h"
#include "base/err.h"
#include "ota/channels.h"

/* Loads the key, creating the file (and its directory, mode 0700) when it does not exist. */
enum herald_err ota_cred_load_key(const char *path, uint8_t key[CRYPTO_AES_KEY_LEN]);
/* Seals ch->username/password/webhook_secret; *out is malloc'ed text ("" when all three are
 * empty). */
enum herald_err ota_cred_seal(const uint8_t key[CRYPTO_AES_KEY_LEN], const struct ota_channel *ch,
                              char **out);
/* Opens `sealed` ("" opens to three empty values) into ch's three secrets. */
enum herald_err ota_cred_open(const uint8_t key[CRYPTO_AES_KEY_LEN], const char *sealed,
                              struct ota_channel *ch);

#endif
