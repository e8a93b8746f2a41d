/* Parsing and classifying bounce and complaint reports (bounce.h): RFC 3464 DSNs, RFC 5965 ARF
 * reports, the VERP and unsubscribe tokens and addresses that name their recipient. */
#include "mail/bounce.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/crypto.h"
#include "mail/events.h"
#include "store/feedback.h"

#define MAX_DEPTH 3              /* nested multiparts */
#define MAX_PARTS 16             /* per multipart */
#define MAIL_BOUNCE_SOFT_LIMIT 3 /* soft bounces in a row that make a hard one */

struct span {
    const char *p;
    size_t n;
};

/* What the walk has found so far, before the final classification. */
struct walk {
    struct mail_bounce_report *r;
    bool saw_dsn, saw_arf;
    int best_rank; /* of the recipient block kept: 3 failed, 2 delayed, 1 other */
    char final_rcpt[MAIL_BOUNCE_TEXT_MAX], arf_rcpt[MAIL_BOUNCE_TEXT_MAX],
        orig_to[MAIL_BOUNCE_TEXT_MAX];
};

static bool next_line(struct span s, size_t *pos, struct span *line)
{
    if (*pos >= s.n)
        return false;
    const char *start = s.p + *pos;
    const char *nl = memchr(start, '\n', s.n - *pos);
    size_t len = nl ? (size_t)(nl - start) : s.n - *pos;
    *pos += len + (nl ? 1 : 0);
    if (len && start[len - 1] == '\r')
        len--;
    *line = (struct span){start, len};
    return true;
}

/* Headers up to the first empty line, and the body after it. */
static void split_message(struct span m, struct span *hdrs, struct span *body)
{
    size_t pos = 0, start = 0;
    struct span line;
    while (start = pos, next_line(m, &pos, &line)) {
        if (line.n == 0) {
            *hdrs = (struct span){m.p, start};
            *body = (struct span){m.p + pos, m.n - pos};
            return;
        }
    }
    *hdrs = m;
    *body = (struct span){m.p + m.n, 0};
}

static void append_trimmed(char *out, size_t size, size_t *len, const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    if (*len && n && *len + 1 < size)
        out[(*len)++] = ' ';
    for (size_t i = 0; i < n && *len + 1 < size; i++)
        out[(*len)++] = (p[i] == '\t' || p[i] == '\0') ? ' ' : p[i];
    out[*len] = '\0';
}

/* The first header `name` of a header block, unfolded and trimmed; false when absent. */
static bool header_get(struct span hdrs, const char *name, char *out, size_t size)
{
    size_t pos = 0, nlen = strlen(name), len = 0;
    struct span line;
    bool in = false;
    out[0] = '\0';
    while (next_line(hdrs, &pos, &line)) {
        bool cont = line.n && (line.p[0] == ' ' || line.p[0] == '\t');
        if (in && cont) {
            append_trimmed(out, size, &len, line.p, line.n);
            continue;
        }
        if (in)
            break;
        if (line.n > nlen && line.p[nlen] == ':' && strncasecmp(line.p, name, nlen) == 0) {
            in = true;
            append_trimmed(out, size, &len, line.p + nlen + 1, line.n - nlen - 1);
        }
    }
    while (len && (out[len - 1] == ' ' || out[len - 1] == '\t'))
        out[--len] = '\0';
    return in;
}

struct ctype {
    char type[64];
    char boundary[128];
    char report_type[40];
    char encoding[32];
};

