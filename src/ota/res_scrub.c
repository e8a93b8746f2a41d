/* Card data never leaves the reservation parser: payment subtrees are wiped and removed from
 * the tree before any field is read, and card-like digit runs in free text are masked. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "ota/res_parse_internal.h"

/* Elements whose whole subtree is payment data (OpenTravel PaymentFormType, GuaranteeType and
 * the channels' own variants). */
static const char *const payment_elements[] = {
    "Guarantee",        "GuaranteesAccepted", "GuaranteeAccepted", "PaymentCard",
    "CardNumber",       "SeriesCode",         "CardHolderName",    "PaymentForm",
    "DepositPayments",  "BankAcct",           "DirectBill",        "Voucher",
    "CardSecurityCode", "CardIssuerName",     "PaymentCards",      "VirtualCreditCard",
    "AcceptedPayments", "AcceptedPayment",    "Payments",          "Payment",
};

#define NPAYMENT (sizeof(payment_elements) / sizeof(payment_elements[0]))

/* Every element of every message is checked: comparing the first letter and the length first
 * rules most names out without a full string comparison. */
static bool is_payment(const xmlNode *n)
{
    if (!n || n->type != XML_ELEMENT_NODE)
        return false;
    const char *name = ota_xml_name(n);
    size_t len = strlen(name);
    for (size_t i = 0; i < NPAYMENT; i++)
        if (payment_elements[i][0] == name[0] && strlen(payment_elements[i]) == len &&
            memcmp(name, payment_elements[i], len) == 0)
            return true;
    return false;
}

static void wipe_string(xmlDoc *doc, xmlChar *s)
{
    if (!s)
        return;
    if (doc && doc->dict && xmlDictOwns(doc->dict, s))
        return; /* interned (short or whitespace) text: not ours to overwrite */
    memset(s, 0, strlen((const char *)s));
}

/* Overwrites every text and attribute value under n before it is freed. */
static void wipe_subtree(xmlNode *n)
{
    xmlNode *cur = n;
    while (cur) {
        if (cur->type == XML_TEXT_NODE || cur->type == XML_CDATA_SECTION_NODE)
            wipe_string(cur->doc, cur->content);
        if (cur->type == XML_ELEMENT_NODE)
            for (xmlAttr *a = cur->properties; a; a = a->next)
                for (xmlNode *t = a->children; t; t = t->next)
                    wipe_string(t->doc, t->content);
        if (cur->type == XML_ELEMENT_NODE && cur->children) {
            cur = cur->children;
            continue;
        }
        while (cur && cur != n && !cur->next)
            cur = cur->parent;
        cur = (cur && cur != n) ? cur->next : NULL;
    }
}

size_t ota_scrub_payment(xmlNode *root)
{
    size_t dropped = 0;
    xmlNode *cur = root ? root->children : NULL;
    while (cur) {
        if (is_payment(cur)) {
            xmlNode *victim = cur;
            /* Step past the victim before unlinking it. */
            while (cur && cur != root && !cur->next)
                cur = cur->parent;
            cur = (cur && cur != root) ? cur->next : NULL;
            wipe_subtree(victim);
            xmlUnlinkNode(victim);
            xmlFreeNode(victim);
            dropped++;
            continue;
        }
        if (cur->type == XML_ELEMENT_NODE && cur->children) {
            cur = cur->children;
            continue;
        }
        while (cur && cur != root && !cur->next)
            cur = cur->parent;
        cur = (cur && cur != root) ? cur->next : NULL;
    }
    return dropped;
}

