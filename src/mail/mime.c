/* Message building (mime.h): header syntax (addresses, phrases, RFC 2047 encoded-words,
 * folding), Date and Message-ID, the multipart/alternative frame, quoted-printable bodies. */
#include "mail/mime.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/crypto.h"

#define ADDR_MAX 254
#define LINE_SOFT 78  /* fold header lines here when a space allows */
#define EW_PAYLOAD 45 /* bytes per encoded-word: 60 base64 chars + 12 = 72 <= 75 */
#define QP_LINE 76
#define CHUNK 4096

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char hex[] = "0123456789ABCDEF";

/* Headers this module writes itself: an extra header may not repeat them. */
static const char *own_headers[] = {"from",
                                    "to",
                                    "cc",
                                    "bcc",
                                    "reply-to",
                                    "subject",
                                    "date",
                                    "message-id",
                                    "mime-version",
                                    "content-type",
                                    "content-transfer-encoding",
                                    "list-unsubscribe",
                                    "list-unsubscribe-post",
                                    "dkim-signature",
                                    "return-path",
                                    NULL};

static bool has_crlf(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

static bool is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool ascii_printable(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return false;
    return true;
}

/* Well-formed UTF-8 without control characters other than tab. */
static bool utf8_text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80             ? 0
                : (*p & 0xe0) == 0xc0 ? 1
                : (*p & 0xf0) == 0xe0 ? 2
                : (*p & 0xf8) == 0xf0 ? 3
                                      : -1;
        if (n < 0 || (*p < 0x20 && *p != '\t') || *p == 0x7f || (n == 1 && *p < 0xc2))
            return false;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xc0) != 0x80)
                return false;
    }
    return true;
}

int mail_mime_address_ok(const char *s)
{
    if (!s || !*s || strlen(s) > ADDR_MAX)
        return 0;
    const char *at = strrchr(s, '@');
    if (!at || at == s || !at[1] || strchr(s, '@') != at)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"<>(),;:\\[]", *p))
            return 0;
    return at[1] != '.' && s[strlen(s) - 1] != '.';
}

static bool domain_ok(const char *d)
{
    size_t n = d ? strlen(d) : 0;
    if (n == 0 || n > 200)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z') ||
              (d[i] >= '0' && d[i] <= '9') || d[i] == '-' || d[i] == '.'))
            return false;
    return true;
}

enum herald_err mail_mime_message_id(const char *domain, char out[MIME_MESSAGE_ID_MAX])
{
    if (!domain_ok(domain))
        return HERALD_ERR_INVALID;
    uint8_t r[16];
    enum herald_err rc = crypto_random(r, sizeof(r));
    if (rc)
        return rc;
    char *o = out;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < sizeof(r); i++) {
        acc = (acc << 8) | r[i];
        bits += 8;
        while (bits >= 5) {
            *o++ = b32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits)
        *o++ = b32[(acc << (5 - bits)) & 31];
    *o++ = '@';
    memcpy(o, domain, strlen(domain) + 1);
    return HERALD_OK;
}

/* ---- header writing ------------------------------------------------------------------- */

/* Tracks the length of the current header line to fold at LINE_SOFT. */
struct hdr {
    struct buf *b;
    size_t col;
};

static enum herald_err hdr_start(struct hdr *h, const char *name)
{
    h->col = strlen(name) + 2;
    enum herald_err rc = buf_append_str(h->b, name);
    return rc ? rc : buf_append(h->b, ": ", 2);
}

/* Appends a token that must not be broken, preceded by a space (folded before it when the
 * line would pass LINE_SOFT) unless it is the first token of the value. */
static enum herald_err hdr_token(struct hdr *h, const char *s, size_t n, bool space)
{
    enum herald_err rc = HERALD_OK;
    if (space && h->col + 1 + n > LINE_SOFT) {
        rc = buf_append(h->b, "\r\n ", 3);
        h->col = 1;
    } else if (space) {
        rc = buf_append(h->b, " ", 1);
        h->col++;
    }
    h->col += n;
    return rc ? rc : buf_append(h->b, s, n);
}

static enum herald_err hdr_end(struct hdr *h)
{
    return buf_append(h->b, "\r\n", 2);
}

/* UTF-8 text as B encoded-words, each sized to keep its line within 76 characters (RFC
 * 2047 section 2) and never splitting a character. */
