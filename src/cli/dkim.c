/* herald dkim keygen: writes a new DKIM private key (mail/dkim.h, mode 0600, never
 * overwriting) and prints the DNS TXT record to publish for it. Also the transport's wiring:
 * its narrow options from the configuration, opened by `serve` (cli_transport_open). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "mail/dkim.h"
#include "mail/transport.h"

static const char usage[] =
    "usage: herald dkim keygen --domain DOMAIN --selector SELECTOR [--type rsa|ed25519]\n"
    "                          [--bits 2048] [--out FILE]\n\n"
    "Writes a new DKIM private key to FILE (default dkim-SELECTOR.DOMAIN.pem, mode 0600; an\n"
    "existing file is never overwritten) and prints the DNS TXT record to publish:\n"
    "  name: SELECTOR._domainkey.DOMAIN\n"
    "  value: \"v=DKIM1; k=rsa; p=...\" (split in strings of at most 255 characters)\n"
    "Then set HERALD_DKIM_KEY_FILE, HERALD_DKIM_DOMAIN and HERALD_DKIM_SELECTOR (for an\n"
    "Ed25519 key: HERALD_DKIM_ED25519_KEY_FILE and HERALD_DKIM_ED25519_SELECTOR).\n";

struct keygen_args {
    const char *domain, *selector, *out;
    enum mail_dkim_key_type type;
    int bits;
};

static bool name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 200 || s[0] == '.' || s[0] == '-')
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.' || *p == '_'))
            return false;
    return true;
}

/* 0 when parsed; otherwise prints why and returns 2. */
static int parse_args(int argc, char **argv, struct keygen_args *a)
{
    *a = (struct keygen_args){.type = MAIL_DKIM_RSA, .bits = 2048};
    for (int i = 2; i < argc; i += 2) { /* --option value pairs */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            goto bad;
        if (!strcmp(argv[i], "--domain"))
            a->domain = v;
        else if (!strcmp(argv[i], "--selector"))
            a->selector = v;
        else if (!strcmp(argv[i], "--out"))
            a->out = v;
        else if (!strcmp(argv[i], "--bits"))
            a->bits = atoi(v);
        else if (!strcmp(argv[i], "--type") && (!strcmp(v, "rsa") || !strcmp(v, "ed25519")))
            a->type = strcmp(v, "rsa") ? MAIL_DKIM_ED25519 : MAIL_DKIM_RSA;
        else
            goto bad;
    }
    if (name_ok(a->domain) && name_ok(a->selector) && (a->bits >= 1024 && a->bits <= 4096))
        return 0;
bad:
    fputs(usage, stderr);
    return 2;
}

/* The TXT value as quoted strings of at most 255 characters (RFC 1035 character-strings). */
static void print_record(const struct keygen_args *a, const char *txt)
{
    printf("name: %s._domainkey.%s\nvalue:", a->selector, a->domain);
    for (size_t off = 0, n = strlen(txt); off < n; off += 255)
        printf(" \"%.255s\"", txt + off);
    printf("\n");
}

int cli_dkim(struct app *app, int argc, char **argv)
{
    (void)app;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    struct keygen_args a;
    if (argc < 2 || strcmp(argv[1], "keygen") != 0 || parse_args(argc, argv, &a)) {
        if (argc < 2 || strcmp(argv[1], "keygen") != 0)
            fputs(usage, stderr);
        return 2;
    }
    char def[512];
    snprintf(def, sizeof(def), "dkim-%s.%s.pem", a.selector, a.domain);
    const char *path = a.out ? a.out : def;
    struct buf txt;
    buf_init(&txt, 4096);
    struct herald_error err = {0};
    enum herald_err rc = mail_dkim_keygen(a.type, a.bits, path, &txt, &err);
    if (rc) {
        fprintf(stderr, "herald: dkim keygen: %s\n",
                err.code ? herald_error_message(&err) : herald_strerror(rc));
    } else {
        fprintf(stderr, "herald: wrote %s (mode 0600); publish the TXT record below\n", path);
        print_record(&a, txt.data);
    }
    buf_free(&txt);
    return rc ? 1 : 0;
}

/* The transport's options from the configuration (strings borrowed from cfg). */
static enum herald_err transport_opts(const struct cfg *cfg, struct mail_transport_opts *o,
                                      struct herald_error *err)
{
    *o = (struct mail_transport_opts){
        .smtp = {.url = cfg->smtp_url,
                 .user = cfg->smtp_user,
                 .password = cfg->smtp_password,
                 .workers = cfg->smtp_workers,
                 .timeout_ms = cfg->smtp_timeout_ms},
        .dkim = {.domain = cfg->dkim_domain,
                 .selector = cfg->dkim_selector,
                 .key_file = cfg->dkim_key_file,
                 .ed25519_selector = cfg->dkim_ed25519_selector,
                 .ed25519_key_file = cfg->dkim_ed25519_key_file},
    };
    if (mail_smtp_parse_tls(cfg->smtp_starttls, &o->smtp.tls))
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_SMTP_STARTTLS",
                                "HERALD_SMTP_STARTTLS must be opportunistic, required or off");
    if (mail_smtp_parse_rate(cfg->smtp_rate, &o->smtp.rate))
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_SMTP_RATE",
                                "HERALD_SMTP_RATE must be off or a rate like 100/s");
    if (mail_smtp_parse_rate(cfg->smtp_domain_rate, &o->smtp.domain_rate))
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_SMTP_DOMAIN_RATE",
                                "HERALD_SMTP_DOMAIN_RATE must be off or a rate like 10/s");
    return HERALD_OK;
}

enum herald_err cli_transport_open(const struct cfg *cfg, struct mail_transport **out)
{
    *out = NULL;
    if (!cfg->smtp_url || !*cfg->smtp_url)
        return HERALD_OK; /* sending not configured: Herald serves without it */
    struct mail_transport_opts o;
    struct herald_error err = {0};
    enum herald_err rc = transport_opts(cfg, &o, &err);
    if (!rc)
        rc = mail_transport_open(&o, out, &err);
    if (rc)
        fprintf(stderr, "herald: cannot start the mail transport: %s\n",
                err.code ? herald_error_message(&err) : herald_strerror(rc));
    return rc;
}

void cli_transport_close(struct mail_transport *t)
{
    mail_transport_stop(t);
    mail_transport_close(t);
}
