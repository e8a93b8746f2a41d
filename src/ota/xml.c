/* The hardened OpenTravel XML reader of ota/xml.h: size cap, libxml2 without network, entities
 * or DTDs (a DOCTYPE stops the parse), silent errors, depth/node limits, SOAP unwrapping. */
#include "ota/xml.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

struct ota_xml_doc {
    xmlDoc *doc;
    xmlNode *root, *body, *header;
    enum ota_soap soap;
};

/* Each thread keeps its parser context between parses: creating one (its dictionary, input,
 * node and name stacks) cost about a third of parsing a 4 KB message. The context is dropped
 * after a refused message, and once its dictionary holds CTXT_DICT_MAX names, so names sent by
 * senders cannot make it grow without bound. With XML_PARSE_COMPACT short text lives in its
 * node, so the long-lived dictionary holds element/attribute names and whitespace only, never
 * a short value such as a card's security code. */
#define CTXT_DICT_MAX 4096

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctxt_key;

static void free_ctxt(void *ctxt)
{
    xmlFreeParserCtxt(ctxt);
}

static void init_libxml(void)
{
    xmlInitParser();
    pthread_key_create(&ctxt_key, free_ctxt);
}

void ota_xml_init(void)
{
    pthread_once(&init_once, init_libxml);
}

/* What the SAX hooks saw during this thread's current parse (the context's _private does not
 * survive the reset at the start of each parse). */
struct parse_flags {
    bool doctype;
    int line; /* of the first error */
};
static _Thread_local struct parse_flags tl_flags;

/* libxml2 reports here instead of stderr: its messages may quote the input. */
static void silent_error(void *user, xmlErrorPtr e)
{
    (void)user;
    if (e && tl_flags.line == 0)
        tl_flags.line = e->line > 0 ? e->line : -1;
}

/* The thread's own handlers, for errors raised outside the parser context (encoding
 * conversion, I/O): libxml2 would print them, with input bytes, on stderr. */
static void silent_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void silent_structured(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

/* A DOCTYPE: stop before any declaration inside it is read. */
static void refuse_subset(void *user, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    (void)name;
    (void)ext;
    (void)sys;
    tl_flags.doctype = true;
    xmlStopParser(user);
}

static void refuse_entity(void *user, const xmlChar *name, int type, const xmlChar *pub,
                          const xmlChar *sys, xmlChar *content)
{
    (void)name;
    (void)type;
    (void)pub;
    (void)sys;
    (void)content;
    refuse_subset(user, NULL, NULL, NULL);
}

static bool has_bytes(const char *data, size_t len, const char *needle)
{
    return memmem(data, len, needle, strlen(needle)) != NULL;
}

/* Counts nodes and the deepest element nesting without recursion. */
static enum herald_err check_tree(xmlNode *root, int max_depth, size_t max_nodes,
                                  struct herald_error *err)
{
    size_t nodes = 0;
    int depth = 1;
    xmlNode *n = root;
    while (n) {
        nodes++;
        for (xmlAttr *a = n->type == XML_ELEMENT_NODE ? n->properties : NULL; a; a = a->next)
            nodes++;
        if (nodes > max_nodes)
            return herald_error_set(err, HERALD_ERR_XML_INVALID, "body",
                                    "the message has more than %zu XML nodes", max_nodes);
        if (depth > max_depth)
            return herald_error_set(err, HERALD_ERR_XML_INVALID, "body",
                                    "the message nests elements deeper than %d", max_depth);
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            depth++;
            continue;
        }
        while (n && n != root && !n->next) {
            n = n->parent;
            depth--;
        }
        n = (n && n != root) ? n->next : NULL;
    }
    return HERALD_OK;
}

static enum herald_err unwrap_soap(struct ota_xml_doc *d, struct herald_error *err)
{
    xmlNode *r = d->root;
    d->body = r;
    if (!ota_xml_is(r, "Envelope"))
        return HERALD_OK;
    const char *ns = r->ns && r->ns->href ? (const char *)r->ns->href : "";
    if (strcmp(ns, OTA_SOAP11_NS) == 0)
        d->soap = OTA_SOAP_11;
    else if (strcmp(ns, OTA_SOAP12_NS) == 0)
        d->soap = OTA_SOAP_12;
    else
        return herald_error_set(err, HERALD_ERR_XML_INVALID, "Envelope",
                                "unknown SOAP envelope namespace");
    d->header = ota_xml_child(r, "Header");
    xmlNode *body = ota_xml_child(r, "Body");
    if (!body || ota_xml_count(body, NULL) != 1)
        return herald_error_set(err, HERALD_ERR_XML_INVALID, "Body",
                                "the SOAP Body must hold exactly one element");
    d->body = ota_xml_child(body, NULL);
    return HERALD_OK;
}

