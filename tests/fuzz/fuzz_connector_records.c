/* Each connector's record parser on arbitrary upstream JSON: the first byte picks the
 * connector, the rest is one page of records. Whatever arrives, every record ends as events
 * with valid keys, a dead letter with a reason, or outside the window — never a crash, a
 * leak, or an event whose key does not validate. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "events/key.h"
#include "sync/connector.h"

static size_t dead_letters;

static void count_dead_letter(struct sync_run *run, const char *reason, const char *request,
                              const char *payload)
{
    (void)run, (void)request, (void)payload;
    if (!reason || !*reason)
        abort(); /* a dead letter must say why */
    dead_letters++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct sync_connector *c = sync_connectors[data[0] % sync_connector_count];
    json_t *records = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
    if (!json_is_array(records)) { /* the connectors refuse anything else before parsing */
        json_decref(records);
        return 0;
    }
    struct sync_run run = {.platform = c->platform,
                           .max_ms = INT64_MAX,
                           .namespace_ = data[0] & 0x80 ? "fuzz" : NULL,
                           .dead_letter = count_dead_letter};
    struct sync_page pg;
    if (sync_page_init(&pg, json_array_size(records) * c->events_per_record))
        abort();
    dead_letters = 0;
    for (size_t i = 0; i < json_array_size(records); i++)
        c->parse_record(&run, &pg, json_array_get(records, i), "cam_fuzz", "GET /fuzz");
    if (pg.skipped != dead_letters)
        abort();
    for (size_t i = 0; i < pg.n; i++) {
        const struct evkey_fields *f = &pg.fields[i];
        if (strlen(pg.keys[i]) == 0 || !pg.payloads[i])
            abort();
        /* Normalising is idempotent: the stored fields, fed back through the public
           endpoint's validation, give the same key. */
        char when[40];
        if (f->has_occurred_at)
            clock_format_iso_ms(f->occurred_at_ms, when, sizeof(when));
        struct evkey_input in = {f->platform,
                                 f->campaign_id,
                                 f->event_type,
                                 f->email,
                                 f->has_source_id ? f->source_id : NULL,
                                 f->has_occurred_at ? when : NULL,
                                 f->has_namespace ? f->namespace_ : NULL};
        struct evkey_fields again;
        struct evkey_problem problem;
        char key[EVKEY_MAX_LEN];
        if (evkey_validate(&in, &again, &problem) != 0)
            abort();
        evkey_compute(&again, key);
        if (strcmp(key, pg.keys[i]) != 0)
            abort();
    }
    sync_page_free(&pg);
    json_decref(records);
    return 0;
}
