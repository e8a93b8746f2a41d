/* ISO-8601 parsing: whatever parses must format and parse back to the same instant. */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms, back;
    if (clock_parse_iso(s, &ms) == 0) {
        char iso[64];
        clock_format_iso_ms(ms, iso, sizeof(iso));
        if (clock_parse_iso(iso, &back) != 0 || back != ms)
            abort();
    }
    free(s);
    return 0;
}
