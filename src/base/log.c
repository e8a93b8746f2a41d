/* Owns the structured log: the process-wide level and one JSON object per line on stderr
 * (ts, level, msg, then the caller's fields). */
#include "base/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

static atomic_int log_min_level = LOG_INFO;

void log_set_level(enum log_level level)
{
    atomic_store(&log_min_level, (int)level);
}

bool log_enabled(enum log_level level)
{
    return (int)level >= atomic_load_explicit(&log_min_level, memory_order_relaxed);
}

int log_level_parse(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void log_emit(enum log_level level, const char *msg, json_t *fields)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char ts[32];
    clock_format_iso_ms(clock_now_ms(), ts, sizeof(ts));
    json_t *line = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", names[level], "msg", msg);
    if (!line) {
        json_decref(fields);
        return;
    }
    if (fields)
        json_object_update_missing(line, fields);
    json_decref(fields);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(line);
    if (!text)
        return;
    /* One fputs per line keeps lines whole across threads (stdio locks the stream). */
    size_t n = strlen(text);
    text[n] = '\n';
    fwrite(text, 1, n + 1, stderr);
    free(text);
}
