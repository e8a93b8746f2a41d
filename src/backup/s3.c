/* Owns the S3 client: path-style URLs under one bucket and prefix, SigV4 signing through
 * libcurl, retries of 5xx and transport errors, and the ListObjectsV2 reading. */
#include "backup/s3.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/backoff.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/log.h"

#define S3_ATTEMPTS 3
#define S3_LIST_MAX ((size_t)8 << 20)

struct s3_client {
    char base[1024]; /* scheme://host[:port]/bucket */
    char bucket[256];
    char prefix[512];   /* without slashes at either end; may be empty */
    char sigv4[128];    /* aws:amz:REGION:s3 */
    char userpwd[1100]; /* ACCESS:SECRET; never logged */
    long timeout_ms;
};

static int read_trimmed(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return HERALD_ERR_IO;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    return n ? HERALD_OK : HERALD_ERR_CONFIG;
}

/* scheme://host/bucket[/prefix] into base, bucket and prefix. */
static int parse_url(struct s3_client *c, const char *url)
{
    const char *hs = strstr(url, "://");
    if (!hs || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)))
        return HERALD_ERR_CONFIG;
    const char *slash = strchr(hs + 3, '/');
    if (!slash || slash[1] == '\0' || slash[1] == '/')
        return HERALD_ERR_CONFIG;
    const char *bend = strchr(slash + 1, '/');
    size_t blen = bend ? (size_t)(bend - slash - 1) : strlen(slash + 1);
    if (blen >= sizeof(c->bucket) || (size_t)(slash - url) + blen + 2 >= sizeof(c->base))
        return HERALD_ERR_CONFIG;
    memcpy(c->bucket, slash + 1, blen);
    c->bucket[blen] = '\0';
    snprintf(c->base, sizeof(c->base), "%.*s", (int)(slash - url + 1 + blen), url);
    const char *p = bend ? bend + 1 : "";
    size_t plen = strlen(p);
    while (plen && p[plen - 1] == '/')
        plen--;
    if (plen >= sizeof(c->prefix))
        return HERALD_ERR_CONFIG;
    snprintf(c->prefix, sizeof(c->prefix), "%.*s", (int)plen, p);
    return HERALD_OK;
}

int s3_client_new(const struct s3_opts *opts, struct s3_client **out, struct herald_error *err)
{
    struct s3_client *c = calloc(1, sizeof(*c));
    char access[512] = "", secret[512] = "";
    int rc = HERALD_ERR_NOMEM;
    if (!c)
        goto done;
    rc = parse_url(c, opts->url);
    if (rc) {
        herald_error_set(err, rc, "HERALD_BACKUP_S3_URL",
                         "HERALD_BACKUP_S3_URL: expected https://HOST/BUCKET[/PREFIX]");
        goto done;
    }
    if (read_trimmed(opts->access_key_file, access, sizeof(access)) ||
        read_trimmed(opts->secret_key_file, secret, sizeof(secret))) {
        rc = herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_BACKUP_S3_ACCESS_KEY_FILE",
                              "cannot read the S3 credentials (HERALD_BACKUP_S3_ACCESS_KEY_FILE, "
                              "HERALD_BACKUP_S3_SECRET_KEY_FILE)");
        goto done;
    }
    snprintf(c->sigv4, sizeof(c->sigv4), "aws:amz:%s:s3", opts->region);
    snprintf(c->userpwd, sizeof(c->userpwd), "%s:%s", access, secret);
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
    *out = c;
    c = NULL;
done:
    memset(secret, 0, sizeof(secret));
    s3_client_free(c);
    return rc;
}

void s3_client_free(struct s3_client *c)
{
    if (!c)
        return;
    memset(c->userpwd, 0, sizeof(c->userpwd));
    free(c);
}

/* AWS's URI encoding: unreserved characters stay, everything else is %XX; '/' kept when
 * `keep_slash`. */
static void uri_encode(const char *in, bool keep_slash, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char ch = (unsigned char)*in;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/'))
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
    }
    out[o] = '\0';
}

static void object_url(const struct s3_client *c, const char *name, char *out, size_t cap)
{
    char key[1024], enc[3100];
    snprintf(key, sizeof(key), "%s%s%s", c->prefix, *c->prefix ? "/" : "", name);
    uri_encode(key, true, enc, sizeof(enc));
    snprintf(out, cap, "%s/%s", c->base, enc);
}

/* One request's inputs and outputs. */
struct s3_call {
    const char *method;
    const char *url;
    FILE *upload; /* PUT body, or NULL */
    int64_t upload_size;
    const char *payload_sha; /* hex SHA-256 of the body */
    FILE *download;          /* GET body goes here when set, else into `body` */
    struct buf body;
    long status;
};

static size_t to_buf(char *p, size_t sz, size_t n, void *arg)
{
    return buf_append(arg, p, sz * n) ? 0 : sz * n;
}

