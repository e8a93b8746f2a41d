/* The access log: one JSON line per finished request (id, route, status, duration, client,
 * key id and error code when there is one), written at level info. */
#include "base/log.h"
#include "http/internal.h"

void access_log_write(const struct http_request *req, double seconds, int termination)
{
    if (!log_enabled(LOG_INFO))
        return;
    const struct http_server *srv = req->srv;
    const char *route = req->route_idx >= 0 ? srv->opts.routes[req->route_idx].pattern : NULL;
    json_t *fields =
        json_pack("{s:s, s:s, s:s, s:s?, s:i, s:f, s:s}", "request_id", req->request_id, "method",
                  req->method, "path", req->path, "route", route, "status", req->status,
                  "duration_ms", seconds * 1000.0, "client", req->client_ip);
    if (fields && req->authenticated)
        json_object_set_new(fields, "key_id", json_string(req->principal.key_id));
    if (fields && req->error_code)
        json_object_set_new(fields, "error", json_string(req->error_code));
    if (fields && termination >= 0)
        json_object_set_new(fields, "terminated", json_integer(termination));
    log_emit(LOG_INFO, "request", fields);
}
