/* OpenTravel XML in and out, shared by every OTA module.
 *
 * IN: a hardened libxml2 reader. The size cap is checked before libxml2 sees a byte; the parse
 * runs with XML_PARSE_NONET and never with NOENT, DTDLOAD, DTDATTR or HUGE; any DOCTYPE (hence
 * any entity declaration) stops the parse; libxml2's own messages never reach stderr (they may
 * quote the input, e.g. a card number); the tree is then checked against depth and node-count
 * limits. SOAP 1.1 and 1.2 envelopes are unwrapped: ota_xml_body() is the OpenTravel element
 * whether the message came bare or enveloped. Child lookups match LOCAL names only, so a
 * message with or without the OpenTravel namespace (or with a prefix) reads the same.
 *
 * OUT: a small writer for OpenTravel RS answers (`<X xmlns="http://www.opentravel.org/OTA/2003/05"
 * EchoToken TimeStamp Version>` with `<Success/>`, `<Warnings>` and `<Errors>` using the EWT
 * (error/warning type) and ERR (code) lists), optionally wrapped in a SOAP 1.1/1.2 envelope.
 *
 * Ownership: a struct ota_xml_doc owns its tree; the xmlNode pointers handed out live as long
 * as the document. Every function is thread-safe (each thread reuses its own parser context);
 * free a document on the thread that parsed it (its names live in that thread's dictionary).
 * Errors: HERALD_ERR_XML_INVALID (malformed, DOCTYPE/entities, too large, too deep, too many
 * nodes — err->message says which, never quoting the input), HERALD_ERR_NOMEM, and from the
 * writer HERALD_ERR_TOO_LARGE (the output buffer's maximum) or HERALD_ERR_INVALID. */
#ifndef HERALD_OTA_XML_H
#define HERALD_OTA_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "base/buf.h"
#include "base/err.h"

#define OTA_NS "http://www.opentravel.org/OTA/2003/05"
#define OTA_SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define OTA_SOAP12_NS "http://www.w3.org/2003/05/soap-envelope"

/* ---------------------------------------------------------------- reading */

#define OTA_XML_DEFAULT_MAX_BYTES (2u * 1024u * 1024u)
#define OTA_XML_DEFAULT_MAX_DEPTH 48
#define OTA_XML_DEFAULT_MAX_NODES 200000u

struct ota_xml_limits {
    size_t max_bytes; /* 0 = OTA_XML_DEFAULT_MAX_BYTES */
    int max_depth;    /* element nesting, 0 = OTA_XML_DEFAULT_MAX_DEPTH */
    size_t max_nodes; /* nodes of any kind, 0 = OTA_XML_DEFAULT_MAX_NODES */
};

enum ota_soap {
    OTA_SOAP_NONE, /* a bare OpenTravel document */
    OTA_SOAP_11,   /* http://schemas.xmlsoap.org/soap/envelope/ (text/xml + SOAPAction) */
    OTA_SOAP_12,   /* http://www.w3.org/2003/05/soap-envelope (application/soap+xml) */
};

struct ota_xml_doc;

/* Initialises libxml2 once for the process. ota_xml_parse calls it too; calling it at start-up,
 * before threads (ota_reservations_open does), keeps libxml2's own initialisation single-threaded.
 */
void ota_xml_init(void);

/* Parses len bytes (need not be NUL-terminated) under lim (NULL = defaults). A document that is
 * a SOAP Envelope must have a Body with exactly one element child (a SOAP Fault counts as that
 * child). HERALD_ERR_XML_INVALID or HERALD_ERR_NOMEM; *out is NULL on error. */
enum herald_err ota_xml_parse(const char *data, size_t len, const struct ota_xml_limits *lim,
                              struct ota_xml_doc **out, struct herald_error *err);
void ota_xml_free(struct ota_xml_doc *doc);

/* The document element (the Envelope when enveloped). */
xmlNode *ota_xml_root(const struct ota_xml_doc *doc);
/* The OpenTravel element: the Body's child when enveloped, else the document element. */
xmlNode *ota_xml_body(const struct ota_xml_doc *doc);
/* The SOAP Header element, NULL when bare or absent (WS-Security lives here). */
xmlNode *ota_xml_soap_header(const struct ota_xml_doc *doc);
enum ota_soap ota_xml_soap(const struct ota_xml_doc *doc);

/* The element's local name ("" for NULL). */
const char *ota_xml_name(const xmlNode *n);
/* Whether n is an element with this local name. */
bool ota_xml_is(const xmlNode *n, const char *local);
/* The first element child of parent with this local name (NULL: none). local NULL = any. */
xmlNode *ota_xml_child(const xmlNode *parent, const char *local);
/* The next element sibling after n with this local name (NULL: none). local NULL = any.
 * Loop: for (x = ota_xml_child(p, "A"); x; x = ota_xml_next(x, "A")). */
xmlNode *ota_xml_next(const xmlNode *n, const char *local);
/* Follows a '/'-separated path of local names from n: "ResGlobalInfo/Total". NULL when a step
 * is missing. */