static enum herald_err hdr_encoded(struct hdr *h, const char *s, bool space)
{
    size_t len = strlen(s), i = 0;
    enum herald_err rc = HERALD_OK;
    while (!rc && i < len) {
        bool sp = space || i > 0;
        if (h->col + 1 + 12 + 8 > 76) {
            rc = buf_append(h->b, "\r\n", 2);
            h->col = 0; /* the word's leading space starts the continuation line */
            sp = true;
        }
        size_t room = 76 - h->col - (sp ? 1 : 0) - 12, n = room / 4 * 3;
        if (n > EW_PAYLOAD)
            n = EW_PAYLOAD;
        if (n > len - i)
            n = len - i;
        while (n > 0 && i + n < len && ((unsigned char)s[i + n] & 0xc0) == 0x80)
            n--;
        char word[EW_PAYLOAD / 3 * 4 + 16 + 1];
        memcpy(word, "=?UTF-8?B?", 10);
        crypto_b64((const uint8_t *)s + i, n, word + 10);
        size_t wl = strlen(word);
        memcpy(word + wl, "?=", 3);
        if (!rc)
            rc = hdr_token(h, word, wl + 2, sp);
        i += n;
    }
    return rc;
}

/* Unstructured ASCII text folded at its spaces (runs of spaces kept as one separator).
 * Falls back to encoded-words when a word would make a line longer than 998. */
static enum herald_err hdr_text(struct hdr *h, const char *s, bool space)
{
    bool ascii = ascii_printable(s);
    for (const char *p = s; ascii && *p;) {
        size_t n = strcspn(p, " ");
        ascii = n < 900;
        p += n + strspn(p + n, " ");
    }
    if (!ascii || !*s || s[0] == ' ' || strstr(s, "=?"))
        return *s ? hdr_encoded(h, s, space) : HERALD_OK;
    enum herald_err rc = HERALD_OK;
    for (const char *p = s; !rc && *p;) {
        size_t n = strcspn(p, " ");
        if (n)
            rc = hdr_token(h, p, n, space || p != s);
        p += n + strspn(p + n, " ");
    }
    return rc;
}

/* A display name: atoms as they are, other ASCII as a quoted-string, else encoded-words. */
static enum herald_err hdr_phrase(struct hdr *h, const char *s)
{
    bool atoms = true;
    for (const unsigned char *p = (const unsigned char *)s; *p && atoms; p++)
        atoms = is_atext(*p) || (*p == ' ' && p[1] && p[1] != ' ' && p != (const void *)s);
    if (atoms)
        return hdr_text(h, s, false);
    if (!ascii_printable(s) || strlen(s) > 200)
        return hdr_encoded(h, s, false);
    char q[2 * 200 + 3];
    size_t n = 0;
    q[n++] = '"';
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            q[n++] = '\\';
        q[n++] = *p;
    }
    q[n++] = '"';
    return hdr_token(h, q, n, false);
}

/* "Name <addr>" or "addr". */
static enum herald_err hdr_mailbox(struct buf *b, const char *field, const char *name,
                                   const char *addr)
{
    struct hdr h = {.b = b};
    enum herald_err rc = hdr_start(&h, field);
    if (!rc && name && *name) {
        rc = hdr_phrase(&h, name);
        char a[ADDR_MAX + 3];
        int n = snprintf(a, sizeof(a), "<%s>", addr);
        if (!rc)
            rc = hdr_token(&h, a, (size_t)n, true);
    } else if (!rc) {
        rc = hdr_token(&h, addr, strlen(addr), false);
    }
    return rc ? rc : hdr_end(&h);
}

static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static enum herald_err hdr_date(struct buf *b, int64_t ms)
{
    time_t t = (time_t)((ms ? ms : clock_now_ms()) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return buf_printf(b, "Date: %s, %d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
                      tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                      tm.tm_sec);
}

/* ---- validation ------------------------------------------------------------------------ */

static bool url_ok(const char *u)
{
    if (!u || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0) || strlen(u) > 900)
        return false;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>' || *p == '"')
            return false;
    return true;
}

static bool own_header(const char *name)
{
    for (int i = 0; own_headers[i]; i++)
        if (strcasecmp(name, own_headers[i]) == 0)
            return true;
    return false;
}

static bool header_name_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > 76 || own_header(n))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
              (n[i] >= '0' && n[i] <= '9') || n[i] == '-'))
            return false;
    return true;
}

