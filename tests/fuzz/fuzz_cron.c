/* Cron expressions: parsing arbitrary text never crashes, and a next time is in the future
 * and itself a match (its successor is later still). */
#include <stdlib.h>
#include <string.h>

#include "jobs/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    struct cron c;
    char err[128];
    if (cron_parse(s, &c, err, sizeof(err)) == 0) {
        int64_t base = 1705314600000LL;
        int64_t next = cron_next(&c, base);
        if (next != -1 && next <= base)
            abort();
        if (next != -1 && cron_next(&c, next) != -1 && cron_next(&c, next) <= next)
            abort();
    } else if (!err[0]) {
        abort();
    }
    free(s);
    return 0;
}
