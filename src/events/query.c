/* Owns reading events back for GET /api/events: the domain filter mapped onto the store's and
 * the read transaction that fetches one page. */
#include "events/query.h"

struct list_tx {
    struct store_event_filter filter;
    struct events_page *page;
};

/* May run more than once (store_run_read retries): each run starts from an empty page. */
static int list_tx(struct store_conn *c, void *arg)
{
    struct list_tx *tx = arg;
    events_page_free(tx->page);
    return store_event_list(c, &tx->filter, &tx->page->rows, &tx->page->count);
}

enum herald_err events_list(struct store *st, const struct events_filter *f,
                            struct events_page *out)
{
    out->rows = NULL;
    out->count = 0;
    if (f->limit < 1 || f->limit > 100)
        return HERALD_ERR_INVALID;
    struct list_tx tx = {{.platform = f->platform,
                          .campaign_id = f->campaign_id,
                          .event_type = f->event_type,
                          .email = f->email,
                          .namespace_ = f->namespace_,
                          .has_from = f->has_from,
                          .has_to = f->has_to,
                          .has_before_id = f->has_before_id,
                          .from_ms = f->from_ms,
                          .to_ms = f->to_ms,
                          .before_id = f->before_id,
                          .limit = f->limit},
                         out};
    enum herald_err rc = store_run_read(st, list_tx, &tx);
    if (rc)
        events_page_free(out);
    return rc;
}

void events_page_free(struct events_page *page)
{
    store_events_free(page->rows, page->count);
    page->rows = NULL;
    page->count = 0;
}
