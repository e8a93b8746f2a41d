/* The store's privacy tables: block STMT_PRIVACY__BASE..STMT_PRIVACY__END of the statement
 * registry (salt, suppression list, audit log, erasures, retention runs) and the export,
 * erasure and retention statements over the other table groups. */
#include "store/privacy.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "store/internal.h"

#define S(id) [STMT_##id - STMT_PRIVACY__BASE]
/* A text parameter that is never NULL (an array). */
#define SV_ARR(s) ((struct store_val){SV_TEXT, (s), 0})
#define PAGE " AND id > $2 ORDER BY id LIMIT $3"
/* A dead letter may mention an address (already lowercased) in its request or payload: the
 * substring test only picks candidates, mentions() then checks the address's boundaries. */
#define MENTIONS_SQLITE                                                                            \
    "(instr(lower(COALESCE(payload, '')), $1) > 0 OR instr(lower(COALESCE(request, '')), $1) > 0)"
#define MENTIONS_PG                                                                                \
    "(strpos(lower(COALESCE(payload, '')), $1) > 0 OR strpos(lower(COALESCE(request, '')), $1) > " \
    "0)"
#define AUDIT_COLS                                                                                 \
    "id, at_ms, actor, action, status, ip, request_id, subject, subject_hashed, detail"
#define ER_COLS                                                                                    \
    "id, email, addr_hash, COALESCE(job_id, ''), status, report, mixpanel_ids, created_at_ms, "    \
    "COALESCE(finished_at_ms, 0)"
#define OLDEST(table, cond)                                                                        \
    "DELETE FROM " table " WHERE id IN (SELECT id FROM " table " WHERE " cond                      \
    " ORDER BY id LIMIT $2)"