#define BAD(field) herald_error_set(err, HERALD_ERR_INVALID, field, "%s is invalid", field)

static const char *mailto_addr(const char *m)
{
    return strncasecmp(m, "mailto:", 7) == 0 ? m + 7 : m;
}

static enum herald_err check_headers(const struct mime_message *m, struct herald_error *err)
{
    for (size_t i = 0; i < m->n_headers; i++) {
        const struct mime_header *x = &m->headers[i];
        if (!header_name_ok(x->name) || !x->value || has_crlf(x->value) || !utf8_text_ok(x->value))
            return herald_error_set(err, HERALD_ERR_INVALID, "headers",
                                    "headers[%zu] is invalid or reserved", i);
    }
    return HERALD_OK;
}

static enum herald_err check_message(const struct mime_message *m, struct herald_error *err)
{
    if (!mail_mime_address_ok(m->from_email))
        return BAD("from_email");
    if (!mail_mime_address_ok(m->to_email))
        return BAD("to_email");
    if (m->reply_to && *m->reply_to && !mail_mime_address_ok(m->reply_to))
        return BAD("reply_to");
    if (has_crlf(m->from_name) || (m->from_name && !utf8_text_ok(m->from_name)))
        return BAD("from_name");
    if (has_crlf(m->to_name) || (m->to_name && !utf8_text_ok(m->to_name)))
        return BAD("to_name");
    if (!m->subject || has_crlf(m->subject) || !utf8_text_ok(m->subject))
        return BAD("subject");
    if ((!m->html || !*m->html) && (!m->text || !*m->text))
        return herald_error_set(err, HERALD_ERR_INVALID, "html", "html or text is required");
    if (m->message_id && (has_crlf(m->message_id) || !mail_mime_address_ok(m->message_id)))
        return BAD("message_id");
    if (m->unsubscribe_url && *m->unsubscribe_url && !url_ok(m->unsubscribe_url))
        return BAD("unsubscribe_url");
    if (m->unsubscribe_mailto && *m->unsubscribe_mailto &&
        !mail_mime_address_ok(mailto_addr(m->unsubscribe_mailto)))
        return BAD("unsubscribe_mailto");
    return check_headers(m, err);
}

/* ---- quoted-printable bodies ------------------------------------------------------------ */

struct qp {
    struct buf *b;
    char out[CHUNK + 16];
    size_t n;   /* bytes in out */
    size_t col; /* characters on the current encoded line */
    enum herald_err rc;
};

static void qp_flush(struct qp *q)
{
    if (!q->rc && q->n)
        q->rc = buf_append(q->b, q->out, q->n);
    q->n = 0;
}

static void qp_put(struct qp *q, const char *s, size_t n)
{
    if (q->col + n > QP_LINE - 1) { /* keep room for the soft break's '=' */
        memcpy(q->out + q->n, "=\r\n", 3);
        q->n += 3;
        q->col = 0;
    }
    memcpy(q->out + q->n, s, n);
    q->n += n;
    q->col += n;
    if (q->n >= CHUNK)
        qp_flush(q);
}

static void qp_byte(struct qp *q, unsigned char c, bool line_end)
{
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end);
    if (literal) {
        char ch = (char)c;
        qp_put(q, &ch, 1);
        return;
    }
    char e[3] = {'=', hex[c >> 4], hex[c & 15]};
    qp_put(q, e, 3);
}

/* Encodes text with any line ending (LF, CRLF, CR) as CRLF lines of <= 76 characters. */
static enum herald_err qp_body(struct buf *b, const char *s)
{
    struct qp q = {.b = b};
    for (const unsigned char *p = (const unsigned char *)s; *p && !q.rc; p++) {
        if (*p == '\r' || *p == '\n') {
            if (*p == '\r' && p[1] == '\n')
                p++;
            memcpy(q.out + q.n, "\r\n", 2);
            q.n += 2;
            q.col = 0;
            if (q.n >= CHUNK)
                qp_flush(&q);
            continue;
        }
        qp_byte(&q, *p, p[1] == '\0' || p[1] == '\r' || p[1] == '\n');
    }
    memcpy(q.out + q.n, "\r\n", 2);
    q.n += 2;
    qp_flush(&q);
    return q.rc;
}

/* ---- the message ----------------------------------------------------------------------- */

