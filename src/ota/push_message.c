/* OpenTravel reservation pushes: the endpoint's table of messages, the order of checks
 * (size, media type, channel, credentials, parse, endpoint, hotel code), ingestion through the
 * writer (group commit) and the RS. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/push_internal.h"

#define RS_MAX ((size_t)4 << 20)

static const struct {
    const char *rq, *rs;
    enum ota_msg_kind kind;
    const char *ok_attrs; /* on the root of a successful RS */
} messages[] = {
    {"OTA_HotelResNotifRQ", "OTA_HotelResNotifRS", OTA_MSG_RES_NOTIF,
     " ResResponseType=\"Committed\""},
    {"OTA_HotelResModifyNotifRQ", "OTA_HotelResModifyNotifRS", OTA_MSG_RES_MODIFY_NOTIF,
     " ResResponseType=\"Modified\""},
    {"OTA_CancelRQ", "OTA_CancelRS", OTA_MSG_CANCEL, " Status=\"Cancelled\""},
};
#define NMESSAGES (sizeof(messages) / sizeof(messages[0]))

/* One answer under construction: where it goes and what it echoes. */
struct push_ctx {
    int m; /* index in messages, -1 for an unknown message */
    enum ota_soap soap;
    char echo[128];
    int64_t now_ms;
    struct ota_push_answer *ans;
};

/* The envelope an answer goes back in before (or without) parsing: SOAP 1.2 for
 * application/soap+xml, SOAP 1.1 when the body opens an Envelope, bare otherwise. */
static enum ota_soap guess_soap(const char *content_type, const char *body, size_t len)
{
    if (content_type && strstr(content_type, "soap+xml"))
        return OTA_SOAP_12;
    size_t head = len < 2048 ? len : 2048;
    if (!memmem(body, head, "Envelope", 8))
        return OTA_SOAP_NONE;
    return memmem(body, head, OTA_SOAP12_NS, strlen(OTA_SOAP12_NS)) ? OTA_SOAP_12 : OTA_SOAP_11;
}

/* The RS root for the message in the path: its own for a known one, else "<name>RS" for a
 * well-formed "...RQ" name, else OTA_HotelResNotifRS. */