static bool luhn_ok(const char *digits, size_t n)
{
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = digits[n - 1 - i] - '0';
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* From s[0] (a digit), the length in bytes of a digit run allowing single spaces/dashes
 * between digits: "4111 1111-1111 1111 123" is one run. */
static size_t digit_run(const char *s)
{
    size_t i = 0, last = 0;
    while (s[i]) {
        if (is_digit(s[i]))
            last = ++i;
        else if ((s[i] == ' ' || s[i] == '-') && is_digit(s[i + 1]))
            i++;
        else
            break;
    }
    return last;
}

/* Up to 19 digits of s[0..len), separators skipped. */
static size_t next_digits(const char *s, size_t len, char out[19])
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < 19; i++)
        if (is_digit(s[i]))
            out[n++] = s[i];
    return n;
}

/* Masks every digit of s[0..len) that lies in a 13-19 digit window passing Luhn. Windows, not
 * the whole run: a card typed next to its CVV, its expiry or a room number forms a longer run
 * that would itself fail Luhn. Each window is read before any of its digits is overwritten,
 * since digits are masked only once every window starting at or before them was checked. */
static void mask_run(char *s, size_t len)
{
    size_t pending = 0; /* digits still to mask, counted from the current one */
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            continue;
        char w[19];
        size_t n = next_digits(s + i, len - i, w);
        for (size_t l = 13; l <= n; l++)
            if (l > pending && luhn_ok(w, l))
                pending = l;
        if (pending) {
            s[i] = 'X';
            pending--;
        }
    }
}

void ota_mask_card_runs(char *s)
{
    if (!s)
        return;
    for (size_t i = 0; s[i];) {
        if (!is_digit(s[i])) {
            i++;
            continue;
        }
        size_t len = digit_run(s + i);
        mask_run(s + i, len);
        i += len;
    }
}

/* The local name of the tag starting at s ('<' already skipped): after an optional prefix. */
static size_t tag_name(const char *s, const char **local, size_t *local_len)
{
    size_t i = 0;
    while (s[i] && s[i] != '>' && s[i] != '/' && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
           s[i] != '\n')
        i++;
    const char *colon = memchr(s, ':', i);
    *local = colon ? colon + 1 : s;
    *local_len = (size_t)(s + i - *local);
    return i;
}

static bool payment_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(payment_elements) / sizeof(payment_elements[0]); i++)
        if (strlen(payment_elements[i]) == len && memcmp(payment_elements[i], name, len) == 0)
            return true;
    return false;
}

/* Where the payment element opened at s ('<' + qualified name of qlen bytes) ends: after its
 * "/>" or its matching close tag; the end of the text when it is not closed (cut it all). */
static const char *payment_end(const char *s, size_t qlen)
{
    const char *gt = strchr(s, '>');
    if (!gt)
        return s + strlen(s);
    if (gt > s && gt[-1] == '/')
        return gt + 1;
    for (const char *p = gt; (p = strstr(p, "</")) != NULL; p += 2)
        if (strncmp(p + 2, s + 1, qlen) == 0 && p[2 + qlen] == '>')
            return p + 3 + qlen;
    return s + strlen(s);
}

char *ota_scrub_raw_copy(const char *body, size_t max)
{
    if (!body)
        return NULL;
    struct buf b;
    buf_init(&b, max + 64);
    enum herald_err rc = HERALD_OK;
    const char *p = body, *end = body + strnlen(body, max);
    while (p < end && !rc) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt) {
            rc = buf_append(&b, p, (size_t)(end - p));
            break;
        }
        rc = buf_append(&b, p, (size_t)(lt - p));
        const char *local;
        size_t local_len, qlen = tag_name(lt + 1, &local, &local_len);
        if (!payment_name(local, local_len)) {
            rc = rc ? rc : buf_append(&b, "<", 1);
            p = lt + 1;
            continue;
        }
        rc = rc ? rc : buf_append_str(&b, "<!-- payment data removed -->");
        p = payment_end(lt, qlen);
        if (p > end)
            p = end;
    }
    char *out = NULL;
    size_t len;
    if (rc || buf_steal(&b, &out, &len)) {
        buf_free(&b);
        return NULL;
    }
    ota_mask_card_runs(out);
    return out;
}
