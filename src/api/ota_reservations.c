/* Owns GET /api/ota/reservations (filtered by hotelCode, status, arrivalFrom/arrivalTo, paged
 * with limit/cursor) and GET /api/ota/reservations/{id} with its revisions (scope ota:read). */
#include <stdlib.h>

#include "api/api.h"
#include "app.h"
#include "ota/reservations.h"

#define CURSOR_TAG "otr1" /* cursors read "otr1:<id>" */

/* An empty query value counts as absent. */
static const char *query(struct http_request *req, const char *name)
{
    const char *v = http_req_query(req, name);
    return v && *v ? v : NULL;
}

enum http_result api_ota_reservations_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct ota_res_query q = {.hotel_code = query(req, "hotelCode"),
                              .status = query(req, "status"),
                              .arrival_from = query(req, "arrivalFrom"),
                              .arrival_to = query(req, "arrivalTo")};
    if (!api_page_args(req, CURSOR_TAG, &q.limit, &q.after_id))
        return HTTP_REPLIED;
    json_t *items = NULL;
    int64_t next = 0;
    struct herald_error err = {0};
    enum herald_err rc = ota_reservations_list(app->ota_reservations, &q, &items, &next, &err);
    if (rc)
        return api_fail_err(req, &err);
    return api_reply_page(req, "reservations", items, CURSOR_TAG, next, q.limit);
}

enum http_result api_ota_reservations_get(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id)) {
        http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such reservation", NULL);
        return HTTP_REPLIED;
    }
    json_t *view = NULL;
    struct herald_error err = {0};
    enum herald_err rc = ota_reservations_get(app->ota_reservations, id, &view, &err);
    if (rc)
        return api_fail_err(req, &err);
    json_object_set_new(view, "success", json_true());
    http_reply_json(req, 200, view);
    return HTTP_REPLIED;
}