static void rs_root(const char *message, int m, char *out, size_t cap)
{
    size_t n = message ? strlen(message) : 0;
    if (m >= 0)
        snprintf(out, cap, "%s", messages[m].rs);
    else if (n > 2 && n < 60 && strcmp(message + n - 2, "RQ") == 0 &&
             strspn(message, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
                 n)
        snprintf(out, cap, "%.*sRS", (int)(n - 2), message);
    else
        snprintf(out, cap, "OTA_HotelResNotifRS");
}

static int message_index(const char *message)
{
    for (size_t i = 0; message && i < NMESSAGES; i++)
        if (strcmp(messages[i].rq, message) == 0)
            return (int)i;
    return -1;
}

/* Writes the RS into ans: Errors when nerr > 0, else Success + body. */
static enum herald_err write_rs(struct push_ctx *x, const char *message,
                                const struct ota_rs_item *errs, size_t nerr, const char *body,
                                const char *attrs, int status, enum herald_err code)
{
    char root[80];
    rs_root(message, x->m, root, sizeof(root));
    struct ota_rs rs = {.root = root,
                        .echo_token = x->echo,
                        .timestamp_ms = x->now_ms,
                        .soap = x->soap,
                        .errors = errs,
                        .nerrors = nerr,
                        .body = body,
                        .root_attrs = attrs};
    buf_reset(&x->ans->body);
    enum herald_err rc = ota_rs_write(&rs, &x->ans->body);
    x->ans->status = status;
    x->ans->content_type = ota_xml_content_type(x->soap);
    x->ans->err = code;
    if (nerr)
        snprintf(x->ans->reason, sizeof(x->ans->reason), "%s", errs[0].text ? errs[0].text : "");
    return rc == HERALD_ERR_NOMEM ? rc : HERALD_OK;
}

/* An answer with one <Error Type Code>text</Error>. */
static enum herald_err fail(struct push_ctx *x, const char *message, int status,
                            enum herald_err code, enum ota_ewt type, int err_code, const char *text)
{
    struct ota_rs_item item = {type, err_code, text, NULL};
    bool cancel = x->m >= 0 && messages[x->m].kind == OTA_MSG_CANCEL;
    return write_rs(x, message, &item, 1, NULL, cancel ? " Status=\"Ignored\"" : NULL, status,
                    code);
}

static enum herald_err fail_auth(struct push_ctx *x, const char *message, const char *text)
{
    x->ans->auth_failed = true;
    return fail(x, message, 401, HERALD_ERR_UNAUTHORIZED, OTA_EWT_AUTHENTICATION,
                OTA_ERR_AUTHORIZATION, text);
}

/* A store failure: 503, the partner retries; nothing else is said. */
static enum herald_err fail_system(struct push_ctx *x, const char *message)
{
    return fail(x, message, 503, HERALD_ERR_DB_SOFT, OTA_EWT_APPLICATION_ERROR,
                OTA_ERR_SYSTEM_ERROR, "system error, try again later");
}

enum herald_err ota_push_refusal(const char *message, const char *content_type, enum herald_err err,
                                 const char *text, int64_t now_ms, struct ota_push_answer *ans)
{
    memset(ans, 0, sizeof(*ans));
    buf_init(&ans->body, RS_MAX);
    struct push_ctx x = {message_index(message), guess_soap(content_type, "", 0), "", now_ms, ans};
    enum ota_ewt type =
        err == HERALD_ERR_TOO_LARGE ? OTA_EWT_PROCESSING_EXCEPTION : OTA_EWT_APPLICATION_ERROR;
    int code = err == HERALD_ERR_TOO_LARGE ? OTA_ERR_UNABLE_TO_PROCESS : OTA_ERR_SYSTEM_UNAVAILABLE;
    return fail(&x, message, herald_err_http_status(err), err, type, code,
                text ? text : herald_strerror(err));
}

/* One push on its way through the checks. A step returns true to go on, false once it has
 * written the answer (rc then holds NOMEM if even that failed). */
struct push_run {
    struct ota_push *p;
    const struct ota_push_request *rq; /* during ota_push_message() only */
    char message[64];                  /* the {message} segment, kept for the answer */
    struct push_ctx x;
    struct ota_channel ch;
    struct ota_xml_doc *doc;
    struct ota_res_message msg;
    bool have_msg;
    enum herald_err rc;
    struct ota_push_answer ans;
    struct ota_ingest_result *results;
    struct push_job job; /* the ingestion handed to the writer */
    ota_push_done_fn done;
    void *arg;
};

static bool stop(struct push_run *r, enum herald_err rc)
{
    r->rc = rc;
    return false;
}

static bool step_request(struct push_run *r)
{
    const struct ota_push_request *rq = r->rq;
    if (r->x.m < 0)
        return stop(r, fail(&r->x, rq->message, 404, HERALD_ERR_NOT_FOUND,
                            OTA_EWT_NO_IMPLEMENTATION, OTA_ERR_UNABLE_TO_PROCESS,
                            "unsupported message: post OTA_HotelResNotifRQ, "
                            "OTA_HotelResModifyNotifRQ or OTA_CancelRQ"));
    if (rq->len > r->p->o.max_message_bytes)
        return stop(r, fail(&r->x, rq->message, 413, HERALD_ERR_TOO_LARGE,
                            OTA_EWT_PROCESSING_EXCEPTION, OTA_ERR_UNABLE_TO_PROCESS,
                            "the message is larger than this endpoint accepts"));
    if (!rq->xml_content_type)
        return stop(r, fail(&r->x, rq->message, 415, HERALD_ERR_MEDIA_TYPE,
                            OTA_EWT_PROTOCOL_VIOLATION, OTA_ERR_UNABLE_TO_PROCESS,
                            "Content-Type must be text/xml, application/xml or "
                            "application/soap+xml"));
    return true;
}

/* The channel, and the parsed document when the credentials can only be in it (WSSE). */
static bool step_channel(struct push_run *r)
{
    struct herald_error err = {0};
    enum herald_err rc = push_channel(r->p, r->rq->channel_id, &r->ch, &err);
    if (rc == HERALD_ERR_NOT_FOUND)
        return stop(r, fail_auth(&r->x, r->message, "authentication failed"));
    if (rc)
        return stop(r, fail_system(&r->x, r->message));
    if (r->rq->authorization || ota_webhook_present(&r->rq->webhook))
        return true;
    struct ota_xml_limits lim = {.max_bytes = r->p->o.max_message_bytes};
    rc = ota_xml_parse(r->rq->body, r->rq->len, &lim, &r->doc, &err);
    if (rc == HERALD_ERR_NOMEM)
        return stop(r, rc);
    if (rc)
        return stop(r, fail(&r->x, r->message, 400, HERALD_ERR_XML_INVALID,
                            OTA_EWT_PROCESSING_EXCEPTION, OTA_ERR_UNABLE_TO_PROCESS,
                            herald_error_message(&err)));
    r->x.soap = ota_xml_soap(r->doc);
    ota_xml_attr(ota_xml_body(r->doc), "EchoToken", r->x.echo, sizeof(r->x.echo));
    return true;
}

static bool step_auth(struct push_run *r)
{
    struct herald_error err = {0};
    enum herald_err rc = push_authenticate(r->p, &r->ch, r->rq, r->doc, r->x.now_ms, &err);
    if (rc == HERALD_ERR_UNAUTHORIZED || rc == HERALD_ERR_SIGNATURE)
        return stop(r, fail_auth(&r->x, r->message, herald_error_message(&err)));
    if (rc)
        return stop(r, fail_system(&r->x, r->message));
    if (!r->ch.enabled || r->ch.mode != OTA_MODE_PUSH)
        return stop(r, fail(&r->x, r->message, 403, HERALD_ERR_FORBIDDEN, OTA_EWT_AUTHORIZATION,
                            OTA_ERR_AUTHORIZATION,
                            r->ch.enabled ? "this channel is not set up for pushes (mode pull)"
                                          : "this channel is disabled"));
    return true;
}

/* The SOAP version of a message ota_res_parse read (the document was not read here). */
static enum ota_soap message_soap(const struct push_run *r)
{
    if (!r->msg.soap)
        return OTA_SOAP_NONE;
    enum ota_soap g = guess_soap(r->rq->content_type, r->rq->body, r->rq->len);
    return g == OTA_SOAP_NONE ? OTA_SOAP_11 : g;
}

static bool step_parse(struct push_run *r)
{
    struct herald_error err = {0};
    const char *m = r->message;
    bool parsed_here = !r->doc;
    enum herald_err rc;
    if (r->doc) { /* read for its WS-Security header (step_channel set x.soap): once is enough */
        rc = ota_res_parse_doc(r->doc, &r->msg, &err);
        /* freed on this thread, whose parser dictionary holds its names (ota/xml.h) */
        ota_xml_free(r->doc);
        r->doc = NULL;
    } else {
        rc = ota_res_parse(r->rq->body, r->rq->len, r->p->o.max_message_bytes, &r->msg, &err);
    }
    if (rc == HERALD_ERR_NOMEM)
        return stop(r, rc);
    if (rc == HERALD_ERR_XML_INVALID)
        return stop(r, fail(&r->x, m, 400, rc, OTA_EWT_PROCESSING_EXCEPTION,
                            OTA_ERR_UNABLE_TO_PROCESS, herald_error_message(&err)));
    if (rc)
        return stop(r, fail(&r->x, m, 200, rc, OTA_EWT_REQUIRED_FIELD_MISSING,
                            OTA_ERR_REQUIRED_FIELD_MISSING, herald_error_message(&err)));
    r->have_msg = true;
    if (parsed_here)
        r->x.soap = message_soap(r);
    if (r->msg.echo_token[0])
        snprintf(r->x.echo, sizeof(r->x.echo), "%s", r->msg.echo_token);
    if (strcmp(r->msg.root_name, m) != 0)
        return stop(r, fail(&r->x, m, 200, HERALD_ERR_INVALID, OTA_EWT_PROTOCOL_VIOLATION,
                            OTA_ERR_UNABLE_TO_PROCESS,
                            "the message does not match the endpoint it was posted to"));
    if (r->msg.n == 0)
        return stop(r, fail(&r->x, m, 200, HERALD_ERR_INVALID, OTA_EWT_REQUIRED_FIELD_MISSING,
                            OTA_ERR_REQUIRED_FIELD_MISSING, "the message holds no reservation"));
    return true;
}

/* Every reservation is for the channel's hotel (one without a code gets it). */
static bool step_hotel(struct push_run *r)
{
    for (size_t i = 0; i < r->msg.n; i++) {
        struct ota_reservation *res = &r->msg.items[i];
        if (!res->hotel_code[0])
            snprintf(res->hotel_code, sizeof(res->hotel_code), "%s", r->ch.hotel_code);
        else if (strcmp(res->hotel_code, r->ch.hotel_code) != 0)
            return stop(r, fail(&r->x, r->message, 200, HERALD_ERR_INVALID, OTA_EWT_AUTHORIZATION,
                                OTA_ERR_INVALID_HOTEL_CODE, "invalid hotel code for this channel"));
    }
    return true;
}

/* OTA_CancelRS: the channel's id (UniqueID Type 14) and Herald's (Type 10, the hotel's
 * confirmation), then the cancellation number (Herald's revision id) in CancelInfoRS. */
static enum herald_err cancel_body(struct buf *b, const struct ota_reservation *items,
                                   const struct ota_ingest_result *res, size_t n)
{
    enum herald_err rc = HERALD_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = buf_append_str(b, "<UniqueID Type=\"14\" ID=\"");
        if (!rc)
            rc = ota_xml_escape(b, items[i].res_id);
        if (!rc)
            rc = buf_printf(b, "\"/><UniqueID Type=\"10\" ID=\"%lld\"/>",
                            (long long)res[i].reservation_id);
    }
    if (!rc)
        rc = buf_append_str(b, "<CancelInfoRS>");
    for (size_t i = 0; !rc && i < n; i++)
        rc = buf_printf(b, "<UniqueID Type=\"10\" ID=\"%lld\"/>", (long long)res[i].revision_id);
    return rc ? rc : buf_append_str(b, "</CancelInfoRS>");
}