const struct store_stmt_def store_privacy_stmts[STMT_PRIVACY__END - STMT_PRIVACY__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
    S(PRIV_SALT_GET) = {"SELECT salt FROM privacy_salt WHERE id = 1", NULL, false},
    S(PRIV_SALT_PUT) = {"INSERT INTO privacy_salt (id, salt, created_at_ms) VALUES (1, $1, $2) "
                        "ON CONFLICT (id) DO NOTHING",
                        NULL, true},
    S(PRIV_SUPP_ADD) = {"INSERT INTO privacy_suppressions (addr_hash, reason, created_at_ms) "
                        "VALUES ($1, $2, $3) ON CONFLICT (addr_hash) DO NOTHING",
                        NULL, true},
    S(PRIV_SUPP_GET) = {"SELECT 1 FROM privacy_suppressions WHERE addr_hash = $1", NULL, false},
    S(PRIV_SUPP_COUNT) = {"SELECT count(*) FROM privacy_suppressions", NULL, false},
    S(PRIV_SUPP_ANY) = {"SELECT addr_hash FROM privacy_suppressions WHERE addr_hash IN "
                        "(SELECT value FROM json_each($1))",
                        "SELECT addr_hash FROM privacy_suppressions WHERE addr_hash IN "
                        "(SELECT json_array_elements_text($1::json))",
                        false},
    S(PRIV_SUPP_EXISTS) = {"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                           "'privacy_suppressions'",
                           "SELECT CASE WHEN to_regclass('privacy_suppressions') IS NULL THEN 0 "
                           "ELSE 1 END",
                           false},
    S(PRIV_SUPP_ALL) = {"SELECT addr_hash FROM privacy_suppressions ORDER BY addr_hash", NULL,
                        false},
    S(PRIV_AUDIT_INSERT) = {"INSERT INTO audit_log (at_ms, actor, action, status, ip, request_id, "
                            "subject, subject_hashed, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                            "0, $8)",
                            NULL, true},
    /* A batch: [[at_ms, actor, action, status, ip, request_id, subject, detail], ...]
     * (PostgreSQL only: SQLite inserts row by row). */
    S(PRIV_AUDIT_INSERT_MANY) =
        {NULL,
         "INSERT INTO audit_log (at_ms, actor, action, status, ip, request_id, subject, "
         "subject_hashed, detail) SELECT (b.v->>0)::bigint, b.v->>1, b.v->>2, (b.v->>3)::bigint, "
         "b.v->>4, b.v->>5, b.v->>6, 0, b.v->>7 FROM json_array_elements($1::json) WITH "
         "ORDINALITY AS b(v, n) ORDER BY b.n",
         true},
    S(PRIV_AUDIT_LIST) = {"SELECT " AUDIT_COLS " FROM audit_log WHERE ($1 = 0 OR id < $1) "
                          "ORDER BY id DESC LIMIT $2",
                          NULL, false},
    S(PRIV_AUDIT_LIST_SUBJECT) = {"SELECT " AUDIT_COLS " FROM audit_log WHERE ($1 = 0 OR id < $1) "
                                  "AND subject = $3 ORDER BY id DESC LIMIT $2",
                                  NULL, false},
    S(PRIV_ER_INSERT) = {"INSERT INTO privacy_erasures (email, addr_hash, status, created_at_ms) "
                         "VALUES ($1, $2, 'pending', $3) RETURNING id",
                         NULL, true},
    S(PRIV_ER_SET_JOB) = {"UPDATE privacy_erasures SET job_id = $2 WHERE id = $1", NULL, true},
    S(PRIV_ER_GET) = {"SELECT " ER_COLS " FROM privacy_erasures WHERE id = $1", NULL, false},
    S(PRIV_ER_SET_IDS) = {"UPDATE privacy_erasures SET mixpanel_ids = $2 WHERE id = $1", NULL,
                          true},
    S(PRIV_ER_FINISH) = {"UPDATE privacy_erasures SET status = 'done', report = $2, email = NULL, "
                         "mixpanel_ids = CASE WHEN $4 = 1 THEN mixpanel_ids ELSE NULL END, "
                         "finished_at_ms = $3 WHERE id = $1",
                         NULL, true},
    /* Compare-and-set on the report: two retries of Mixpanel's deletion never both start. */
    S(PRIV_ER_MIXPANEL) = {"UPDATE privacy_erasures SET report = $2, mixpanel_ids = CASE WHEN $3 = "
                           "1 THEN mixpanel_ids ELSE NULL END WHERE id = $1 AND status = 'done' "
                           "AND report = $4 AND mixpanel_ids IS NOT NULL",
                           NULL, true},
    S(PRIV_CONTACT_ID) = {"SELECT id FROM contacts WHERE email = $1", NULL, false},
    S(PRIV_FORWARDED) = {"SELECT 1 FROM event_source WHERE email = $1 AND id <= COALESCE((SELECT "
                         "last_id FROM forward_cursors WHERE name = 'mixpanel'), 0) LIMIT 1",
                         NULL, false},
    /* Export pages: ($1 email or contact id, $2 after, $3 limit); the cursor comes first. */
    S(PRIV_EXP_CONTACT) = {"SELECT id, email, name, attributes, status, delivery, soft_bounces, "
                           "unsubscribed_at_ms, created_at_ms, updated_at_ms FROM contacts "
                           "WHERE email = $1" PAGE,
                           NULL, false},
    S(PRIV_EXP_SUBS) = {"SELECT s.list_id, l.name, s.status, s.consent_method, s.consent_at_ms, "
                        "s.consent_ip, s.consent_text, s.confirmed_at_ms, s.unsubscribed_at_ms, "
                        "s.created_at_ms FROM subscriptions s JOIN mail_lists l ON l.id = "
                        "s.list_id WHERE s.contact_id = $1 AND s.list_id > $2 ORDER BY s.list_id "
                        "LIMIT $3",
                        NULL, false},
    S(PRIV_EXP_EVENTS) = {"SELECT id, platform, campaign_id, event_type, event_key, source_id, "
                          "namespace, payload, occurred_at_ms, event_time_ms, created_at_ms FROM "
                          "event_source WHERE email = $1" PAGE,
                          NULL, false},
    S(PRIV_EXP_SENDS) = {"SELECT q.id, q.campaign_id, c.name, q.list_id, q.status, q.attempts, "
                         "q.message_id, q.last_error, q.sent_at_ms, q.updated_at_ms FROM "
                         "send_queue q LEFT JOIN campaigns c ON c.id = q.campaign_id WHERE "
                         "q.contact_id = $1 AND q.id > $2 ORDER BY q.id LIMIT $3",
                         NULL, false},
    S(PRIV_EXP_FEEDBACK) = {"SELECT id, campaign_id, kind, url, detail, created_at_ms FROM "
                            "mail_feedback WHERE contact_id = $1" PAGE,
                            NULL, false},
    S(PRIV_EXP_DEAD) = {"SELECT id, job_id, kind, reason, request, payload, created_at_ms FROM "
                        "dead_letters WHERE " MENTIONS_SQLITE PAGE,
                        "SELECT id, job_id, kind, reason, request, payload, created_at_ms FROM "
                        "dead_letters WHERE " MENTIONS_PG PAGE,
                        false},
    S(PRIV_EXP_AUDIT) = {"SELECT id, at_ms, actor, action, status, ip, request_id, detail FROM "
                         "audit_log WHERE subject = $1" PAGE,
                         NULL, false},
    /* Erasure steps. */
    S(PRIV_ER_EVENTS_PICK) = {"SELECT id, event_key FROM event_source WHERE email = $1 ORDER BY id "
                              "LIMIT $2",
                              NULL, false},
    S(PRIV_ER_EVENTS_SET) = {"UPDATE event_source SET event_key = b.value->>1, email = '', "
                             "source_id = NULL, payload = NULL FROM json_each($1) AS b WHERE "
                             "event_source.id = b.value->>0",
                             "UPDATE event_source SET event_key = b.v->>1, email = '', source_id = "
                             "NULL, payload = NULL FROM json_array_elements($1::json) AS b(v) "
                             "WHERE event_source.id = (b.v->>0)::bigint",
                             true},
    S(PRIV_ER_SUBS) = {"DELETE FROM subscriptions WHERE contact_id = $1", NULL, true},
    S(PRIV_ER_CONTACT) = {"DELETE FROM contacts WHERE id = $1", NULL, true},
    /* A send keeps its outcome for the campaign's counts; the row no longer names anyone (a
     * negative contact id stays unique per campaign) and a pending one is cancelled. */
    S(PRIV_ER_SENDS) = {"UPDATE send_queue SET contact_id = -id, message_id = NULL, last_error = "
                        "NULL, locked_by = NULL, lease_until_ms = NULL, status = CASE WHEN status "
                        "= 'pending' THEN 'cancelled' ELSE status END WHERE contact_id = $1",
                        NULL, true},
    S(PRIV_ER_FEEDBACK) = {"UPDATE mail_feedback SET contact_id = 0, url = NULL, detail = NULL "
                           "WHERE contact_id = $1",
                           NULL, true},
    S(PRIV_ER_FEEDBACK_REPORTS) = {"UPDATE mail_feedback_reports SET contact_id = 0 WHERE "
                                   "contact_id = $1",
                                   NULL, true},
    S(PRIV_ER_DEAD_PICK) =
        {"SELECT id, request, payload FROM dead_letters WHERE " MENTIONS_SQLITE PAGE,
         "SELECT id, request, payload FROM dead_letters WHERE " MENTIONS_PG PAGE, false},
    S(PRIV_ER_DEAD_IDS) = {"DELETE FROM dead_letters WHERE id IN (SELECT value FROM json_each($1))",
                           "DELETE FROM dead_letters WHERE id IN (SELECT "
                           "json_array_elements_text($1::json)::bigint)",
                           true},
    S(PRIV_ER_AUDIT) = {"UPDATE audit_log SET subject = $2, subject_hashed = 1 WHERE subject = $1 "
                        "AND subject_hashed = 0",
                        NULL, true},
    /* Retention: the oldest rows first, a bounded batch per statement. */
    S(PRIV_RET_EVENTS) = {OLDEST("event_source", "event_time_ms < $1"), NULL, true},
    S(PRIV_RET_SENDS) = {OLDEST("send_queue", "status <> 'pending' AND updated_at_ms < $1"), NULL,
                         true},
    S(PRIV_RET_FEEDBACK) = {OLDEST("mail_feedback", "created_at_ms < $1"), NULL, true},
    S(PRIV_RET_DEAD) = {OLDEST("dead_letters", "created_at_ms < $1"), NULL, true},
    S(PRIV_RET_RECORD) = {"INSERT INTO privacy_retention_runs (job_id, report, finished_at_ms) "
                          "VALUES ($1, $2, $3)",
                          NULL, true},
    /* OTA reservations: one row per revision held for the guest's address. */
    S(PRIV_EXP_RESERVATIONS) =
        {"SELECT v.id, v.reservation_id, r.channel_id, r.hotel_code, r.res_id, v.seq, "
         "v.message_kind, v.status, v.arrival, v.departure, v.rooms, v.adults, v.children, "
         "v.total, v.currency, v.language, v.country, v.booking_channel, v.guest_email, "
         "v.guest_given_name, v.guest_surname, v.guest_phone, v.consent, v.consent_text, "
         "v.comments, v.received_at_ms FROM ota_reservation_revisions v JOIN ota_reservations "
         "r ON r.id = v.reservation_id WHERE (v.guest_email = $1 OR r.guest_email = $1) AND "
         "v.id > $2 ORDER BY v.id LIMIT $3",
         NULL, false},
    /* The stay, rooms and totals stay (the hotel's records); who stayed does not. */
    S(PRIV_ER_REVISIONS) = {"UPDATE ota_reservation_revisions SET guest_email = NULL, "
                            "guest_given_name = NULL, guest_surname = NULL, guest_phone = NULL, "
                            "consent_text = NULL, comments = NULL WHERE guest_email = $1 OR "
                            "reservation_id IN (SELECT id FROM ota_reservations WHERE "
                            "guest_email = $1)",
                            NULL, true},
    S(PRIV_ER_RESERVATIONS) = {"UPDATE ota_reservations SET guest_email = NULL, guest_name = "
                               "NULL WHERE guest_email = $1",
                               NULL, true},
    /* Revisions go with their reservation (ON DELETE CASCADE). */
    S(PRIV_RET_RESERVATIONS) = {OLDEST("ota_reservations",
                                       "(departure IS NOT NULL AND departure < $3) OR (departure "
                                       "IS NULL AND updated_at_ms < $1)"),
                                NULL, true},
    S(PRIV_RET_LAST) = {"SELECT report, finished_at_ms FROM privacy_retention_runs ORDER BY id "
                        "DESC LIMIT 1",
                        NULL, false},
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void store_privacy_hash(const char *salt, const char *text, char out[STORE_PRIVACY_HASH_LEN])
{
    uint8_t mac[CRYPTO_SHA256_LEN];
    crypto_hmac_sha256(salt, strlen(salt), text, strlen(text), mac);
    crypto_hex(mac, sizeof(mac), out);
}

