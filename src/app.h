/* The one context Herald passes down instead of globals: built in main.c. */
#ifndef HERALD_APP_H
#define HERALD_APP_H

#include <stdint.h>

#include "base/config.h"

struct store;
struct ingest;
struct http_server;
struct sync_engine;
struct mixpanel;
struct periodic;

struct app {
    struct cfg cfg;
    struct store *store;
    struct ingest *ingest;
    struct http_server *http;
    struct sync_engine *sync;
    struct mixpanel *mixpanel; /* NULL when not configured */
    struct periodic *periodic;
    int64_t started_ms;
};

#define HERALD_VERSION "0.1.0"

#endif