static enum herald_err success_body(struct push_run *r, const struct ota_ingest_result *res,
                                    struct buf *b)
{
    size_t n = r->msg.n;
    if (messages[r->x.m].kind == OTA_MSG_CANCEL)
        return cancel_body(b, r->msg.items, res, n);
    struct ota_rs_res_id *ids = calloc(n, sizeof(*ids));
    if (!ids)
        return HERALD_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        ids[i] = (struct ota_rs_res_id){r->msg.items[i].res_id, res[i].reservation_id};
    enum herald_err rc = ota_rs_res_ids(b, ids, n);
    free(ids);
    return rc;
}

/* The answer once the reservations are ingested (or refused). */
static void finish_ingest(struct push_run *r, enum herald_err rc, const struct herald_error *err)
{
    struct buf body;
    buf_init(&body, RS_MAX);
    if (rc == HERALD_ERR_INVALID) {
        rc = fail(&r->x, r->message, 200, rc, OTA_EWT_BIZ_RULE, OTA_ERR_UNABLE_TO_PROCESS,
                  herald_error_message(err));
    } else if (rc == HERALD_ERR_QUEUE_FULL) {
        rc = fail(&r->x, r->message, 503, rc, OTA_EWT_APPLICATION_ERROR, OTA_ERR_SYSTEM_UNAVAILABLE,
                  "too many reservations waiting, try again later");
    } else if (rc && rc != HERALD_ERR_NOMEM) {
        rc = fail_system(&r->x, r->message);
    } else if (!rc && !(rc = success_body(r, r->results, &body))) {
        for (size_t i = 0; i < r->msg.n; i++) {
            if (r->results[i].duplicate)
                r->ans.duplicates++;
            else
                r->ans.stored++;
        }
        rc = write_rs(&r->x, r->message, NULL, 0, body.data, messages[r->x.m].ok_attrs, 200,
                      HERALD_OK);
    }
    buf_free(&body);
    r->rc = rc;
}

