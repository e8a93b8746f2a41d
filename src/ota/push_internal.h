/* Private to the push module (push.c, push_auth.c, push_webhook.c): the object and the
 * authentication step they share. */
#ifndef HERALD_OTA_PUSH_INTERNAL_H
#define HERALD_OTA_PUSH_INTERNAL_H

#include <stdatomic.h>

#include "ota/push.h"
#include "ota/xml.h"

struct push_writer;
struct push_cache;

struct ota_push {
    struct ota_push_opts o;
    atomic_uint marks; /* seen-id marks so far: every 64th sweeps expired rows */
    struct push_writer *writer;
    struct push_cache *cache;
};

/* ---- push_writer.c: group commit of accepted pushes ---- */
struct push_job {
    struct push_job *next;
    struct ota_channel ch; /* secrets wiped: the ingestion needs its id and hotel code */
    const struct ota_reservation *items;
    size_t n;
    struct ota_ingest_result *results; /* n entries, filled by the writer */
    enum herald_err rc;
    struct herald_error err;
    void (*done)(struct push_job *job); /* on the writer thread, once rc and results are set */
};
/* Starts the writer thread. HERALD_ERR_NOMEM / HERALD_ERR_INTERNAL. */
enum herald_err push_writer_start(struct ota_reservations *res, struct push_writer **out);
/* Queues a job; false when the queue is full or the writer stopping (nothing queued). */
bool push_writer_submit(struct push_writer *w, struct push_job *job);
/* Ingests and completes what is queued, then stops the thread. */
void push_writer_stop(struct push_writer *w);

/* ---- push.c: channels read through a short cache (1 s), so a burst of pushes costs one
 * read; a change of credentials or state takes effect within that second. ---- */
enum herald_err push_cache_new(struct push_cache **out);
void push_cache_free(struct push_cache *c);

/* Authenticates a request for channel ch: HTTP Basic when an Authorization header is sent, a
 * Standard Webhooks signature when its headers are, else the WS-Security UsernameToken of
 * doc's SOAP header (doc NULL: none). HERALD_OK; HERALD_ERR_UNAUTHORIZED or
 * HERALD_ERR_SIGNATURE (refused: err->message says why, never quoting a secret); store errors
 * (a nonce could not be recorded). */
enum herald_err push_authenticate(struct ota_push *p, const struct ota_channel *ch,
                                  const struct ota_push_request *rq, const struct ota_xml_doc *doc,
                                  int64_t now_ms, struct herald_error *err);

/* Takes (channel, kind, value) in the seen-id store until expires_ms; *fresh false on a
 * repeat. Sweeps expired rows now and then. Store errors. */
enum herald_err push_mark_seen(struct ota_push *p, int64_t channel_id, const char *kind,
                               const char *value, int64_t now_ms, int64_t expires_ms, bool *fresh);

/* Reads the channel named by the path segment: HERALD_ERR_NOT_FOUND for a malformed or unknown
 * id, store errors. Wipe it with ota_channel_wipe(). */
enum herald_err push_channel(struct ota_push *p, const char *id_text, struct ota_channel *ch,
                             struct herald_error *err);

#endif