static enum herald_err salt_read(struct store_conn *c, char out[STORE_PRIVACY_HASH_LEN])
{
    struct store_res r = {0};
    int rc = store_query(c, STMT_PRIV_SALT_GET, NULL, 0, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        snprintf(out, STORE_PRIVACY_HASH_LEN, "%s", store_res_text(&r, 0, 0));
    store_res_free(&r);
    return rc;
}

enum herald_err store_privacy_salt(struct store_conn *c, char out[STORE_PRIVACY_HASH_LEN])
{
    int rc = salt_read(c, out);
    if (rc != HERALD_ERR_NOT_FOUND)
        return rc;
    uint8_t raw[32];
    char hex[STORE_PRIVACY_HASH_LEN];
    if ((rc = crypto_random(raw, sizeof(raw))))
        return rc;
    crypto_hex(raw, sizeof(raw), hex);
    struct store_val p[] = {SV_ARR(hex), SV_I64(clock_now_ms())};
    rc = store_query_changes(c, STMT_PRIV_SALT_PUT, p, 2, NULL);
    return rc ? rc : salt_read(c, out);
}

enum herald_err store_suppression_add(struct store_conn *c, const char *addr_hash,
                                      const char *reason, int64_t now_ms)
{
    struct store_val p[] = {SV_STR(addr_hash), SV_STR(reason), SV_I64(now_ms)};
    return store_query_changes(c, STMT_PRIV_SUPP_ADD, p, 3, NULL);
}

enum herald_err store_suppressed(struct store_conn *c, const char *email, bool *out)
{
    char salt[STORE_PRIVACY_HASH_LEN], h[STORE_PRIVACY_HASH_LEN];
    *out = false;
    int rc = salt_read(c, salt);
    if (rc == HERALD_ERR_NOT_FOUND)
        return HERALD_OK; /* no salt: nothing was ever erased */
    if (rc)
        return rc;
    store_privacy_hash(salt, email, h);
    struct store_res r = {0};
    struct store_val p[] = {SV_ARR(h)};
    rc = store_query(c, STMT_PRIV_SUPP_GET, p, 1, &r);
    *out = !rc && r.nrows > 0;
    store_res_free(&r);
    return rc;
}

static int64_t suppression_count(struct store_conn *c, int *rc)
{
    struct store_res r = {0};
    *rc = store_query(c, STMT_PRIV_SUPP_COUNT, NULL, 0, &r);
    int64_t n = *rc || r.nrows == 0 ? 0 : store_res_i64(&r, 0, 0);
    store_res_free(&r);
    return n;
}

static const char *row_email(json_t *row)
{
    const char *e = json_string_value(json_array_get(row, 0));
    return e ? e : "";
}

/* The hashes of the batch's addresses that are suppressed, as a JSON object used as a set. */
static enum herald_err suppressed_set(struct store_conn *c, json_t *rows, const char *salt,
                                      json_t **set)
{
    json_t *hashes = json_array(), *row;
    size_t i;
    json_array_foreach(rows, i, row)
    {
        char h[STORE_PRIVACY_HASH_LEN];
        store_privacy_hash(salt, row_email(row), h);
        json_array_append_new(hashes, json_string(h));
    }
    char *text = json_dumps(hashes, JSON_COMPACT);
    json_decref(hashes);
    struct store_res r = {0};
    struct store_val p[] = {SV_STR(text)};
    int rc = text ? store_query(c, STMT_PRIV_SUPP_ANY, p, 1, &r) : HERALD_ERR_NOMEM;
    free(text);
    *set = json_object();
    for (int k = 0; !rc && k < r.nrows; k++)
        json_object_set_new(*set, store_res_text(&r, k, 0), json_true());
    store_res_free(&r);
    return rc;
}

static enum herald_err filter_rows(json_t *rows, const char *salt, json_t *set, char **out,
                                   int64_t *dropped)
{
    json_t *kept = json_array(), *row;
    size_t i;
    json_array_foreach(rows, i, row)
    {
        char h[STORE_PRIVACY_HASH_LEN];
        store_privacy_hash(salt, row_email(row), h);
        if (json_object_get(set, h))
            (*dropped)++;
        else
            json_array_append(kept, row);
    }
    *out = json_array_size(kept) ? json_dumps(kept, JSON_COMPACT) : NULL;
    bool nomem = json_array_size(kept) && !*out;
    json_decref(kept);
    return nomem ? HERALD_ERR_NOMEM : HERALD_OK;
}

enum herald_err store_suppression_filter(struct store_conn *c, const char *batch, char **out,
                                         int64_t *dropped)
{
    *out = NULL;
    *dropped = 0;
    int rc;
    char salt[STORE_PRIVACY_HASH_LEN];
    if (suppression_count(c, &rc) == 0 || (!rc && (rc = salt_read(c, salt))))
        return rc ? rc : ((*out = strdup(batch)) ? HERALD_OK : HERALD_ERR_NOMEM);
    json_t *rows = json_loads(batch, 0, NULL), *set = NULL;
    if (!json_is_array(rows)) {
        json_decref(rows);
        return HERALD_ERR_INVALID;
    }
    rc = suppressed_set(c, rows, salt, &set);
    if (!rc)
        rc = filter_rows(rows, salt, set, out, dropped);
    json_decref(set);
    json_decref(rows);
    return rc;
}

/* ---- audit log ---- */
enum herald_err store_audit_insert(struct store_conn *c, const struct store_audit *a)
{
    struct store_val p[] = {SV_I64(a->at_ms),   SV_STR(a->actor),
                            SV_STR(a->action),  a->status ? SV_I64(a->status) : SV_NUL,
                            SV_STR(a->ip),      SV_STR(a->request_id),
                            SV_STR(a->subject), SV_STR(a->detail)};
    return store_query_changes(c, STMT_PRIV_AUDIT_INSERT, p, 8, NULL);
}

enum herald_err store_audit_insert_many(struct store_conn *c, const struct store_audit *rows,
                                        size_t n)
{
    /* SQLite runs in-process: a prepared row insert each costs less than building, printing
     * and re-parsing one JSON array (a third of the audit writer's time at 15k entries/s).
     * PostgreSQL takes the array to save a round trip per row. */
    if (c->st->be->dialect != DIALECT_POSTGRES) {
        enum herald_err rc = HERALD_OK;
        for (size_t i = 0; i < n && !rc; i++)
            rc = store_audit_insert(c, &rows[i]);
        return rc;
    }
    json_t *batch = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct store_audit *a = &rows[i];
        json_array_append_new(batch, json_pack("[I, s, s, o, s?, s?, s?, s?]", (json_int_t)a->at_ms,
                                               a->actor, a->action,
                                               a->status ? json_integer(a->status) : json_null(),
                                               a->ip, a->request_id, a->subject, a->detail));
    }
    char *text = json_dumps(batch, JSON_COMPACT);
    json_decref(batch);
    struct store_val p[] = {SV_STR(text)};
    int rc =
        text ? store_query_changes(c, STMT_PRIV_AUDIT_INSERT_MANY, p, 1, NULL) : HERALD_ERR_NOMEM;
    free(text);
    return rc;
}