/* Copies parameter `name` of a Content-Type value (quoted or token) into out. */
static void ctype_param(const char *v, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    out[0] = '\0';
    for (const char *p = strchr(v, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncasecmp(q, name, nlen) != 0 || q[nlen] != '=')
            continue;
        q += nlen + 1;
        bool quoted = *q == '"';
        q += quoted;
        size_t n = 0;
        while (*q && n + 1 < size && (quoted ? *q != '"' : (*q != ';' && *q != ' ')))
            out[n++] = *q++;
        out[n] = '\0';
        return;
    }
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void parse_ctype(struct span hdrs, struct ctype *ct)
{
    char v[512];
    memset(ct, 0, sizeof(*ct));
    if (header_get(hdrs, "Content-Type", v, sizeof(v))) {
        size_t n = strcspn(v, "; \t");
        snprintf(ct->type, sizeof(ct->type), "%.*s", (int)(n < 63 ? n : 63), v);
        lower(ct->type);
        ctype_param(v, "boundary", ct->boundary, sizeof(ct->boundary));
        ctype_param(v, "report-type", ct->report_type, sizeof(ct->report_type));
        lower(ct->report_type);
    }
    if (header_get(hdrs, "Content-Transfer-Encoding", v, sizeof(v)))
        snprintf(ct->encoding, sizeof(ct->encoding), "%.31s", v);
    lower(ct->encoding);
}

/* The address in "rfc822; a@b", "Name <a@b>" or "a@b", lower-cased; "" when none. */
static void extract_addr(const char *v, char *out, size_t size)
{
    const char *semi = strchr(v, ';'), *lt = strchr(v, '<');
    const char *p = lt ? lt + 1 : (semi && !strchr(v, '<') ? semi + 1 : v);
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, "> \t,;");
    out[0] = '\0';
    if (n == 0 || n + 1 > size || !memchr(p, '@', n))
        return;
    memcpy(out, p, n);
    out[n] = '\0';
    lower(out);
}

static bool is_b32(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '2' && ch <= '7');
}

