/* The OpenTravel reservation parser (ota_res_parse over the hardened reader of ota/xml.h) on
 * arbitrary bytes: it either refuses with a stable error or returns reservations whose fields
 * hold their invariants (ids present, dates valid, 64-hex revision keys, no card-like run in
 * free text) — never a crash, a leak or an out-of-bounds read. The RS writer echoes what was
 * parsed and must produce a document the reader accepts. */
#include <stdlib.h>
#include <string.h>

#include "ota/res_parse_internal.h"
#include "ota/reservations.h"
#include "ota/xml.h"

static void check_reservation(const struct ota_reservation *r)
{
    char d[OTA_DATE_LEN];
    if (!r->res_id[0] || strlen(r->revision_key) != 64)
        abort();
    if ((r->arrival[0] && !ota_parse_date(r->arrival, d)) ||
        (r->departure[0] && !ota_parse_date(r->departure, d)))
        abort();
    if (r->total[0] && !ota_decimal_ok(r->total))
        abort();
    if (r->comments) {
        char *copy = strdup(r->comments);
        if (!copy)
            abort();
        ota_mask_card_runs(copy); /* masking twice changes nothing: no card run survived */
        if (strcmp(copy, r->comments) != 0)
            abort();
        free(copy);
    }
}

/* The echo token and channel ids go back out through the writer; the answer must read back. */
static void echo_back(const struct ota_res_message *m)
{
    struct buf body, out;
    buf_init(&body, 1 << 20);
    buf_init(&out, 1 << 21);
    struct ota_rs_res_id ids[4];
    size_t n = m->n < 4 ? m->n : 4;
    for (size_t i = 0; i < n; i++)
        ids[i] = (struct ota_rs_res_id){m->items[i].res_id, (int64_t)i + 1};
    struct ota_rs rs = {.root = "OTA_HotelResNotifRS",
                        .echo_token = m->echo_token,
                        .soap = m->soap ? OTA_SOAP_11 : OTA_SOAP_NONE};
    if (ota_rs_res_ids(&body, ids, n) == HERALD_OK) {
        rs.body = body.data;
        if (ota_rs_write(&rs, &out) != HERALD_OK)
            abort();
        struct ota_xml_doc *doc = NULL;
        if (ota_xml_parse(out.data, out.len, &(struct ota_xml_limits){.max_bytes = 1 << 21}, &doc,
                          NULL) != HERALD_OK)
            abort();
        ota_xml_free(doc);
    }
    buf_free(&body);
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ota_res_message m;
    struct herald_error err = {0};
    enum herald_err rc = ota_res_parse((const char *)data, size, 256 * 1024, &m, &err);
    if (rc) {
        if (rc != HERALD_ERR_XML_INVALID && rc != HERALD_ERR_INVALID && rc != HERALD_ERR_UPSTREAM &&
            rc != HERALD_ERR_NOMEM)
            abort();
        if (m.items || m.n)
            abort();
        return 0;
    }
    for (size_t i = 0; i < m.n; i++)
        check_reservation(&m.items[i]);
    echo_back(&m);
    ota_res_message_free(&m);
    return 0;
}
