#include <string.h>

#include "http/internal.h"

bool cors_origin_allowed(const char *list, const char *origin)
{
    if (!list || !origin || !*origin)
        return false;
    size_t olen = strlen(origin);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && last[-1] == ' ')
            last--;
        size_t n = (size_t)(last - p);
        if ((n == 1 && *p == '*') || (n == olen && strncmp(p, origin, n) == 0))
            return true;
        p = end;
    }
    return false;
}
