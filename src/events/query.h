/* Reading events back: the filtered, newest-first page behind GET /api/events. The caller
 * (api/events.c) parses the query into an events_filter; this runs the read transaction. */
#ifndef HERALD_EVENTS_QUERY_H
#define HERALD_EVENTS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

struct events_filter {
    const char *platform, *campaign_id, *event_type, *email; /* NULL = any; email lowercased */
    const char *namespace_; /* one label: events whose namespace list holds it */
    bool has_from, has_to, has_before_id;
    int64_t from_ms, to_ms; /* event time (occurred, else stored): from inclusive, to exclusive */
    int64_t before_id;      /* paging cursor: only ids below it */
    int limit;              /* 1-100 */
};

struct events_page {
    struct store_event *rows; /* newest first */
    size_t count;
};

/* One page of events matching f, read in one read transaction. HERALD_ERR_INVALID for a limit
 * outside 1-100; store errors as returned by the store. Release with events_page_free(). */
enum herald_err events_list(struct store *st, const struct events_filter *f,
                            struct events_page *out);
void events_page_free(struct events_page *page);

#endif