/* The token after `marker` (case-insensitive) in s: base32 characters; false when none. */
static bool token_after(const char *s, const char *marker, char out[MAIL_TOKEN_MAX])
{
    const char *p = strcasestr(s, marker);
    if (!p)
        return false;
    p += strlen(marker);
    size_t n = 0;
    while (is_b32(p[n]) && n + 1 < MAIL_TOKEN_MAX)
        n++;
    if (n < 8 || is_b32(p[n]))
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static void add_verp(struct mail_bounce_report *r, const char *value)
{
    char tok[MAIL_TOKEN_MAX];
    if (r->nverp >= MAIL_BOUNCE_CANDIDATES || !token_after(value, "bounces+", tok))
        return;
    for (int i = 0; i < r->nverp; i++)
        if (strcasecmp(r->verp[i], tok) == 0)
            return;
    memcpy(r->verp[r->nverp++], tok, MAIL_TOKEN_MAX);
}

/* Headers of the returned original message (or of its header-only copy). */
static void read_original(struct walk *w, struct span msg)
{
    struct span hdrs, body;
    char v[1024];
    split_message(msg, &hdrs, &body);
    if (header_get(hdrs, "Return-Path", v, sizeof(v)))
        add_verp(w->r, v);
    if (!w->r->unsub[0] && header_get(hdrs, "List-Unsubscribe", v, sizeof(v)) &&
        !token_after(v, "/unsubscribe/", w->r->unsub))
        token_after(v, "unsubscribe+", w->r->unsub);
    if (!w->orig_to[0] && header_get(hdrs, "To", v, sizeof(v)))
        extract_addr(v, w->orig_to, sizeof(w->orig_to));
}

/* "5.1.1" at the start of v when it is a valid status; its class digit, or 0. */
static char status_class(const char *v, char *out, size_t size)
{
    const char *p = v;
    if (!(p[0] == '2' || p[0] == '4' || p[0] == '5') || p[1] != '.')
        return 0;
    p += 2;
    for (int part = 0; part < 2; part++) {
        size_t d = 0;
        while (isdigit((unsigned char)p[d]) && d < 3)
            d++;
        if (d == 0 || (part == 0 && p[d] != '.') || (part == 1 && isdigit((unsigned char)p[d])))
            return 0;
        p += d + (part == 0);
    }
    if (out)
        snprintf(out, size, "%.*s", (int)(p - v), v);
    return v[0];
}

/* The reply-code class of an "smtp; 550 ..." diagnostic, or 0. */
static char diagnostic_class(const char *diag)
{
    const char *p = strchr(diag, ';');
    p = p ? p + 1 : diag;
    while (*p == ' ')
        p++;
    if ((p[0] == '4' || p[0] == '5') && isdigit((unsigned char)p[1]) &&
        isdigit((unsigned char)p[2]))
        return p[0];
    return 0;
}

/* One per-recipient block of a delivery-status part: kept when worse than the one before. */
static void read_recipient_block(struct walk *w, struct span blk)
{
    char action[32] = "", status[64] = "";
    header_get(blk, "Action", action, sizeof(action));
    header_get(blk, "Status", status, sizeof(status));
    if (!action[0] && !status[0])
        return; /* the per-message block */
    lower(action);
    int rank = strcmp(action, "failed") == 0 ? 3 : strcmp(action, "delayed") == 0 ? 2 : 1;
    if (!action[0] && status_class(status, NULL, 0) == '5')
        rank = 3;
    if (rank <= w->best_rank)
        return;
    w->best_rank = rank;
    struct mail_bounce_report *r = w->r;
    snprintf(r->action, sizeof(r->action), "%.15s", action);
    r->status[0] = '\0';
    status_class(status, r->status, sizeof(r->status));
    header_get(blk, "Diagnostic-Code", r->diagnostic, sizeof(r->diagnostic));
    char v[MAIL_BOUNCE_TEXT_MAX];
    w->final_rcpt[0] = '\0';
    if (header_get(blk, "Final-Recipient", v, sizeof(v)))
        extract_addr(v, w->final_rcpt, sizeof(w->final_rcpt));
    if (!w->final_rcpt[0] && header_get(blk, "Original-Recipient", v, sizeof(v)))
        extract_addr(v, w->final_rcpt, sizeof(w->final_rcpt));
}

/* A message/delivery-status body: blocks of fields separated by empty lines. */
static void read_dsn(struct walk *w, struct span body)
{
    size_t pos = 0, start = 0, blk_start = 0;
    struct span line;
    w->saw_dsn = true;
    for (;;) {
        start = pos;
        bool more = next_line(body, &pos, &line);
        if (!more || line.n == 0) {
            if (start > blk_start)
                read_recipient_block(w, (struct span){body.p + blk_start, start - blk_start});
            blk_start = pos;
        }
        if (!more)
            break;
    }
}

static void read_arf(struct walk *w, struct span body)
{
    char v[MAIL_BOUNCE_TEXT_MAX];
    struct mail_bounce_report *r = w->r;
    w->saw_arf = true;
    if (header_get(body, "Feedback-Type", v, sizeof(v))) {
        snprintf(r->feedback_type, sizeof(r->feedback_type), "%.31s", v);
        lower(r->feedback_type);
    }
    if (header_get(body, "Original-Mail-From", v, sizeof(v)))
        add_verp(r, v);
    if (!w->arf_rcpt[0] && header_get(body, "Original-Rcpt-To", v, sizeof(v)))
        extract_addr(v, w->arf_rcpt, sizeof(w->arf_rcpt));
    if (!w->arf_rcpt[0] && header_get(body, "Removal-Recipient", v, sizeof(v)))
        extract_addr(v, w->arf_rcpt, sizeof(w->arf_rcpt));
}

static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Decodes base64, skipping anything outside the alphabet; NULL on allocation failure. */
static char *b64_decode(struct span in, size_t *out_len)
{
    char *out = malloc(in.n / 4 * 3 + 4);
    if (!out)
        return NULL;
    unsigned acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < in.n; i++) {
        int v = b64_value((unsigned char)in.p[i]);
        if (v < 0)
            continue;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    *out_len = n;
    return out;
}

static void walk_multipart(struct walk *w, struct span body, const char *boundary, int depth);

/* One MIME entity (a part's headers and body): dispatched on its content type. */
static void walk_entity(struct walk *w, struct span ent, int depth)
{
    struct span hdrs, body;
    struct ctype ct;
    split_message(ent, &hdrs, &body);
    parse_ctype(hdrs, &ct);
    char *decoded = NULL;
    if (strcmp(ct.encoding, "base64") == 0) {
        size_t n = 0;
        if (!(decoded = b64_decode(body, &n)))
            return;
        body = (struct span){decoded, n};
    }
    if (strncmp(ct.type, "multipart/", 10) == 0 && ct.boundary[0] && depth < MAX_DEPTH)
        walk_multipart(w, body, ct.boundary, depth + 1);
    else if (strcmp(ct.type, "message/delivery-status") == 0 ||
             strcmp(ct.type, "message/global-delivery-status") == 0)
        read_dsn(w, body);
    else if (strcmp(ct.type, "message/feedback-report") == 0)
        read_arf(w, body);
    else if (strcmp(ct.type, "message/rfc822") == 0 || strcmp(ct.type, "message/global") == 0)
        read_original(w, body);
    else if (strcmp(ct.type, "text/rfc822-headers") == 0 ||
             strcmp(ct.type, "message/rfc822-headers") == 0 ||
             strcmp(ct.type, "message/global-headers") == 0)
        read_original(w, (struct span){body.p, body.n}); /* headers only: no body follows */
    free(decoded);
}

static bool is_delimiter(struct span line, const char *boundary, size_t blen, bool *close)
{
    if (line.n < blen + 2 || line.p[0] != '-' || line.p[1] != '-' ||
        memcmp(line.p + 2, boundary, blen) != 0)
        return false;
    *close = line.n >= blen + 4 && line.p[blen + 2] == '-' && line.p[blen + 3] == '-';
    return true;
}

static void walk_multipart(struct walk *w, struct span body, const char *boundary, int depth)
{
    size_t blen = strlen(boundary), pos = 0, start = 0;
    const char *part = NULL;
    int parts = 0;
    struct span line;
    bool close = false;
    while (start = pos, next_line(body, &pos, &line)) {
        if (!is_delimiter(line, boundary, blen, &close))
            continue;
        if (part) {
            const char *end = body.p + start;
            if (end > part && end[-1] == '\n')
                end--;
            if (end > part && end[-1] == '\r')
                end--;
            walk_entity(w, (struct span){part, (size_t)(end - part)}, depth);
            if (++parts >= MAX_PARTS)
                return;
        }
        if (close)
            return;
        part = body.p + pos;
    }
    if (part) /* no closing delimiter: the rest is the last part */
        walk_entity(w, (struct span){part, (size_t)(body.p + body.n - part)}, depth);
}

/* The kind from what the walk found (rules in bounce.h). */
static enum mail_bounce_kind classify(const struct walk *w)
{
    const struct mail_bounce_report *r = w->r;
    if (w->saw_dsn && w->best_rank >= 2) {
        if (w->best_rank == 2)
            return MAIL_BOUNCE_SOFT;
        char cls = r->status[0] ? r->status[0] : diagnostic_class(r->diagnostic);
        return cls == '4' ? MAIL_BOUNCE_SOFT : MAIL_BOUNCE_HARD;
    }
    if (w->saw_dsn && w->best_rank == 1 && r->status[0] == '4')
        return MAIL_BOUNCE_SOFT;
    if (w->saw_arf && strcmp(r->feedback_type, "abuse") == 0)
        return MAIL_BOUNCE_COMPLAINT;
    return MAIL_BOUNCE_NONE;
}

void mail_bounce_parse(const char *msg, size_t len, struct mail_bounce_report *out)
{
    memset(out, 0, sizeof(*out));
    struct walk w = {.r = out};
    struct span m = {msg ? msg : "", msg ? len : 0}, hdrs, body;
    split_message(m, &hdrs, &body);
    char v[1024];
    header_get(hdrs, "Message-ID", out->report_id, sizeof(out->report_id));
    static const char *const to_headers[] = {"X-Original-To", "Delivered-To", "Envelope-To", "To"};
    for (size_t i = 0; i < sizeof(to_headers) / sizeof(to_headers[0]); i++)
        if (header_get(hdrs, to_headers[i], v, sizeof(v)))
            add_verp(out, v);
    walk_entity(&w, m, 0);
    out->kind = classify(&w);
    const char *rcpt = w.final_rcpt[0] ? w.final_rcpt : w.arf_rcpt[0] ? w.arf_rcpt : w.orig_to;
    snprintf(out->recipient, sizeof(out->recipient), "%s", rcpt);
    if (out->kind == MAIL_BOUNCE_COMPLAINT)
        snprintf(out->detail, sizeof(out->detail), "feedback-type %s", out->feedback_type);
    else if (out->kind != MAIL_BOUNCE_NONE)
        snprintf(out->detail, sizeof(out->detail), "%s%s%s", out->status[0] ? out->status : "",
                 out->status[0] && out->diagnostic[0] ? " " : "", out->diagnostic);
}

static const char *const kind_names[] = {
    [MAIL_BOUNCE_NONE] = "none",
    [MAIL_BOUNCE_SOFT] = "soft",
    [MAIL_BOUNCE_HARD] = "hard",
    [MAIL_BOUNCE_COMPLAINT] = "complaint",
};

const char *mail_bounce_kind_name(enum mail_bounce_kind kind)
{
    return kind <= MAIL_BOUNCE_COMPLAINT ? kind_names[kind] : "none";
}

enum herald_err mail_bounce_kind_parse(const char *name, enum mail_bounce_kind *out)
{
    for (int k = MAIL_BOUNCE_SOFT; k <= MAIL_BOUNCE_COMPLAINT; k++)
        if (name && strcmp(name, kind_names[k]) == 0) {
            *out = (enum mail_bounce_kind)k;
            return HERALD_OK;
        }
    return HERALD_ERR_INVALID;
}

bool mail_bounce_local_token(const char *addr, const char *prefix, char out[MAIL_TOKEN_MAX])
{
    while (*addr == ' ' || *addr == '<')
        addr++;
    size_t plen = strlen(prefix), n = 0;
    if (strncasecmp(addr, prefix, plen) != 0 || addr[plen] != '+')
        return false;
    const char *t = addr + plen + 1;
    while (is_b32(t[n]) && n + 1 < MAIL_TOKEN_MAX)
        n++;
    if (n == 0 || t[n] != '@')
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)t[i]);
    out[n] = '\0';
    return true;
}

