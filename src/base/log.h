/* Structured logs: one JSON object per line on stderr with ts, level, msg and the fields given.
 * Never pass secrets, API keys, request bodies or upstream URLs with credentials. */
#ifndef HERALD_BASE_LOG_H
#define HERALD_BASE_LOG_H

#include <jansson.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* The level is the one piece of process-wide state: set once at start-up, before threads. */
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
/* Parses "debug|info|warn|error"; returns -1 when unknown. */
int log_level_parse(const char *s);
/* Writes one line. Steals `fields` (a JSON object or NULL). */
void log_emit(enum log_level level, const char *msg, json_t *fields);

#define LOG_AT(level, msg, fields)                                                                 \
    do {                                                                                           \
        if (log_enabled(level))                                                                    \
            log_emit(level, msg, fields);                                                          \
    } while (0)
#define log_debug(msg, fields) LOG_AT(LOG_DEBUG, msg, fields)
#define log_info(msg, fields) LOG_AT(LOG_INFO, msg, fields)
#define log_warn(msg, fields) LOG_AT(LOG_WARN, msg, fields)
#define log_error(msg, fields) LOG_AT(LOG_ERROR, msg, fields)

#endif
