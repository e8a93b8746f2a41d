/* One error enum for all of Herald. Numbers are stable and never reused: clients, logs and
 * tests see the JSON code string, operators may see the number. Each row gives the enum name,
 * its number, the JSON "code", the HTTP status api/ answers with, and the default message. */
#ifndef HERALD_BASE_ERR_H
#define HERALD_BASE_ERR_H

#define HERALD_ERRORS(X)                                                                           \
    X(HERALD_OK, 0, "ok", 200, "ok")                                                               \
    X(HERALD_ERR_NOMEM, 1, "out_of_memory", 500, "out of memory")                                  \
    X(HERALD_ERR_INVALID, 2, "validation_failed", 400, "invalid input")                            \
    X(HERALD_ERR_NOT_FOUND, 3, "not_found", 404, "not found")                                      \
    X(HERALD_ERR_DUPLICATE, 4, "duplicate", 409, "already exists")                                 \
    X(HERALD_ERR_UNAUTHORIZED, 5, "unauthorized", 401, "missing, invalid or revoked API key")      \
    X(HERALD_ERR_FORBIDDEN, 6, "forbidden", 403, "the API key lacks the required scope")           \
    X(HERALD_ERR_METHOD, 7, "method_not_allowed", 405, "method not allowed on this route")         \
    X(HERALD_ERR_TOO_LARGE, 8, "payload_too_large", 413, "request body too large")                 \
    X(HERALD_ERR_MEDIA_TYPE, 9, "unsupported_media_type", 415, "expected application/json")        \
    X(HERALD_ERR_BAD_JSON, 10, "invalid_json", 400, "request body is not valid JSON")              \
    X(HERALD_ERR_RATE_LIMITED, 11, "rate_limited", 429, "rate limit exceeded")                     \
    X(HERALD_ERR_DB, 12, "database_error", 500, "database error")                                  \
    X(HERALD_ERR_DB_SOFT, 13, "database_unavailable", 503, "database busy or unreachable")         \
    X(HERALD_ERR_IO, 14, "io_error", 500, "input/output error")                                    \
    X(HERALD_ERR_CONFIG, 15, "invalid_config", 500, "invalid configuration")                       \
    X(HERALD_ERR_MIGRATIONS_PENDING, 16, "migrations_pending", 503, "database migrations pending") \
    X(HERALD_ERR_INTERNAL, 17, "internal_error", 500, "internal error")                            \
    X(HERALD_ERR_SHUTTING_DOWN, 18, "shutting_down", 503, "server is shutting down")               \
    X(HERALD_ERR_CRYPTO, 19, "crypto_error", 500, "cryptographic operation failed")                \
    X(HERALD_ERR_CONFLICT, 20, "conflict", 409, "conflicts with the current state")                \
    X(HERALD_ERR_CORS_DENIED, 21, "cors_origin_denied", 403, "origin not allowed")                 \
    X(HERALD_ERR_BACKUP_INVALID, 22, "backup_invalid", 400, "backup file is damaged or foreign")   \
    X(HERALD_ERR_PLATFORM_NOT_CONFIGURED, 23, "platform_not_configured", 400,                      \
      "no credentials are configured for this platform")                                           \
    X(HERALD_ERR_UPSTREAM, 24, "upstream_error", 502, "the upstream service failed")               \
    X(HERALD_ERR_UPSTREAM_MALFORMED, 25, "upstream_malformed", 502,                                \
      "the upstream service sent a malformed response")                                            \
    X(HERALD_ERR_CANCELLED, 26, "cancelled", 409, "the operation was cancelled")                   \
    X(HERALD_ERR_QUEUE_FULL, 27, "writer_queue_full", 503,                                         \
      "the event writer's queue is full: retry after the Retry-After delay")                       \
    X(HERALD_ERR_TOKEN_INVALID, 28, "invalid_token", 400, "the link is malformed or forged")       \
    X(HERALD_ERR_TOKEN_EXPIRED, 29, "token_expired", 410, "the link has expired")                  \
    X(HERALD_ERR_SMTP, 30, "smtp_error", 502, "the mail relay refused or failed")                  \
    X(HERALD_ERR_SENDING_NOT_CONFIGURED, 31, "sending_not_configured", 409,                        \
      "sending is not configured (HERALD_SMTP_URL, HERALD_POSTAL_ADDRESS)")                        \
    X(HERALD_ERR_XML_INVALID, 32, "invalid_xml", 400,                                              \
      "the message is not well-formed, too large, too deep or uses forbidden XML features")        \
    X(HERALD_ERR_SIGNATURE, 33, "invalid_signature", 401,                                          \
      "the request's signature, credentials or timestamp do not verify")

enum herald_err {
#define HERALD_ERR_ENUM(name, num, code, status, msg) name = num,
    HERALD_ERRORS(HERALD_ERR_ENUM)
#undef HERALD_ERR_ENUM
    /* Not an error: a negative member makes the compiler give the enum the type int (GCC picks
     * unsigned int for an enum with no negative member), so `int` and `enum herald_err` stay
     * interchangeable, in function pointers and in `rc ? rc : f()`, while code converts. */
    HERALD_ERR_SIGNED_ = -1
};

/* The one way an error's details travel: the function that finds the problem returns the code
 * and, when the caller passed a detail struct, fills it. Whoever reports the error (api/ through
 * http_reply_err, a CLI command, a log line) does so once, from this struct. */
#define HERALD_ERROR_FIELD_MAX 192
#define HERALD_ERROR_MESSAGE_MAX 512

struct herald_error {
    enum herald_err code;
    char field[HERALD_ERROR_FIELD_MAX];     /* "" or the offending input: "events[3].email",
                                               "steps", "HERALD_LISTEN" */
    char message[HERALD_ERROR_MESSAGE_MAX]; /* "" = herald_strerror(code) */
};

/* Records `code`, `field` (NULL: none) and a printf-style message (NULL: the code's default)
 * in *err when err is not NULL, and returns `code`: `return herald_error_set(err, ...);`. */
enum herald_err herald_error_set(struct herald_error *err, enum herald_err code, const char *field,
                                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The message to show for *err: its own, or its code's default text. */
const char *herald_error_message(const struct herald_error *err);

/* Default human-readable message; never NULL. */
const char *herald_strerror(enum herald_err err);
/* Stable JSON code string ("validation_failed"); never NULL. */
const char *herald_err_code(enum herald_err err);
/* HTTP status api/ answers with for this error. */
int herald_err_http_status(enum herald_err err);

#endif