static void audit_row(const struct store_res *r, int i, struct store_audit *a)
{
    a->id = store_res_i64(r, i, 0);
    a->at_ms = store_res_i64(r, i, 1);
    a->actor = dup_or_null(store_res_text(r, i, 2));
    a->action = dup_or_null(store_res_text(r, i, 3));
    a->status = store_res_text(r, i, 4) ? store_res_i64(r, i, 4) : 0;
    a->ip = dup_or_null(store_res_text(r, i, 5));
    a->request_id = dup_or_null(store_res_text(r, i, 6));
    a->subject = dup_or_null(store_res_text(r, i, 7));
    a->subject_hashed = store_res_i64(r, i, 8) != 0;
    a->detail = dup_or_null(store_res_text(r, i, 9));
}

enum herald_err store_audit_list(struct store_conn *c, const char *subject, int64_t before_id,
                                 int limit, struct store_audit **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    struct store_res r = {0};
    struct store_val p[] = {SV_I64(before_id), SV_I64(limit), SV_STR(subject)};
    int rc = subject ? store_query(c, STMT_PRIV_AUDIT_LIST_SUBJECT, p, 3, &r)
                     : store_query(c, STMT_PRIV_AUDIT_LIST, p, 2, &r);
    if (!rc && r.nrows && !(*out = calloc((size_t)r.nrows, sizeof(**out))))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++)
        audit_row(&r, i, &(*out)[i]);
    if (!rc)
        *count = (size_t)r.nrows;
    store_res_free(&r);
    return rc;
}

