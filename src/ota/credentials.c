/* Owns OTA channel credentials at rest: the key file, and sealing / opening the JSON object
 * {"username","password","webhookSecret"} with AES-256-GCM (base/crypto.h). */
#include "ota/credentials.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PREFIX "v1."
/* Bound into every seal: a value copied to another column or table does not open. */
static const char aad[] = "herald:ota_channels.credentials:v1";

enum herald_err ota_cred_load_key(const char *path, uint8_t key[CRYPTO_AES_KEY_LEN])
{
    enum herald_err rc = crypto_load_key_file(path, key);
    if (rc != HERALD_ERR_IO)
        return rc;
    struct stat sb;
    if (stat(path, &sb) == 0 || errno != ENOENT)
        return HERALD_ERR_IO;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return HERALD_ERR_IO;
    }
    rc = crypto_create_key_file(path);
    if (rc && rc != HERALD_ERR_DUPLICATE) /* another node may have won the race */
        return rc;
    return crypto_load_key_file(path, key);
}

static void wipe_free(char *s)
{
    if (s)
        crypto_wipe(s, strlen(s));
    free(s);
}

enum herald_err ota_cred_seal(const uint8_t key[CRYPTO_AES_KEY_LEN], const struct ota_channel *ch,
                              char **out)
{
    *out = NULL;
    if (!ch->username[0] && !ch->password[0] && !ch->webhook_secret[0])
        return (*out = strdup("")) ? HERALD_OK : HERALD_ERR_NOMEM;
    json_t *obj = json_pack("{s:s, s:s, s:s}", "username", ch->username, "password", ch->password,
                            "webhookSecret", ch->webhook_secret);
    char *plain = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj); /* jansson frees its copies without wiping: short-lived, never logged */
    if (!plain)
        return HERALD_ERR_NOMEM;
    size_t len = strlen(plain), slen = len + CRYPTO_SEAL_OVERHEAD;
    uint8_t *sealed = malloc(slen);
    char *text = malloc(sizeof(PREFIX) + 4 * ((slen + 2) / 3) + 1);
    int rc = sealed && text ? crypto_seal(key, aad, sizeof(aad) - 1, plain, len, sealed)
                            : HERALD_ERR_NOMEM;
    if (!rc) {
        memcpy(text, PREFIX, sizeof(PREFIX) - 1);
        crypto_b64url(sealed, slen, text + sizeof(PREFIX) - 1);
        *out = text;
        text = NULL;
    }
    wipe_free(plain);
    free(sealed);
    free(text);
    return rc;
}

static void copy_secret(json_t *obj, const char *name, char *dst)
{
    const char *v = json_string_value(json_object_get(obj, name));
    snprintf(dst, OTA_SECRET_MAX, "%s", v ? v : "");
}

enum herald_err ota_cred_open(const uint8_t key[CRYPTO_AES_KEY_LEN], const char *sealed,
                              struct ota_channel *ch)
{
    ch->username[0] = ch->password[0] = ch->webhook_secret[0] = '\0';
    if (!sealed || !sealed[0])
        return HERALD_OK;
    if (strncmp(sealed, PREFIX, sizeof(PREFIX) - 1) != 0)
        return HERALD_ERR_CRYPTO;
    const char *b64 = sealed + sizeof(PREFIX) - 1;
    size_t cap = strlen(b64), raw_len = 0, plain_len = 0;
    uint8_t *raw = malloc(cap + 1), *plain = malloc(cap + 1);
    int rc = raw && plain ? HERALD_OK : HERALD_ERR_NOMEM;
    if (!rc && crypto_b64url_decode(b64, raw, cap, &raw_len))
        rc = HERALD_ERR_CRYPTO;
    if (!rc)
        rc = crypto_open(key, aad, sizeof(aad) - 1, raw, raw_len, plain, &plain_len);
    if (!rc) {
        json_t *obj = json_loadb((const char *)plain, plain_len, 0, NULL);
        if (!json_is_object(obj))
            rc = HERALD_ERR_CRYPTO;
        else {
            copy_secret(obj, "username", ch->username);
            copy_secret(obj, "password", ch->password);
            copy_secret(obj, "webhookSecret", ch->webhook_secret);
        }
        json_decref(obj);
        crypto_wipe(plain, plain_len);
    }
    free(raw);
    free(plain);
    return rc;
}