/* Contact and campaign of a token of `kind`; false when it does not verify. */
static bool token_ids(const struct mail_keyring *keys, enum mail_token_kind kind, const char *tok,
                      int64_t now_s, struct mail_bounce_input *in)
{
    struct mail_token t;
    if (!tok || !*tok || mail_token_parse(keys, kind, tok, NULL, now_s, &t) != HERALD_OK)
        return false;
    in->contact_id = t.contact_id;
    in->campaign_id = t.campaign_id;
    return t.contact_id > 0;
}

enum herald_err mail_bounce_resolve(const struct mail_keyring *keys,
                                    const struct mail_bounce_report *r, const char *envelope_token,
                                    bool by_email, int64_t now_s, struct mail_bounce_input *in)
{
    memset(in, 0, sizeof(*in));
    in->kind = r->kind;
    in->report_id = r->report_id[0] ? r->report_id : NULL;
    in->detail = r->detail[0] ? r->detail : NULL;
    if (token_ids(keys, MAIL_TOKEN_BOUNCE, envelope_token, now_s, in))
        return HERALD_OK;
    for (int i = 0; i < r->nverp; i++)
        if (token_ids(keys, MAIL_TOKEN_BOUNCE, r->verp[i], now_s, in))
            return HERALD_OK;
    if (token_ids(keys, MAIL_TOKEN_UNSUBSCRIBE, r->unsub, now_s, in))
        return HERALD_OK;
    if (!by_email || !r->recipient[0])
        return HERALD_ERR_NOT_FOUND;
    in->email = r->recipient;
    return HERALD_OK;
}