void store_audits_free(struct store_audit *rows, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(rows[i].actor);
        free(rows[i].action);
        free(rows[i].ip);
        free(rows[i].request_id);
        free(rows[i].subject);
        free(rows[i].detail);
    }
    free(rows);
}

/* ---- erasures ---- */
void store_erasure_clear(struct store_erasure *e)
{
    free(e->email);
    free(e->report);
    free(e->mixpanel_ids);
    memset(e, 0, sizeof(*e));
}

enum herald_err store_erasure_insert(struct store_conn *c, const char *email, const char *addr_hash,
                                     int64_t now_ms, int64_t *id)
{
    struct store_res r = {0};
    struct store_val p[] = {SV_STR(email), SV_STR(addr_hash), SV_I64(now_ms)};
    int rc = store_query(c, STMT_PRIV_ER_INSERT, p, 3, &r);
    if (!rc && r.nrows != 1)
        rc = HERALD_ERR_INTERNAL;
    if (!rc)
        *id = store_res_i64(&r, 0, 0);
    store_res_free(&r);
    return rc;
}

enum herald_err store_erasure_set_job(struct store_conn *c, int64_t id, const char *job_id)
{
    struct store_val p[] = {SV_I64(id), SV_STR(job_id)};
    return store_query_changes(c, STMT_PRIV_ER_SET_JOB, p, 2, NULL);
}