xmlNode *ota_xml_path(const xmlNode *n, const char *path);
/* The first descendant element (depth-first, n itself excluded) with this local name. */
xmlNode *ota_xml_find(const xmlNode *n, const char *local);
/* Counts element children with this local name (NULL = any). */
size_t ota_xml_count(const xmlNode *parent, const char *local);

/* Copies the attribute `name` (matched by local name, any namespace) into out (cap bytes,
 * NUL-terminated, whitespace trimmed). Returns true when present; a value that does not fit
 * is truncated at a UTF-8 boundary. out is "" when absent. */
bool ota_xml_attr(const xmlNode *n, const char *name, char *out, size_t cap);
/* Whether the attribute is present. */
bool ota_xml_has_attr(const xmlNode *n, const char *name);
/* The element's text content (all descendant text, trimmed) into out, as ota_xml_attr.
 * Returns true when the element exists and has non-empty text. */
bool ota_xml_text(const xmlNode *n, char *out, size_t cap);
/* The same, malloc'ed (NULL for none or on allocation failure); at most max bytes kept. */
char *ota_xml_text_dup(const xmlNode *n, size_t max);

/* ---------------------------------------------------------------- writing */

/* OpenTravel EWT: Error Warning Type. */
enum ota_ewt {
    OTA_EWT_UNKNOWN = 1,
    OTA_EWT_NO_IMPLEMENTATION = 2,
    OTA_EWT_BIZ_RULE = 3,
    OTA_EWT_AUTHENTICATION = 4,
    OTA_EWT_AUTHENTICATION_TIMEOUT = 5,
    OTA_EWT_AUTHORIZATION = 6,
    OTA_EWT_PROTOCOL_VIOLATION = 7,
    OTA_EWT_TRANSACTION_MODEL = 8,
    OTA_EWT_AUTHENTICATION_MODEL = 9,
    OTA_EWT_REQUIRED_FIELD_MISSING = 10,
    OTA_EWT_ADVISORY = 11,
    OTA_EWT_PROCESSING_EXCEPTION = 12,
    OTA_EWT_APPLICATION_ERROR = 13,
};

/* OpenTravel ERR codes Herald answers with (a subset of the list). */
enum ota_err_code {
    OTA_ERR_INVALID_DATE = 15,
    OTA_ERR_INVALID_CURRENCY = 61,
    OTA_ERR_BOOKING_NOT_FOUND = 97,
    OTA_ERR_SYSTEM_UNAVAILABLE = 187,
    OTA_ERR_REQUIRED_FIELD_MISSING = 321,
    OTA_ERR_INVALID_HOTEL_CODE = 392,
    OTA_ERR_INVALID_PROPERTY_CODE = 400,
    OTA_ERR_INVALID_ROOM_TYPE = 402,
    OTA_ERR_SYSTEM_ERROR = 448,
    OTA_ERR_UNABLE_TO_PROCESS = 450,
    OTA_ERR_AUTHORIZATION = 497,
    OTA_ERR_INVALID_RATE_CODE = 249,
};

struct ota_rs_item { /* one <Error> or <Warning> */
    enum ota_ewt type;
    int code;         /* ERR code, 0 = no Code attribute */
    const char *text; /* shown as the element's text and ShortText; NULL = none */
    const char *rph;  /* RPH / RecordID the item refers to, NULL = none */
};

struct ota_rs {
    const char *root;       /* "OTA_HotelResNotifRS": a plain NCName, required */
    const char *echo_token; /* echoed from the RQ; NULL or "" = omitted */
    int64_t timestamp_ms;   /* TimeStamp, written as UTC xs:dateTime */
    const char *version;    /* NULL = "1.0" */
    enum ota_soap soap;     /* wrap in a SOAP 1.1/1.2 envelope (Body) or not */
    /* Any error: <Errors> and no <Success/> nor body. Otherwise <Success/>, then <Warnings>
     * when given, then body (already-serialized XML, escaped with ota_xml_escape). */
    const struct ota_rs_item *errors;
    size_t nerrors;
    const struct ota_rs_item *warnings;
    size_t nwarnings;
    const char *body;
    /* Extra attributes on the root, already escaped: ` ResResponseType="Committed"`; NULL. */
    const char *root_attrs;
};

/* Appends the RS document (with its XML declaration) to out. */
enum herald_err ota_rs_write(const struct ota_rs *rs, struct buf *out);

/* Appends s with & < > " ' escaped (text and attribute values), control characters other
 * than tab/newline/CR dropped. */
enum herald_err ota_xml_escape(struct buf *out, const char *s);

/* The HotelReservations block of a reservation-notification RS: one HotelReservation per
 * entry with its HotelReservationIDs — the channel's id as ResID_Type="14" (when given) and
 * Herald's own as ResID_Type="3". Appended to out, to be passed as ota_rs.body. */
struct ota_rs_res_id {
    const char *channel_res_id;
    int64_t herald_id;
};
enum herald_err ota_rs_res_ids(struct buf *out, const struct ota_rs_res_id *ids, size_t n);

/* The Content-Type for an answer in this envelope: "application/soap+xml; charset=utf-8",
 * "text/xml; charset=utf-8" or "application/xml; charset=utf-8". */
const char *ota_xml_content_type(enum ota_soap soap);

#endif