/* ---- recording ---- */

struct record {
    const struct mail_bounce_input *in;
    int64_t now_ms;
    struct mail_bounce_outcome *out;
    struct store_fb_contact ct;
    int64_t queue_id;
    char key[2 * CRYPTO_SHA256_LEN + 1];
};

/* The identity of a report: (kind, contact, campaign, Message-ID or UTC day). */
static void report_key(struct record *rec)
{
    const struct mail_bounce_input *in = rec->in;
    char ident[MAIL_BOUNCE_TEXT_MAX + 128];
    if (in->report_id && *in->report_id)
        snprintf(ident, sizeof(ident), "%s|%" PRId64 "|%" PRId64 "|id:%.*s",
                 mail_bounce_kind_name(in->kind), rec->ct.id, in->campaign_id, MAIL_BOUNCE_TEXT_MAX,
                 in->report_id);
    else
        snprintf(ident, sizeof(ident), "%s|%" PRId64 "|%" PRId64 "|day:%" PRId64,
                 mail_bounce_kind_name(in->kind), rec->ct.id, in->campaign_id,
                 rec->now_ms / 86400000);
    crypto_sha256_hex(ident, rec->key);
}

static enum herald_err record_event(struct store_conn *c, struct record *rec,
                                    enum mail_event_type type, const char *detail)
{
    char source[64];
    if (rec->queue_id > 0)
        snprintf(source, sizeof(source), "%" PRId64, rec->queue_id);
    else
        snprintf(source, sizeof(source), "c%" PRId64 ":%.16s", rec->ct.id, rec->key);
    json_t *pl = json_pack("{s:I, s:s, s:s?}", "contactId", (json_int_t)rec->ct.id, "kind",
                           type == MAIL_EV_COMPLAINED ? "complaint" : "hard", "detail", detail);
    char *payload = pl ? json_dumps(pl, JSON_COMPACT) : NULL;
    json_decref(pl);
    if (!payload)
        return HERALD_ERR_NOMEM;
    struct mail_event ev = {type,   rec->in->campaign_id, rec->ct.email,
                            source, rec->now_ms,          payload};
    enum herald_err rc = mail_events_insert(c, &ev, 1, rec->now_ms);
    free(payload);
    return rc;
}