static enum herald_err write_unsubscribe(struct buf *b, const struct mime_message *m)
{
    bool url = m->unsubscribe_url && *m->unsubscribe_url;
    bool mailto = m->unsubscribe_mailto && *m->unsubscribe_mailto;
    if (!url && !mailto)
        return HERALD_OK;
    enum herald_err rc = buf_append_str(b, "List-Unsubscribe:");
    if (!rc && url)
        rc = buf_printf(b, " <%s>%s", m->unsubscribe_url, mailto ? ",\r\n" : "");
    if (!rc && mailto)
        rc = buf_printf(b, " <mailto:%s>", mailto_addr(m->unsubscribe_mailto));
    if (!rc)
        rc = buf_append(b, "\r\n", 2);
    if (!rc && url)
        rc = buf_append_str(b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    return rc;
}

static enum herald_err write_text_header(struct buf *b, const char *name, const char *value)
{
    struct hdr h = {.b = b};
    enum herald_err rc = hdr_start(&h, name);
    if (!rc)
        rc = hdr_text(&h, value, false);
    return rc ? rc : hdr_end(&h);
}

static enum herald_err write_headers(struct buf *b, const struct mime_message *m, const char *mid)
{
    enum herald_err rc = buf_printf(b, "Message-ID: <%s>\r\n", mid);
    if (!rc)
        rc = hdr_date(b, m->date_ms);
    if (!rc)
        rc = hdr_mailbox(b, "From", m->from_name, m->from_email);
    if (!rc)
        rc = hdr_mailbox(b, "To", m->to_name, m->to_email);
    if (!rc && m->reply_to && *m->reply_to)
        rc = buf_printf(b, "Reply-To: %s\r\n", m->reply_to);
    if (!rc)
        rc = write_text_header(b, "Subject", m->subject);
    if (!rc)
        rc = buf_append_str(b, "MIME-Version: 1.0\r\n");
    if (!rc)
        rc = write_unsubscribe(b, m);
    for (size_t i = 0; !rc && i < m->n_headers; i++)
        rc = write_text_header(b, m->headers[i].name, m->headers[i].value);
    return rc;
}

static enum herald_err write_part(struct buf *b, const char *subtype, const char *body)
{
    enum herald_err rc = buf_printf(b,
                                    "Content-Type: text/%s; charset=utf-8\r\n"
                                    "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                                    subtype);
    return rc ? rc : qp_body(b, body);
}

static enum herald_err write_body(struct buf *b, const struct mime_message *m, const char *mid)
{
    bool html = m->html && *m->html, text = m->text && *m->text;
    if (!html || !text)
        return write_part(b, html ? "html" : "plain", html ? m->html : m->text);
    char bd[40];
    snprintf(bd, sizeof(bd), "=_hb_%.26s", mid); /* '=_' never occurs in QP output */
    enum herald_err rc =
        buf_printf(b,
                   "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n"
                   "--%s\r\n",
                   bd, bd);
    if (!rc)
        rc = write_part(b, "plain", m->text);
    if (!rc)
        rc = buf_printf(b, "--%s\r\n", bd);
    if (!rc)
        rc = write_part(b, "html", m->html);
    return rc ? rc : buf_printf(b, "--%s--\r\n", bd);
}

enum herald_err mail_mime_build(const struct mime_message *m, struct buf *out,
                                char message_id_out[MIME_MESSAGE_ID_MAX], struct herald_error *err)
{
    enum herald_err rc = check_message(m, err);
    if (rc)
        return rc;
    char mid[MIME_MESSAGE_ID_MAX];
    if (m->message_id) {
        if (strlen(m->message_id) >= sizeof(mid))
            return BAD("message_id");
        memcpy(mid, m->message_id, strlen(m->message_id) + 1);
    } else {
        const char *dom = m->message_id_domain && *m->message_id_domain
                              ? m->message_id_domain
                              : strrchr(m->from_email, '@') + 1;
        rc = mail_mime_message_id(dom, mid);
        if (rc)
            return rc == HERALD_ERR_INVALID ? BAD("message_id_domain") : rc;
    }
    rc = write_headers(out, m, mid);
    if (!rc)
        rc = write_body(out, m, mid);
    if (!rc && message_id_out)
        memcpy(message_id_out, mid, strlen(mid) + 1);
    return rc;
}