static int perform_once(const struct s3_client *c, struct s3_call *call)
{
    CURL *h = curl_easy_init();
    if (!h)
        return HERALD_ERR_NOMEM;
    char sha_hdr[128];
    snprintf(sha_hdr, sizeof(sha_hdr), "x-amz-content-sha256: %s", call->payload_sha);
    struct curl_slist *hdrs = curl_slist_append(NULL, sha_hdr);
    curl_easy_setopt(h, CURLOPT_URL, call->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(h, CURLOPT_USERPWD, c->userpwd);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (c->timeout_ms + 999) / 1000);
    if (call->upload) {
        rewind(call->upload);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READDATA, call->upload);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)call->upload_size);
    }
    if (!strcmp(call->method, "HEAD"))
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (call->download) {
        rewind(call->download);
        if (ftruncate(fileno(call->download), 0) != 0)
            call->status = 0;
        curl_easy_setopt(h, CURLOPT_WRITEDATA, call->download);
    } else {
        buf_reset(&call->body);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_buf);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &call->body);
    }
    CURLcode cc = curl_easy_perform(h);
    call->status = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &call->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return cc == CURLE_OK ? HERALD_OK : HERALD_ERR_UPSTREAM;
}

/* Performs the call, retrying transport failures, 5xx and 429. The outcome is call->status
 * (0: no answer). */
static void perform(const struct s3_client *c, struct s3_call *call)
{
    static const struct backoff bo = {200, 2000, 50, 0, 0};
    unsigned seed = (unsigned)time(NULL);
    for (int attempt = 0; attempt < S3_ATTEMPTS; attempt++) {
        perform_once(c, call);
        if (call->status && call->status < 500 && call->status != 429)
            return;
        log_warn("S3 request failed", json_pack("{s:s, s:i, s:i}", "method", call->method, "status",
                                                (int)call->status, "attempt", attempt + 1));
        if (attempt + 1 < S3_ATTEMPTS) {
            int64_t ms = backoff_delay_ms(&bo, attempt, &seed);
            struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
    }
}

static int call_result(struct s3_call *call, const char *what, struct herald_error *err)
{
    if (call->status >= 200 && call->status < 300)
        return HERALD_OK;
    if (call->status == 404)
        return herald_error_set(err, HERALD_ERR_NOT_FOUND, "", "S3 %s: no such object", what);
    if (call->status == 0)
        return herald_error_set(err, HERALD_ERR_UPSTREAM, "",
                                "S3 %s: no answer (timeout or "
                                "connection refused)",
                                what);
    const char *code =
        call->download ? NULL : strstr(call->body.data ? call->body.data : "", "<Code>");
    int code_len = code ? (int)strcspn(code + 6, "<") : 0;
    return herald_error_set(err, HERALD_ERR_UPSTREAM, "", "S3 %s: HTTP %ld%s%.*s", what,
                            call->status, code ? " " : "", code_len > 40 ? 40 : code_len,
                            code ? code + 6 : "");
}

static const char empty_sha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

int s3_put_file(struct s3_client *c, const char *name, const char *path, struct herald_error *err)
{
    char url[4200], sha[2 * CRYPTO_SHA256_LEN + 1];
    struct stat sb;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &sb) != 0 || crypto_sha256_file(path, sha)) {
        if (f)
            fclose(f);
        return herald_error_set(err, HERALD_ERR_IO, "", "cannot read %s", path);
    }
    object_url(c, name, url, sizeof(url));
    struct s3_call call = {"PUT", url, f, (int64_t)sb.st_size, sha, NULL, {0}, 0};
    buf_init(&call.body, 1 << 20);
    perform(c, &call);
    int rc = call_result(&call, "upload", err);
    buf_free(&call.body);
    fclose(f);
    return rc;
}

int s3_get_file(struct s3_client *c, const char *name, const char *path, struct herald_error *err)
{
    char url[4200];
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w+b") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return herald_error_set(err, HERALD_ERR_IO, "", "cannot write %s", path);
    }
    object_url(c, name, url, sizeof(url));
    struct s3_call call = {"GET", url, NULL, 0, empty_sha, f, {0}, 0};
    perform(c, &call);
    int rc = call_result(&call, "download", err);
    if (fclose(f) != 0 && !rc)
        rc = herald_error_set(err, HERALD_ERR_IO, "", "cannot write %s", path);
    if (rc)
        unlink(path);
    return rc;
}

int s3_delete(struct s3_client *c, const char *name, struct herald_error *err)
{
    char url[4200];
    object_url(c, name, url, sizeof(url));
    struct s3_call call = {"DELETE", url, NULL, 0, empty_sha, NULL, {0}, 0};
    buf_init(&call.body, 1 << 20);
    perform(c, &call);
    int rc = call.status == 404 ? HERALD_OK : call_result(&call, "delete", err);
    buf_free(&call.body);
    return rc;
}

