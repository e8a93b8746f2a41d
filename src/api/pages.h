/* The public pages recipients see (unsubscribe, preferences, subscription confirmation):
 * server-rendered, no JavaScript, every value escaped, under a policy that allows only an
 * inline style and forms posting back to Herald. */
#ifndef HERALD_API_PAGES_H
#define HERALD_API_PAGES_H

#include "base/buf.h"
#include "http/http.h"

/* Answers a complete HTML page: `title` is escaped here; `body_html` is markup the caller
 * built (escape every value in it with buf_append_html()). */
void api_page_reply(struct http_request *req, int status, const char *title, const char *body_html);
/* A page with one heading and one escaped sentence (confirmations and errors). */
void api_page_message(struct http_request *req, int status, const char *title, const char *message);

#endif
