/* Key normalisation: seven NUL-separated fields into evkey_validate/evkey_compute. Checks the
 * key's shape and that normalisation is idempotent (the normalised fields key the same). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "events/key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *fields[7] = {0};
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 7; i++)
        if (i == size || copy[i] == '\0') {
            fields[n++] = copy + start;
            start = i + 1;
        }
    struct evkey_input in = {fields[0],
                             fields[1],
                             fields[2],
                             fields[3],
                             n > 4 && *fields[4] ? fields[4] : NULL,
                             n > 5 && *fields[5] ? fields[5] : NULL,
                             n > 6 && *fields[6] ? fields[6] : NULL};
    struct evkey_fields f, g;
    struct evkey_problem p;
    if (evkey_validate(&in, &f, &p) == 0) {
        char key[EVKEY_MAX_LEN], again[EVKEY_MAX_LEN], iso[40];
        evkey_compute(&f, key);
        size_t len = strlen(key);
        if (len < 20 || len >= EVKEY_MAX_LEN)
            abort();
        for (size_t i = 0; i < len; i++)
            if (!islower((unsigned char)key[i]) && !isdigit((unsigned char)key[i]) && key[i] != '_')
                abort();
        if (f.has_occurred_at)
            clock_format_iso_ms(f.occurred_at_ms, iso, sizeof(iso));
        struct evkey_input norm = {f.platform,
                                   f.campaign_id,
                                   f.event_type,
                                   f.email,
                                   f.has_source_id ? f.source_id : NULL,
                                   f.has_occurred_at ? iso : NULL,
                                   f.has_namespace ? f.namespace_ : NULL};
        if (evkey_validate(&norm, &g, &p) != 0)
            abort();
        evkey_compute(&g, again);
        if (strcmp(key, again) != 0)
            abort();
    } else if (!p.field || !p.message) {
        abort();
    }
    free(copy);
    return 0;
}
