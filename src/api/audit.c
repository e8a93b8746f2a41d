/* The audit log over HTTP: GET /api/audit (newest first, paginated, ?subject=), and the hook
 * the HTTP layer calls for every finished keyed POST/PUT/PATCH/DELETE request. */
#include <stdio.h>

#include "api/api.h"
#include "app.h"
#include "privacy/privacy.h"

void api_audit_hook(void *ctx, const struct http_audit_entry *e)
{
    struct app *app = ctx;
    if (!app->privacy)
        return;
    char action[512];
    snprintf(action, sizeof(action), "%s %s", e->method, e->path);
    struct privacy_audit a = {.actor = e->key_id,
                              .action = action,
                              .ip = e->client_ip,
                              .request_id = e->request_id,
                              .status = e->status};
    privacy_audit_enqueue(app->privacy, &a);
}

static json_t *entry_json(const struct store_audit *a)
{
    json_t *detail = a->detail ? json_loads(a->detail, 0, NULL) : NULL;
    return json_pack("{s:I, s:o, s:s, s:s, s:o, s:s?, s:s?, s:s?, s:b, s:o}", "id",
                     (json_int_t)a->id, "at", api_time(a->at_ms), "actor", a->actor, "action",
                     a->action, "status", a->status ? json_integer(a->status) : json_null(), "ip",
                     a->ip, "requestId", a->request_id, "subject", a->subject, "subjectHashed",
                     a->subject_hashed, "detail", detail ? detail : json_null());
}

enum http_result api_audit_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int limit;
    int64_t before;
    if (!api_page_args(req, "audit", &limit, &before))
        return HTTP_REPLIED;
    const char *subject = http_req_query(req, "subject");
    struct store_audit *rows;
    size_t n;
    int rc = privacy_audit_list(app->store, subject, before, limit, &rows, &n);
    if (rc)
        return api_fail(req, rc);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, entry_json(&rows[i]));
    char cursor[64];
    bool more = n == (size_t)limit;
    if (more)
        api_id_cursor_encode("audit", rows[n - 1].id, cursor);
    store_audits_free(rows, n);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:o, s:s?, s:i}", "success", 1, "entries", items, "nextCursor",
                              more ? cursor : NULL, "limit", limit));
    return HTTP_REPLIED;
}
