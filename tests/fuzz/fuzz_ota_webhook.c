/* Inbound OTA webhooks on arbitrary bytes: the JSON event mapping either refuses with
 * HERALD_ERR_INVALID naming a field or returns one reservation whose fields hold their
 * invariants (an id, valid dates in order, a 64-hex revision key, no card-like run left in the
 * comments); the Standard Webhooks check over the same bytes (as body, id and signature) never
 * accepts what was not signed with the key. Never a crash, a leak or an out-of-bounds read. */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "ota/res_parse_internal.h"
#include "ota/webhooks.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static void check(const struct ota_res_message *m)
{
    if (m->n != 1 || !m->items[0].res_id[0] || strlen(m->items[0].revision_key) != 64)
        abort();
    const struct ota_reservation *r = &m->items[0];
    int64_t ms;
    if ((r->arrival[0] && clock_parse_iso(r->arrival, &ms)) ||
        (r->departure[0] && clock_parse_iso(r->departure, &ms)))
        abort();
    if (r->arrival[0] && r->departure[0] && strcmp(r->arrival, r->departure) > 0)
        abort();
    if (r->comments) {
        char *copy = strdup(r->comments);
        if (!copy)
            abort();
        ota_mask_card_runs(copy);
        if (strcmp(copy, r->comments) != 0)
            abort();
        free(copy);
    }
}

/* Headers cut from the input itself: a random signature must never verify. */
static void signature(const char *data, size_t size)
{
    char sig[128];
    size_t n = size < sizeof(sig) - 1 ? size : sizeof(sig) - 1;
    memcpy(sig, data, n);
    sig[n] = '\0';
    struct ota_webhook_headers h = {"msg_fuzz", "1614265330", sig};
    struct herald_error err = {0};
    if (ota_webhook_verify(SECRET, &h, data, size, 1614265330, 300, &err) == HERALD_OK) {
        char good[64];
        if (ota_webhook_sign(SECRET, "msg_fuzz", "1614265330", data, size, good, sizeof(good)) ||
            !strstr(sig, good + 3))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct ota_res_message m;
    struct herald_error err = {0};
    enum herald_err rc = ota_webhook_parse((const char *)data, size, "FUZZ-HOTEL", &m, &err);
    if (rc == HERALD_OK) {
        check(&m);
        ota_webhook_message_free(&m);
    } else if (rc != HERALD_ERR_INVALID && rc != HERALD_ERR_NOMEM) {
        abort();
    }
    signature((const char *)data, size);
    return 0;
}