static xmlParserCtxtPtr hardened_ctxt(void)
{
    xmlParserCtxtPtr ctxt = pthread_getspecific(ctxt_key);
    if (ctxt)
        return ctxt;
    if (!(ctxt = xmlNewParserCtxt()))
        return NULL;
    if (pthread_setspecific(ctxt_key, ctxt) != 0) {
        xmlFreeParserCtxt(ctxt);
        return NULL;
    }
    ctxt->sax->internalSubset = refuse_subset;
    ctxt->sax->externalSubset = refuse_subset;
    ctxt->sax->entityDecl = refuse_entity;
    ctxt->sax->serror = silent_error;
    ctxt->sax->error = NULL;
    ctxt->sax->warning = NULL;
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;
    return ctxt;
}

static enum herald_err run_parse(const char *data, size_t len, xmlDoc **out,
                                 struct herald_error *err)
{
    tl_flags = (struct parse_flags){false, 0};
    xmlParserCtxtPtr ctxt = hardened_ctxt();
    if (!ctxt)
        return herald_error_set(err, HERALD_ERR_NOMEM, NULL, NULL);
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA |
               XML_PARSE_COMPACT;
    /* libxml2 keeps these per thread: silence them for this parse, then put them back. */
    xmlGenericErrorFunc old_generic = xmlGenericError;
    void *old_generic_ctx = xmlGenericErrorContext;
    xmlStructuredErrorFunc old_structured = xmlStructuredError;
    void *old_structured_ctx = xmlStructuredErrorContext;
    xmlSetGenericErrorFunc(NULL, silent_generic);
    xmlSetStructuredErrorFunc(NULL, silent_structured);
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL, opts);
    xmlSetGenericErrorFunc(old_generic_ctx, old_generic);
    xmlSetStructuredErrorFunc(old_structured_ctx, old_structured);
    bool ok = doc && ctxt->wellFormed && !tl_flags.doctype && !doc->intSubset && !doc->extSubset;
    if (!ok || xmlDictSize(ctxt->dict) > CTXT_DICT_MAX) {
        pthread_setspecific(ctxt_key, NULL);
        xmlFreeParserCtxt(ctxt); /* the document keeps its own reference to the dictionary */
    }
    if (!ok) {
        xmlFreeDoc(doc);
        if (tl_flags.doctype)
            return herald_error_set(err, HERALD_ERR_XML_INVALID, "body",
                                    "DOCTYPE and entity declarations are not accepted");
        return herald_error_set(err, HERALD_ERR_XML_INVALID, "body",
                                "the message is not well-formed XML (line %d)", tl_flags.line);
    }
    *out = doc;
    return HERALD_OK;
}

enum herald_err ota_xml_parse(const char *data, size_t len, const struct ota_xml_limits *lim,
                              struct ota_xml_doc **out, struct herald_error *err)
{
    *out = NULL;
    size_t max_bytes = lim && lim->max_bytes ? lim->max_bytes : OTA_XML_DEFAULT_MAX_BYTES;
    int max_depth = lim && lim->max_depth > 0 ? lim->max_depth : OTA_XML_DEFAULT_MAX_DEPTH;
    size_t max_nodes = lim && lim->max_nodes ? lim->max_nodes : OTA_XML_DEFAULT_MAX_NODES;
    if (len > max_bytes || len > INT_MAX)
        return herald_error_set(err, HERALD_ERR_XML_INVALID, "body",
                                "the message is larger than %zu bytes", max_bytes);
    if (!data || len == 0)
        return herald_error_set(err, HERALD_ERR_XML_INVALID, "body", "the message is empty");
    /* Cheap first line; the SAX hooks catch the encodings this byte scan cannot see. */
    if (has_bytes(data, len, "<!DOCTYPE") || has_bytes(data, len, "<!ENTITY"))
        return herald_error_set(err, HERALD_ERR_XML_INVALID, "body",
                                "DOCTYPE and entity declarations are not accepted");
    ota_xml_init();
    xmlDoc *doc = NULL;
    enum herald_err rc = run_parse(data, len, &doc, err);
    if (rc)
        return rc;
    struct ota_xml_doc *d = calloc(1, sizeof(*d));
    if (!d) {
        xmlFreeDoc(doc);
        return herald_error_set(err, HERALD_ERR_NOMEM, NULL, NULL);
    }
    d->doc = doc;
    d->root = xmlDocGetRootElement(doc);
    rc = d->root ? check_tree(d->root, max_depth, max_nodes, err)
                 : herald_error_set(err, HERALD_ERR_XML_INVALID, "body", "no document element");
    if (!rc)
        rc = unwrap_soap(d, err);
    if (rc) {
        ota_xml_free(d);
        return rc;
    }
    *out = d;
    return HERALD_OK;
}

void ota_xml_free(struct ota_xml_doc *doc)
{
    if (!doc)
        return;
    xmlFreeDoc(doc->doc);
    free(doc);
}

xmlNode *ota_xml_root(const struct ota_xml_doc *doc)
{
    return doc->root;
}

xmlNode *ota_xml_body(const struct ota_xml_doc *doc)
{
    return doc->body;
}

xmlNode *ota_xml_soap_header(const struct ota_xml_doc *doc)
{
    return doc->header;
}

enum ota_soap ota_xml_soap(const struct ota_xml_doc *doc)
{
    return doc->soap;
}