/* The text of the first <tag>...</tag> at or after `from`, into out; NULL when none. */
static const char *xml_text(const char *from, const char *tag, char *out, size_t cap)
{
    char open_tag[64], close_tag[64];
    snprintf(open_tag, sizeof(open_tag), "<%s>", tag);
    snprintf(close_tag, sizeof(close_tag), "</%s>", tag);
    const char *a = strstr(from, open_tag);
    const char *b = a ? strstr(a, close_tag) : NULL;
    if (!b)
        return NULL;
    a += strlen(open_tag);
    size_t o = 0;
    for (const char *p = a; p < b && o + 1 < cap; p++) {
        static const struct {
            const char *ent;
            char ch;
        } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", 39}};
        char ch = *p;
        for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
            if (!strncmp(p, ents[i].ent, strlen(ents[i].ent))) {
                ch = ents[i].ch;
                p += strlen(ents[i].ent) - 1;
                break;
            }
        out[o++] = ch;
    }
    out[o] = '\0';
    return b + strlen(close_tag);
}

/* Appends the <Contents> of one ListObjectsV2 page; *token gets the continuation token
 * ("" on the last page). */
static int parse_page(const struct s3_client *c, const char *xml, struct s3_object **out,
                      size_t *count, char *token, size_t token_cap)
{
    size_t plen = strlen(c->prefix) + (*c->prefix ? 1 : 0);
    char key[1024], size[32];
    for (const char *p = strstr(xml, "<Contents>"); p; p = strstr(p, "<Contents>")) {
        const char *end = strstr(p, "</Contents>");
        if (!end || !xml_text(p, "Key", key, sizeof(key)) ||
            !xml_text(p, "Size", size, sizeof(size)))
            return HERALD_ERR_UPSTREAM_MALFORMED;
        p = end;
        if (strlen(key) <= plen || strlen(key) - plen >= sizeof((*out)->name) ||
            strchr(key + plen, '/'))
            continue;
        struct s3_object *grown = realloc(*out, (*count + 1) * sizeof(**out));
        if (!grown)
            return HERALD_ERR_NOMEM;
        *out = grown;
        snprintf(grown[*count].name, sizeof(grown[*count].name), "%s", key + plen);
        grown[(*count)++].size = strtoll(size, NULL, 10);
    }
    char truncated[16] = "";
    xml_text(xml, "IsTruncated", truncated, sizeof(truncated));
    *token = '\0';
    if (!strcmp(truncated, "true") && !xml_text(xml, "NextContinuationToken", token, token_cap))
        return HERALD_ERR_UPSTREAM_MALFORMED;
    return HERALD_OK;
}

/* The ListObjectsV2 URL, its query in canonical (sorted, encoded) order. */
static void list_url(const struct s3_client *c, const char *token, char *out, size_t cap)
{
    char prefix[600], eprefix[1900], etoken[3100];
    snprintf(prefix, sizeof(prefix), "%s%s", c->prefix, *c->prefix ? "/" : "");
    uri_encode(prefix, false, eprefix, sizeof(eprefix));
    uri_encode(token, false, etoken, sizeof(etoken));
    snprintf(out, cap, "%s?%s%s%slist-type=2&prefix=%s", c->base,
             *token ? "continuation-token=" : "", etoken, *token ? "&" : "", eprefix);
}

int s3_list(struct s3_client *c, struct s3_object **out, size_t *count, struct herald_error *err)
{
    char url[8200], token[1024] = "";
    int rc = HERALD_OK;
    *out = NULL;
    *count = 0;
    struct s3_call call = {"GET", url, NULL, 0, empty_sha, NULL, {0}, 0};
    buf_init(&call.body, S3_LIST_MAX);
    do {
        list_url(c, token, url, sizeof(url));
        perform(c, &call);
        rc = call_result(&call, "list", err);
        if (rc)
            break;
        rc = parse_page(c, call.body.data ? call.body.data : "", out, count, token, sizeof(token));
        if (rc)
            herald_error_set(err, rc, "", "S3 list: unexpected answer");
    } while (!rc && *token);
    buf_free(&call.body);
    if (rc) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

int s3_ref_name(const struct s3_client *c, const char *ref, char name[256],
                struct herald_error *err)
{
    char want[900];
    snprintf(want, sizeof(want), "s3://%s/%s%s", c->bucket, c->prefix, *c->prefix ? "/" : "");
    size_t wl = strlen(want);
    const char *rest = ref + wl;
    if (strncmp(ref, want, wl) != 0 || !*rest || strchr(rest, '/') || strlen(rest) > 255)
        return herald_error_set(err, HERALD_ERR_INVALID, "",
                                "%s is not under the configured "
                                "HERALD_BACKUP_S3_URL (expected %sNAME)",
                                ref, want);
    snprintf(name, 256, "%s", rest);
    return HERALD_OK;
}