static void run_free(struct push_run *r)
{
    if (r->have_msg)
        ota_res_message_free(&r->msg);
    ota_xml_free(r->doc);
    ota_channel_wipe(&r->ch);
    free(r->results);
    ota_push_answer_free(&r->ans);
    free(r);
}

/* The writer is done with the run's reservations: answer, hand over, free. */
static void job_done(struct push_job *job)
{
    struct push_run *r = (struct push_run *)((char *)job - offsetof(struct push_run, job));
    finish_ingest(r, job->rc, &job->err);
    if (!r->rc && r->ans.body.len == 0)
        r->rc = HERALD_ERR_NOMEM;
    r->done(r->arg, r->rc, &r->ans);
    run_free(r);
}

/* Ingests here (no callback) or hands the reservations to the writer; true when handed. */
static bool step_ingest(struct push_run *r)
{
    struct herald_error err = {0};
    if (!(r->results = calloc(r->msg.n, sizeof(*r->results))))
        return stop(r, HERALD_ERR_NOMEM);
    if (r->done) {
        r->job = (struct push_job){.ch = r->ch,
                                   .items = r->msg.items,
                                   .n = r->msg.n,
                                   .results = r->results,
                                   .done = job_done};
        ota_channel_wipe(&r->job.ch);
        const struct ota_push_request *rq = r->rq;
        r->rq = NULL; /* the writer may answer and free the run as soon as it is queued */
        if (push_writer_submit(r->p->writer, &r->job))
            return true;
        r->rq = rq;
        finish_ingest(r, HERALD_ERR_QUEUE_FULL, &err);
        return false;
    }
    enum herald_err rc = ota_reservations_ingest(r->p->o.reservations, &r->ch, r->msg.items,
                                                 r->msg.n, r->x.now_ms, r->results, &err);
    finish_ingest(r, rc, &err);
    return false;
}