enum herald_err store_erasure_get(struct store_conn *c, int64_t id, struct store_erasure *out)
{
    memset(out, 0, sizeof(*out));
    struct store_res r = {0};
    struct store_val p[] = {SV_I64(id)};
    int rc = store_query(c, STMT_PRIV_ER_GET, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc) {
        out->id = store_res_i64(&r, 0, 0);
        out->email = dup_or_null(store_res_text(&r, 0, 1));
        snprintf(out->addr_hash, sizeof(out->addr_hash), "%s", store_res_text(&r, 0, 2));
        snprintf(out->job_id, sizeof(out->job_id), "%s", store_res_text(&r, 0, 3));
        snprintf(out->status, sizeof(out->status), "%s", store_res_text(&r, 0, 4));
        out->report = dup_or_null(store_res_text(&r, 0, 5));
        out->mixpanel_ids = dup_or_null(store_res_text(&r, 0, 6));
        out->created_at_ms = store_res_i64(&r, 0, 7);
        out->finished_at_ms = store_res_i64(&r, 0, 8);
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_erasure_set_ids(struct store_conn *c, int64_t id, const char *ids_json)
{
    struct store_val p[] = {SV_I64(id), SV_STR(ids_json)};
    return store_query_changes(c, STMT_PRIV_ER_SET_IDS, p, 2, NULL);
}

enum herald_err store_erasure_finish(struct store_conn *c, int64_t id, const char *report,
                                     int64_t now_ms, bool keep_ids)
{
    struct store_val p[] = {SV_I64(id), SV_STR(report), SV_I64(now_ms), SV_I64(keep_ids)};
    return store_query_changes(c, STMT_PRIV_ER_FINISH, p, 4, NULL);
}

enum herald_err store_erasure_set_mixpanel(struct store_conn *c, int64_t id, const char *was,
                                           const char *report, bool keep_ids)
{
    struct store_val p[] = {SV_I64(id), SV_STR(report), SV_I64(keep_ids), SV_STR(was)};
    int64_t n = 0;
    int rc = store_query_changes(c, STMT_PRIV_ER_MIXPANEL, p, 4, &n);
    return rc ? rc : n ? HERALD_OK : HERALD_ERR_CONFLICT;
}

/* ---- sources ---- */
static const struct {
    enum store_stmt export_stmt;
    bool by_contact; /* keyed by the contact's id, not the address */
} sources[STORE_PSRC__COUNT] = {
    [STORE_PSRC_CONTACT] = {STMT_PRIV_EXP_CONTACT, false},
    [STORE_PSRC_SUBSCRIPTIONS] = {STMT_PRIV_EXP_SUBS, true},
    [STORE_PSRC_EVENTS] = {STMT_PRIV_EXP_EVENTS, false},
    [STORE_PSRC_SENDS] = {STMT_PRIV_EXP_SENDS, true},
    [STORE_PSRC_FEEDBACK] = {STMT_PRIV_EXP_FEEDBACK, true},
    [STORE_PSRC_DEAD_LETTERS] = {STMT_PRIV_EXP_DEAD, false},
    [STORE_PSRC_AUDIT] = {STMT_PRIV_EXP_AUDIT, false},
    [STORE_PSRC_RESERVATIONS] = {STMT_PRIV_EXP_RESERVATIONS, false},
};

/* RFC 5322 atext: a local part runs on through any of these, so the "ana@" inside "hana@" is
 * not a mention of ana. */
static bool atom_char(unsigned char ch)
{
    return isalnum(ch) || (ch && strchr("!#$%&'*+-/=?^_`{|}~", ch));
}

/* A domain runs on through letters, digits, '-' and a '.' that starts another label
 * ("ana@example.com.evil"); a sentence's closing '.' ends it. */
static bool continues_domain(const char *p)
{
    unsigned char ch = (unsigned char)p[0];
    if (isalnum(ch) || ch == '-' || ch == '_')
        return true;
    return ch == '.' && (isalnum((unsigned char)p[1]) || p[1] == '-');
}

/* Whether an address may start at p: what precedes it cannot belong to it. A JSON escape
 * ("email\nana@…", a CSV line in a request body) ends with a letter but is a separator; so are
 * the query and form delimiters '=', '&', '?' and a path's '/' ("?email=ana@…",
 * "/contacts/ana@…"), though RFC 5322 allows them in a local part: for an erasure, taking a
 * rare "x=ana@…" along errs the safe way, while leaving ana's request lines behind would not.
 * The export uses the same test, so that it shows what an erasure would delete. */
static bool starts_address(const char *text, const char *p)
{
    if (p == text)
        return true;
    if (p - text >= 2 && p[-2] == '\\' && strchr("nrtbf", p[-1]))
        return true;
    if (strchr("=&?/", p[-1]))
        return true;
    return !(atom_char((unsigned char)p[-1]) || p[-1] == '.');
}

/* Whether `text` holds `email` (lowercased) as a whole address, in any letter case. */
static bool mentions(const char *text, const char *email)
{
    size_t n = strlen(email);
    for (const char *p = text; n && p && *p; p++) {
        if (strncasecmp(p, email, n) != 0)
            continue;
        bool starts = starts_address(text, p);
        if (starts && !continues_domain(p + n))
            return true;
    }
    return false;
}

/* Drops the candidate rows whose columns c1 and c2 hold `email` only inside a longer address
 * (the SQL substring test cannot see boundaries), keeping the others in order. */
static void keep_mentions(struct store_res *r, const char *email, int c1, int c2)
{
    int kept = 0;
    for (int i = 0; i < r->nrows; i++) {
        char **row = r->cells + (size_t)i * r->ncols;
        bool keep = mentions(row[c1], email) || mentions(row[c2], email);
        if (keep)
            for (int j = 0; j < r->ncols; j++)
                r->cells[(size_t)kept * r->ncols + j] = row[j];
        kept += keep;
    }
    r->nrows = kept;
}

void store_privacy_rows_free(struct store_privacy_rows *r)
{
    if (r->res) {
        store_res_free(r->res);
        free(r->res);
    }
    memset(r, 0, sizeof(*r));
}

enum herald_err store_privacy_export_page(struct store_conn *c, enum store_privacy_src src,
                                          const char *email, int64_t contact_id, int64_t after,
                                          int limit, struct store_privacy_rows *out)
{
    memset(out, 0, sizeof(*out));
    if (sources[src].by_contact && !contact_id)
        return HERALD_OK;
    struct store_val p[] = {sources[src].by_contact ? SV_I64(contact_id) : SV_STR(email),
                            SV_I64(after), SV_I64(limit)};
    struct store_res *r = calloc(1, sizeof(*r));
    if (!r)
        return HERALD_ERR_NOMEM;
    int rc = store_query(c, sources[src].export_stmt, p, 3, r);
    if (rc) {
        store_res_free(r);
        free(r);
        return rc;
    }
    /* The cursor follows the candidates, not the rows kept: a page of dead letters may keep
     * none and still not be the last. */
    int64_t last = r->nrows ? store_res_i64(r, r->nrows - 1, 0) : after;
    bool more = r->nrows == limit;
    if (src == STORE_PSRC_DEAD_LETTERS)
        keep_mentions(r, email, 4, 5);
    *out = (struct store_privacy_rows){r->nrows, r->ncols, r->cells, last, more, r};
    return HERALD_OK;
}

enum herald_err store_privacy_contact_id(struct store_conn *c, const char *email, int64_t *out)
{
    struct store_res r = {0};
    struct store_val p[] = {SV_STR(email)};
    int rc = store_query(c, STMT_PRIV_CONTACT_ID, p, 1, &r);
    *out = !rc && r.nrows ? store_res_i64(&r, 0, 0) : 0;
    store_res_free(&r);
    return rc;
}

enum herald_err store_privacy_forwarded(struct store_conn *c, const char *email, bool *out)
{
    struct store_res r = {0};
    struct store_val p[] = {SV_STR(email)};
    int rc = store_query(c, STMT_PRIV_FORWARDED, p, 1, &r);
    *out = !rc && r.nrows > 0;
    store_res_free(&r);
    return rc;
}

/* Events: each key becomes "erased_" + the salted hash of the key, so keys stay unique. */
static enum herald_err erase_events(struct store_conn *c, const char *email, const char *salt,
                                    int limit, int64_t *n)
{
    struct store_res r = {0};
    struct store_val p[] = {SV_STR(email), SV_I64(limit)};
    int rc = store_query(c, STMT_PRIV_ER_EVENTS_PICK, p, 2, &r);
    json_t *batch = json_array();
    for (int i = 0; !rc && i < r.nrows; i++) {
        char h[STORE_PRIVACY_HASH_LEN], key[80];
        store_privacy_hash(salt, store_res_text(&r, i, 1), h);
        snprintf(key, sizeof(key), "erased_%s", h);
        json_array_append_new(batch, json_pack("[I, s]", (json_int_t)store_res_i64(&r, i, 0), key));
    }
    store_res_free(&r);
    char *text = !rc && json_array_size(batch) ? json_dumps(batch, JSON_COMPACT) : NULL;
    json_decref(batch);
    if (!rc && text) {
        struct store_val q[] = {SV_STR(text)};
        rc = store_query_changes(c, STMT_PRIV_ER_EVENTS_SET, q, 1, n);
    }
    free(text);
    return rc;
}

/* Dead letters: candidates by substring, page by page, deleted by id once mentions() agrees. */
static enum herald_err erase_dead(struct store_conn *c, const char *email, int limit, int64_t *n)
{
    int64_t after = 0;
    int rc = HERALD_OK;
    for (bool more = true; !rc && more;) {
        struct store_res r = {0};
        struct store_val p[] = {SV_STR(email), SV_I64(after), SV_I64(limit)};
        rc = store_query(c, STMT_PRIV_ER_DEAD_PICK, p, 3, &r);
        more = !rc && r.nrows == limit;
        after = !rc && r.nrows ? store_res_i64(&r, r.nrows - 1, 0) : after;
        keep_mentions(&r, email, 1, 2);
        json_t *ids = json_array();
        for (int i = 0; i < r.nrows; i++)
            json_array_append_new(ids, json_integer(store_res_i64(&r, i, 0)));
        store_res_free(&r);
        char *text = !rc && json_array_size(ids) ? json_dumps(ids, JSON_COMPACT) : NULL;
        json_decref(ids);
        int64_t gone = 0;
        struct store_val q[] = {SV_STR(text)};
        rc = rc || !text ? rc : store_query_changes(c, STMT_PRIV_ER_DEAD_IDS, q, 1, &gone);
        *n += gone;
        free(text);
    }
    return rc;
}

/* *n counts revisions and reservations anonymised. */
static enum herald_err erase_reservations(struct store_conn *c, const char *email, int64_t *n)
{
    struct store_val p[] = {SV_STR(email)};
    int64_t rows = 0;
    int rc = store_query_changes(c, STMT_PRIV_ER_REVISIONS, p, 1, n);
    rc = rc ? rc : store_query_changes(c, STMT_PRIV_ER_RESERVATIONS, p, 1, &rows);
    *n += rows;
    return rc;
}

static enum herald_err erase_contact(struct store_conn *c, enum store_privacy_src src,
                                     int64_t contact_id, int64_t *n)
{
    struct store_val p[] = {SV_I64(contact_id)};
    int64_t more = 0;
    int rc;
    switch (src) {
    case STORE_PSRC_CONTACT:
        return store_query_changes(c, STMT_PRIV_ER_CONTACT, p, 1, n);
    case STORE_PSRC_SUBSCRIPTIONS:
        return store_query_changes(c, STMT_PRIV_ER_SUBS, p, 1, n);
    case STORE_PSRC_SENDS:
        return store_query_changes(c, STMT_PRIV_ER_SENDS, p, 1, n);
    case STORE_PSRC_FEEDBACK:
        rc = store_query_changes(c, STMT_PRIV_ER_FEEDBACK, p, 1, n);
        rc = rc ? rc : store_query_changes(c, STMT_PRIV_ER_FEEDBACK_REPORTS, p, 1, &more);
        *n += more;
        return rc;
    default:
        return HERALD_ERR_INTERNAL;
    }
}

enum herald_err store_privacy_erase_step(struct store_conn *c, enum store_privacy_src src,
                                         const char *email, int64_t contact_id, const char *salt,
                                         const char *addr_hash, int limit, int64_t *n)
{
    *n = 0;
    struct store_val p[] = {SV_STR(email), SV_STR(addr_hash)};
    switch (src) {
    case STORE_PSRC_EVENTS:
        return erase_events(c, email, salt, limit, n);
    case STORE_PSRC_DEAD_LETTERS:
        return erase_dead(c, email, limit, n);
    case STORE_PSRC_AUDIT:
        return store_query_changes(c, STMT_PRIV_ER_AUDIT, p, 2, n);
    case STORE_PSRC_RESERVATIONS:
        return erase_reservations(c, email, n);
    default:
        return contact_id ? erase_contact(c, src, contact_id, n) : HERALD_OK;
    }
}

/* ---- retention ---- */
enum herald_err store_retention_step(struct store_conn *c, enum store_retention_kind kind,
                                     int64_t before_ms, int limit, int64_t *n)
{
    static const enum store_stmt stmts[STORE_RET__COUNT] = {
        [STORE_RET_EVENTS] = STMT_PRIV_RET_EVENTS,
        [STORE_RET_SENDS] = STMT_PRIV_RET_SENDS,
        [STORE_RET_FEEDBACK] = STMT_PRIV_RET_FEEDBACK,
        [STORE_RET_DEAD_LETTERS] = STMT_PRIV_RET_DEAD,
        [STORE_RET_RESERVATIONS] = STMT_PRIV_RET_RESERVATIONS,
    };
    char day[16];
    time_t t = (time_t)(before_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    struct store_val p[] = {SV_I64(before_ms), SV_I64(limit), SV_ARR(day)};
    *n = 0;
    return store_query_changes(c, stmts[kind], p, kind == STORE_RET_RESERVATIONS ? 3 : 2, n);
}

enum herald_err store_retention_record(struct store_conn *c, const char *job_id, const char *report,
                                       int64_t now_ms)
{
    struct store_val p[] = {SV_STR(job_id), SV_STR(report), SV_I64(now_ms)};
    return store_query_changes(c, STMT_PRIV_RET_RECORD, p, 3, NULL);
}

enum herald_err store_retention_last(struct store_conn *c, char **report, int64_t *at_ms)
{
    struct store_res r = {0};
    *report = NULL;
    *at_ms = 0;
    int rc = store_query(c, STMT_PRIV_RET_LAST, NULL, 0, &r);
    if (!rc && r.nrows) {
        *report = dup_or_null(store_res_text(&r, 0, 0));
        *at_ms = store_res_i64(&r, 0, 1);
    }
    store_res_free(&r);
    return rc;
}