static enum herald_err record_hard(struct store_conn *c, struct record *rec, const char *detail)
{
    int rc = store_feedback_set_delivery(c, rec->ct.id, "bounced", rec->now_ms);
    if (!rc && rec->queue_id > 0)
        rc = store_feedback_queue_bounced(c, rec->queue_id, detail, rec->now_ms);
    if (!rc)
        rc = store_feedback_insert(c, rec->in->campaign_id, rec->ct.id, rec->queue_id,
                                   "bounce_hard", NULL, detail, rec->now_ms);
    if (!rc)
        rc = record_event(c, rec, MAIL_EV_BOUNCED, detail);
    rec->out->recorded = MAIL_BOUNCE_HARD;
    return rc;
}

static enum herald_err record_kind(struct store_conn *c, struct record *rec)
{
    const struct mail_bounce_input *in = rec->in;
    int64_t count = 0;
    int rc;
    switch (in->kind) {
    case MAIL_BOUNCE_HARD:
        return record_hard(c, rec, in->detail);
    case MAIL_BOUNCE_SOFT: /* counted before its own row: the count looks at the previous one */
        rc = store_feedback_soft_bounce(c, rec->ct.id, rec->now_ms, &count);
        if (!rc)
            rc = store_feedback_insert(c, in->campaign_id, rec->ct.id, rec->queue_id, "bounce_soft",
                                       NULL, in->detail, rec->now_ms);
        rec->out->recorded = MAIL_BOUNCE_SOFT;
        if (!rc && count >= MAIL_BOUNCE_SOFT_LIMIT && strcmp(rec->ct.delivery, "ok") == 0)
            rc = record_hard(c, rec, "3 soft bounces in a row");
        return rc;
    case MAIL_BOUNCE_COMPLAINT:
        rc = store_feedback_set_delivery(c, rec->ct.id, "complained", rec->now_ms);
        if (!rc)
            rc = store_feedback_insert(c, in->campaign_id, rec->ct.id, rec->queue_id, "complaint",
                                       NULL, in->detail, rec->now_ms);
        if (!rc)
            rc = record_event(c, rec, MAIL_EV_COMPLAINED, in->detail);
        rec->out->recorded = MAIL_BOUNCE_COMPLAINT;
        return rc;
    default:
        return HERALD_ERR_INVALID;
    }
}

static int record_tx(struct store_conn *c, void *arg)
{
    struct record *rec = arg;
    const struct mail_bounce_input *in = rec->in;
    struct mail_bounce_outcome *out = rec->out;
    memset(out, 0, sizeof(*out));
    rec->queue_id = 0;
    int rc = in->contact_id > 0 ? store_feedback_contact_get(c, in->contact_id, &rec->ct)
             : in->email        ? store_feedback_contact_by_email(c, in->email, &rec->ct)
                                : HERALD_ERR_NOT_FOUND;
    if (rc)
        return rc;
    out->contact_id = rec->ct.id;
    out->campaign_id = in->campaign_id;
    snprintf(out->email, sizeof(out->email), "%s", rec->ct.email);
    report_key(rec);
    bool fresh = false;
    char qstatus[16];
    rc = store_feedback_claim_report(c, rec->key, mail_bounce_kind_name(in->kind), rec->ct.id,
                                     in->campaign_id, rec->now_ms, &fresh);
    if (!rc && fresh)
        rc = store_feedback_queue_row(c, in->campaign_id, rec->ct.id, &rec->queue_id, qstatus);
    if (!rc && fresh)
        rc = record_kind(c, rec);
    out->duplicate = !fresh;
    if (!rc)
        rc = store_feedback_contact_get(c, rec->ct.id, &rec->ct);
    if (!rc) {
        out->soft_bounces = rec->ct.soft_bounces;
        snprintf(out->delivery, sizeof(out->delivery), "%s", rec->ct.delivery);
    }
    return rc;
}

enum herald_err mail_bounce_record(struct store *st, const struct mail_bounce_input *in,
                                   int64_t now_ms, struct mail_bounce_outcome *out)
{
    if (in->kind == MAIL_BOUNCE_NONE || in->kind > MAIL_BOUNCE_COMPLAINT)
        return HERALD_ERR_INVALID;
    struct record rec = {.in = in, .now_ms = now_ms, .out = out};
    return store_run_tx(st, record_tx, &rec);
}
