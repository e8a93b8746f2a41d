/* A small S3-compatible client (libcurl, SigV4 through CURLOPT_AWS_SIGV4) for the off-site
 * copy of backups: put a file, get a file, delete, list under the configured prefix. */
#ifndef HERALD_BACKUP_S3_H
#define HERALD_BACKUP_S3_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct s3_opts {
    const char *url;             /* https://host/bucket[/prefix], path-style */
    const char *region;          /* e.g. us-east-1 */
    const char *access_key_file; /* files holding the credentials (read on each call) */
    const char *secret_key_file;
    long timeout_ms; /* longest stall of one transfer (no bytes moving) */
};

/* A client: the parsed URL and the credentials; never logged. */
struct s3_client;

/* Reads the credentials and parses the URL. HERALD_ERR_CONFIG (err names the variable). */
int s3_client_new(const struct s3_opts *opts, struct s3_client **out, struct herald_error *err);
void s3_client_free(struct s3_client *c);

/* Uploads the file at `path` as object <prefix>/<name>. 5xx and transport failures are tried
 * three times with backoff. HERALD_ERR_UPSTREAM (message gives the status), HERALD_ERR_IO. */
int s3_put_file(struct s3_client *c, const char *name, const char *path, struct herald_error *err);
/* Downloads object <prefix>/<name> into `path` (created 0600). HERALD_ERR_NOT_FOUND on 404. */
int s3_get_file(struct s3_client *c, const char *name, const char *path, struct herald_error *err);
/* Deletes object <prefix>/<name> (a missing object is fine). */
int s3_delete(struct s3_client *c, const char *name, struct herald_error *err);

struct s3_object {
    char name[256]; /* the key without the prefix and its slash */
    int64_t size;
};
/* Lists the objects under the prefix (all pages). Allocates *out (free()). */
int s3_list(struct s3_client *c, struct s3_object **out, size_t *count, struct herald_error *err);

/* The object name of a reference "s3://BUCKET/PREFIX/NAME", which must name the configured
 * bucket and prefix: HERALD_ERR_INVALID otherwise. `name` gets at most 255 characters. */
int s3_ref_name(const struct s3_client *c, const char *ref, char name[256],
                struct herald_error *err);

#endif