enum herald_err ota_push_message(struct ota_push *p, const struct ota_push_request *rq,
                                 int64_t now_ms, struct ota_push_answer *ans, ota_push_done_fn done,
                                 void *arg, bool *pending)
{
    memset(ans, 0, sizeof(*ans));
    *pending = false;
    struct push_run *r = calloc(1, sizeof(*r));
    if (!r)
        return HERALD_ERR_NOMEM;
    *r = (struct push_run){.p = p, .rq = rq, .done = done, .arg = arg};
    snprintf(r->message, sizeof(r->message), "%s", rq->message ? rq->message : "");
    buf_init(&r->ans.body, RS_MAX);
    r->x = (struct push_ctx){message_index(r->message),
                             guess_soap(rq->content_type, rq->body, rq->len), "", now_ms, &r->ans};
    if (step_request(r) && step_channel(r) && step_auth(r) && step_parse(r) && step_hotel(r) &&
        step_ingest(r)) {
        *pending = true; /* job_done() answers and frees the run: it is not ours any more */
        return HERALD_OK;
    }
    enum herald_err rc = r->rc;
    if (!rc && r->ans.body.len == 0)
        rc = HERALD_ERR_NOMEM;
    *ans = r->ans; /* the answer's buffer moves to the caller */
    buf_init(&r->ans.body, RS_MAX);
    run_free(r);
    return rc;
}
