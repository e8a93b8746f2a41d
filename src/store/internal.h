/* Private to store/: the backend table each dialect implements, the statement registry and
 * the materialised result type the operations read. */
#ifndef HERALD_STORE_INTERNAL_H
#define HERALD_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "store/store.h"

enum store_stmt {
    STMT_PING,
    STMT_KEY_INSERT,
    STMT_KEY_BY_HASH,
    STMT_KEY_BY_ID,
    STMT_KEY_LIST,
    STMT_KEY_PAGE,
    STMT_KEY_REVOKE,
    STMT_KEY_ROTATE,
    STMT_KEY_COUNT_ACTIVE,
    STMT_EVENT_INSERT,
    STMT_EVENT_INSERT_MANY, /* PostgreSQL only */
    STMT_EVENT_LIST,
    STMT_EVENT_LIST_BY_EMAIL,
    STMT_EVENT_LIST_BY_CAMPAIGN,
    STMT_MIGRATIONS_TABLE,
    STMT_MIGRATIONS_LIST,
    STMT_MIGRATION_RECORD,
    STMT_MIGRATION_DELETE,
    STMT_JOB_INSERT,
    STMT_JOB_GET,
    STMT_JOB_LIST,
    STMT_JOB_CLAIM,
    STMT_JOB_PROGRESS,
    STMT_JOB_FENCE,
    STMT_JOB_FINISH,
    STMT_JOB_RETRY_LATER,
    STMT_JOB_CANCEL_PENDING,
    STMT_JOB_CANCEL_RUNNING,
    STMT_JOB_QUEUE_STATS,
    STMT_JOB_REQUEUE,
    STMT_DEAD_LETTER_INSERT,
    STMT_DEAD_LETTER_LIST,
    STMT_DEAD_LETTER_GET,
    STMT_DEAD_LETTER_RETRIED,
    STMT_CURSOR_GET,
    STMT_CURSOR_SET,
    STMT_FWD_ACQUIRE,
    STMT_SCHED_UPSERT,
    STMT_SCHED_GET,
    STMT_SCHED_CLAIM,
    STMT_FWD_ADVANCE,
    STMT_FWD_STATE,
    STMT_EVENTS_AFTER,
    STMT_EVENTS_LAG,
    STMT_CATALOGUE_TABLES,  /* name, rows, table bytes, index bytes */
    STMT_CATALOGUE_INDEXES, /* name, table, bytes */
    STMT_CORE__END,

    /* Each further block is one file's statements, in its own table (store_stmt_def()):
     * a block starts at its __BASE marker (no statement) and ends at its __END marker. */
    /* lists, contacts, subscriptions, consent, imports (store/contacts.c) */
    STMT_CONTACTS__BASE = STMT_CORE__END,
    STMT_LIST_INSERT,
    STMT_LIST_GET,
    STMT_LIST_OPTIN,
    STMT_LIST_LIST,
    STMT_LIST_UPDATE,
    STMT_LIST_DELETE_SUBS,
    STMT_LIST_DELETE,
    STMT_CONTACT_INSERT,
    STMT_CONTACT_GET,
    STMT_CONTACT_GET_FOR_UPDATE,
    STMT_CONTACT_BY_EMAIL,
    STMT_CONTACT_UPDATE,
    STMT_CONTACT_DELETE_SUBS,
    STMT_CONTACT_DELETE,
    STMT_CONTACT_LIST,
    STMT_CONTACT_UNSUBSCRIBE_ALL,
    STMT_CONTACT_SET_DELIVERY,
    STMT_CONTACT_MAILABLE,
    STMT_SUB_UPSERT,
    STMT_SUB_GET,
    STMT_SUB_LIST,
    STMT_SUB_DELETE,
    STMT_SUB_CONFIRM,
    STMT_SUB_UNSUBSCRIBE,

    STMT_CONTACTS__END,
    /* templates (store/templates.c) */
    STMT_TEMPLATES__BASE = STMT_CONTACTS__END,
    STMT_TEMPLATE_INSERT,
    STMT_TEMPLATE_GET,
    STMT_TEMPLATE_UPDATE,
    STMT_TEMPLATE_DELETE,
    STMT_TEMPLATE_LIST,
    STMT_TEMPLATE_TABLE_EXISTS, /* another module's table: contacts (0007), campaigns (0009) */
    STMT_TEMPLATE_CAMPAIGN_USES,
    STMT_TEMPLATE_CONTACT_GET,

    STMT_TEMPLATES__END,
    /* campaigns and the send queue (store/campaigns.c) */
    STMT_CAMPAIGNS__BASE = STMT_TEMPLATES__END,
    STMT_CAMPAIGN_INSERT,
    STMT_CAMPAIGN_LIST_ADD,
    STMT_CAMPAIGN_LISTS_DELETE,
    STMT_CAMPAIGN_GET,
    STMT_CAMPAIGN_LISTS_GET,
    STMT_CAMPAIGN_LIST,
    STMT_CAMPAIGN_UPDATE,
    STMT_CAMPAIGN_DELETE,
    STMT_CAMPAIGN_QUEUE_DELETE,
    STMT_CAMPAIGN_TRANSITION,
    STMT_CAMPAIGN_SET_RECIPIENTS,
    STMT_CAMPAIGN_STATUS,
    STMT_CAMPAIGN_FINISH_IF_DONE,
    STMT_CAMPAIGN_FINISH_ALL_DONE,
    STMT_CAMPAIGN_LIST_EXISTS,
    STMT_CAMPAIGN_QUEUE_COUNTS,
    STMT_CAMPAIGN_FEEDBACK_COUNTS,
    STMT_CAMPAIGN_SENT_SINCE,
    STMT_CAMPAIGN_TEMPLATE_GET,
    STMT_CAMPAIGN_CONTACT_BY_EMAIL,
    STMT_SENDQ_FILL_BOUND,
    STMT_SENDQ_FILL,
    STMT_SENDQ_COUNT,
    STMT_SENDQ_CLAIM,
    STMT_SENDQ_CLAIMED,
    STMT_SENDQ_RECHECK,
    STMT_SENDQ_RENEW,
    STMT_SENDQ_RESULTS,
    STMT_SENDQ_CANCEL,
    STMT_SENDQ_DEPTH,
    STMT_SENDQ_FIND,
    STMT_SENDQ_CONTACT_BOUNCED,
    STMT_MAIL_FEEDBACK_INSERT,
    STMT_CAMPAIGN_SNAPSHOT,

    STMT_CAMPAIGNS__END,
    /* opens, clicks, bounces, complaints, unsubscribes, statistics (store/feedback.c) */
    STMT_FEEDBACK__BASE = STMT_CAMPAIGNS__END,
    STMT_FB_CONTACT_GET,
    STMT_FB_CONTACT_BY_EMAIL,
    STMT_FB_SUBS,
    STMT_FB_LIST_NAME,
    STMT_FB_SUB_UNSUBSCRIBE,
    STMT_FB_SUB_RESUBSCRIBE,
    STMT_FB_GLOBAL_SET,
    STMT_FB_GLOBAL_CLEAR,
    STMT_FB_QUEUE_ROW,
    STMT_FB_QUEUE_BOUNCED,
    STMT_FB_DELIVERY_BOUNCED,
    STMT_FB_DELIVERY_COMPLAINED,
    STMT_FB_SOFT_BOUNCE,
    STMT_FB_INSERT,
    STMT_FB_CLAIM_REPORT,
    STMT_FB_COUNTS,
    STMT_FB_COUNTS_ALL,
    STMT_FB_QUEUE_STATS,
    STMT_FB_QUEUE_STATS_ALL,
    STMT_FB_TOKEN_SUBS,
    STMT_FEEDBACK__END,
    /* CSV contact imports: uploaded chunks, batch upserts (store/imports.c) */
    STMT_IMPORTS__BASE = STMT_FEEDBACK__END,
    STMT_IMPORT_CREATE,
    STMT_IMPORT_CHUNK_PUT,
    STMT_IMPORT_TOUCH,
    STMT_IMPORT_CHUNK_GET,
    STMT_IMPORT_UPLOADED,
    STMT_IMPORT_SET_JOB,
    STMT_IMPORT_GET,
    STMT_IMPORT_SAVE,
    STMT_IMPORT_DELETE_CHUNKS,
    STMT_IMPORT_DELETE_ROW,
    STMT_IMPORT_SWEEP_CHUNKS,
    STMT_IMPORT_SWEEP_ROWS,
    STMT_IMPORT_LIST_OPTIN,
    STMT_IMPORT_UPDATE,
    STMT_IMPORT_INSERT,
    STMT_IMPORT_SUBSCRIBE,

    STMT_IMPORTS__END,
    /* ---- ota_channels.c: OTA channels (encrypted credentials) and their pull cursors ---- */
    STMT_OTA_CHANNELS__BASE = STMT_IMPORTS__END,

    STMT_OTA_CHANNEL_INSERT,
    STMT_OTA_CHANNEL_UPDATE,
    STMT_OTA_CHANNEL_DELETE,
    STMT_OTA_CHANNEL_GET,
    STMT_OTA_CHANNEL_LIST,
    STMT_OTA_CHANNEL_DUE,
    STMT_OTA_CHANNEL_CLAIM_PULL,
    STMT_OTA_CHANNEL_PULL_RESULT,
    STMT_OTA_CHANNELS__END,
    /* ---- ota_reservations.c: reservations and their revisions ---- */
    STMT_OTA_RESERVATIONS__BASE = STMT_OTA_CHANNELS__END,
    STMT_OTA_RES_INSERT,
    STMT_OTA_RES_FIND,
    STMT_OTA_RES_SET_LATEST,
    STMT_OTA_RES_GET,
    STMT_OTA_RES_LIST,
    STMT_OTA_REV_INSERT,
    STMT_OTA_REV_FIND,
    STMT_OTA_REV_LIST,

    STMT_OTA_RESERVATIONS__END,
    /* ---- ota_inbound.c: pushed messages and webhook ids already seen ---- */
    STMT_OTA_INBOUND__BASE = STMT_OTA_RESERVATIONS__END,
    STMT_OTA_SEEN_GET,
    STMT_OTA_SEEN_MARK,
    STMT_OTA_SEEN_SWEEP,
    STMT_OTA_INBOUND__END,
    /* ---- ota_updates.c: rate and availability intents and the delivery outbox ---- */
    STMT_OTA_UPDATES__BASE = STMT_OTA_INBOUND__END,
    STMT_ARI_INTENT_INSERT,
    STMT_ARI_UPDATE_INSERT,
    STMT_ARI_SUPERSEDE,
    STMT_ARI_UNCHANGED,
    STMT_ARI_STATE_ENSURE,
    STMT_ARI_STATE_GET,
    STMT_ARI_STATE_SAVE,
    STMT_ARI_KICK,
    STMT_ARI_RESET_SENDING,
    STMT_ARI_PENDING,
    STMT_ARI_PENDING_WITHIN,
    STMT_ARI_MARK_SENDING,
    STMT_ARI_OUTCOME,
    STMT_ARI_FAILED_CHANNELS,
    STMT_ARI_REQUEUE,
    STMT_ARI_FAILED_COUNT,
    STMT_ARI_FAIL_CHANNEL,
    STMT_ARI_LIST,

    STMT_OTA_UPDATES__END,
    /* ---- automations.c: guests' consent from reservations and stay-triggered automations ---- */
    STMT_AUTOMATIONS__BASE = STMT_OTA_UPDATES__END,
    STMT_AUTOMATION_INSERT,
    STMT_AUTOMATION_GET,
    STMT_AUTOMATION_LIST,
    STMT_AUTOMATION_UPDATE,
    STMT_AUTOMATION_DELETE,
    STMT_AUTOMATION_SENDS_OF,
    STMT_AUTOMATION_SEND_INSERT,
    STMT_AUTOMATION_SEND_RESCHEDULE,
    STMT_AUTOMATION_SEND_CLOSE,
    STMT_AUTOMATION_SENDS_DUE,
    STMT_AUTOMATION_SENDS_LIST,
    STMT_AUTOMATION_SEND_QUEUED,
    STMT_AUTOMATION_SEND_CAMPAIGN,
    STMT_AUTOMATION_CONTACT,
    STMT_AUTOMATION_CONFIRMED_LIST,
    STMT_AUTOMATION_CAMPAIGN_MARK,
    STMT_AUTOMATION_QUEUE_INSERT,
    STMT_AUTOMATION_FB_COUNTS,
    STMT_AUTOMATION_QUEUE_STATS,
    STMT_AUTOMATIONS__END,

    /* ---- privacy.c: suppression list, audit log, export/erase/retention queries ---- */
    STMT_PRIVACY__BASE = STMT_AUTOMATIONS__END,
    STMT_PRIV_SALT_GET,
    STMT_PRIV_SALT_PUT,
    STMT_PRIV_SUPP_ADD,
    STMT_PRIV_SUPP_GET,
    STMT_PRIV_SUPP_COUNT,
    STMT_PRIV_SUPP_ANY,
    STMT_PRIV_SUPP_EXISTS,
    STMT_PRIV_SUPP_ALL,
    STMT_PRIV_AUDIT_INSERT,
    STMT_PRIV_AUDIT_INSERT_MANY,
    STMT_PRIV_AUDIT_LIST,
    STMT_PRIV_AUDIT_LIST_SUBJECT,
    STMT_PRIV_ER_INSERT,
    STMT_PRIV_ER_SET_JOB,
    STMT_PRIV_ER_GET,
    STMT_PRIV_ER_SET_IDS,
    STMT_PRIV_ER_FINISH,
    STMT_PRIV_ER_MIXPANEL,
    STMT_PRIV_CONTACT_ID,
    STMT_PRIV_FORWARDED,
    STMT_PRIV_EXP_CONTACT,
    STMT_PRIV_EXP_SUBS,
    STMT_PRIV_EXP_EVENTS,
    STMT_PRIV_EXP_SENDS,
    STMT_PRIV_EXP_FEEDBACK,
    STMT_PRIV_EXP_DEAD,
    STMT_PRIV_EXP_AUDIT,
    STMT_PRIV_ER_EVENTS_PICK,
    STMT_PRIV_ER_EVENTS_SET,
    STMT_PRIV_ER_SUBS,
    STMT_PRIV_ER_CONTACT,
    STMT_PRIV_ER_SENDS,
    STMT_PRIV_ER_FEEDBACK,
    STMT_PRIV_ER_FEEDBACK_REPORTS,
    STMT_PRIV_ER_DEAD_PICK,
    STMT_PRIV_ER_DEAD_IDS,
    STMT_PRIV_ER_AUDIT,
    STMT_PRIV_RET_EVENTS,
    STMT_PRIV_RET_SENDS,
    STMT_PRIV_RET_FEEDBACK,
    STMT_PRIV_RET_DEAD,
    STMT_PRIV_RET_RECORD,
    STMT_PRIV_EXP_RESERVATIONS,
    STMT_PRIV_ER_REVISIONS,
    STMT_PRIV_ER_RESERVATIONS,
    STMT_PRIV_RET_RESERVATIONS,
    STMT_PRIV_RET_LAST,

    STMT_PRIVACY__END,
    STMT__COUNT = STMT_PRIVACY__END
};

enum store_dialect { DIALECT_SQLITE, DIALECT_POSTGRES };

/* Statement text uses $1..$N; the SQLite backend rewrites them to ?1..?N. */
struct store_stmt_def {
    const char *sql;
    const char *sql_postgres; /* only where the dialects differ */
    bool is_write;
};
/* One table per block, indexed from the block's __BASE (entry 0 is the marker, empty). */
extern const struct store_stmt_def store_stmts[STMT_CORE__END];
extern const struct store_stmt_def store_contacts_stmts[STMT_CONTACTS__END - STMT_CONTACTS__BASE];
extern const struct store_stmt_def
    store_templates_stmts[STMT_TEMPLATES__END - STMT_TEMPLATES__BASE];
extern const struct store_stmt_def
    store_campaigns_stmts[STMT_CAMPAIGNS__END - STMT_CAMPAIGNS__BASE];
extern const struct store_stmt_def store_feedback_stmts[STMT_FEEDBACK__END - STMT_FEEDBACK__BASE];
extern const struct store_stmt_def store_imports_stmts[STMT_IMPORTS__END - STMT_IMPORTS__BASE];
extern const struct store_stmt_def
    store_ota_channels_stmts[STMT_OTA_CHANNELS__END - STMT_OTA_CHANNELS__BASE];
extern const struct store_stmt_def
    store_ota_reservations_stmts[STMT_OTA_RESERVATIONS__END - STMT_OTA_RESERVATIONS__BASE];
extern const struct store_stmt_def
    store_ota_inbound_stmts[STMT_OTA_INBOUND__END - STMT_OTA_INBOUND__BASE];
extern const struct store_stmt_def
    store_ota_updates_stmts[STMT_OTA_UPDATES__END - STMT_OTA_UPDATES__BASE];
extern const struct store_stmt_def
    store_automations_stmts[STMT_AUTOMATIONS__END - STMT_AUTOMATIONS__BASE];
extern const struct store_stmt_def store_privacy_stmts[STMT_PRIVACY__END - STMT_PRIVACY__BASE];
/* The definition of any statement id; its sql is NULL for a block marker. */
const struct store_stmt_def *store_stmt_def(enum store_stmt id);
/* NULL for a block marker. */
const char *store_stmt_sql(enum store_stmt id, enum store_dialect d);
/* Which of the STMT_EVENT_LIST* statements answers a filter (all take the same parameters). */
enum store_stmt store_event_list_stmt(const struct store_event_filter *f);

enum store_val_type { SV_NULL, SV_TEXT, SV_INT };
struct store_val {
    enum store_val_type type;
    const char *text;
    int64_t i;
};
#define SV_STR(s) ((struct store_val){(s) ? SV_TEXT : SV_NULL, (s), 0})
#define SV_I64(v) ((struct store_val){SV_INT, NULL, (v)})
#define SV_NUL ((struct store_val){SV_NULL, NULL, 0})

/* A fully read result: text cells, NULL for SQL NULL. */
/* A result's cells are text (NULL for SQL NULL) that belongs to the result, not to the cell:
 * SQLite's are copied into a few large blocks, PostgreSQL's stay in the PGresult. A reader
 * that keeps a value past store_res_free() copies it; nobody frees or steals one cell. */
struct store_res_block;
struct store_res {
    int nrows, ncols;
    char **cells;
    int64_t changes; /* rows an INSERT/UPDATE/DELETE touched */
    struct store_res_block *blocks;
    void *owner; /* released with release() by store_res_free() */
    void (*release)(void *owner);
};
/* A copy of len bytes of s, NUL-terminated, that lives as long as r. NULL: out of memory. */
char *store_res_copy(struct store_res *r, const char *s, size_t len);
void store_res_free(struct store_res *r);
const char *store_res_text(const struct store_res *r, int row, int col);
int64_t store_res_i64(const struct store_res *r, int row, int col);

struct store_backend {
    const char *name;
    enum store_dialect dialect;
    int (*open)(struct store *st, const struct store_opts *opts);
    void (*close)(struct store *st);
    int (*connect)(struct store *st, void **out_conn);
    void (*disconnect)(void *conn);
    /* False once the connection is unusable; the pool then drops it. */
    bool (*usable)(void *conn);
    /* Runs SQL text without parameters (several statements allowed). */
    int (*exec)(void *conn, const char *sql);
    int (*query)(void *conn, enum store_stmt id, const struct store_val *params, int nparams,
                 struct store_res *out);
    const char *begin_write_sql;
    const char *begin_read_sql;
    /* Serialises concurrent migrators inside a transaction; NULL if BEGIN already does. */
    const char *migrate_lock_sql;
    int (*backup)(struct store *st, const char *path);
    int (*verify_backup)(struct store *st, const char *path);
    int (*restore)(struct store *st, const char *path);
    int (*lock_instance)(struct store *st, bool exclusive);
    void (*unlock_instance)(struct store *st);
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_postgres_backend;

struct pool_conn {
    void *impl;
    unsigned generation;
    struct pool_conn *next;
};

/* store/privacy.c: this process's copy of the suppression list (hashes sorted, 64 hex digits
 * each, no NUL), refreshed when the list's row count changes. */
struct store_supp {
    pthread_mutex_t mu;
    int64_t checked_ms, count;
    _Atomic int64_t exists_ms; /* when the privacy tables were last seen */
    char salt[65];
    char *hashes;
    size_t n;
};

struct store {
    const struct store_backend *be;
    void *be_state; /* the backend's own */
    char *url;
    bool sqlite_sync_full;
    /* SQLite admits one writer: this process's write transactions (and store_run_plain())
     * wait for their turn on this mutex, where a finished one wakes a waiter at once, instead
     * of in SQLite's busy handler, which sleeps 1, 2, 5, 10… ms between tries (a mutex is not
     * FIFO: the wait is bounded by the busy timeout, then retried). Recursive: a nested write
     * on the same thread keeps SQLite's own answer. Not used on PostgreSQL. */
    pthread_mutex_t write_mu;
    bool serialize_writes;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pool_conn *idle;
    int n_idle, n_active, n_waiting, pool_min, pool_max;
    unsigned generation; /* bumped when a connection is found dead: drop the older ones */
    atomic_uint_fast64_t select_count, select_ns, write_count, write_ns, slow_queries, soft_retries;
    /* Per statement id: runs, total and longest time (store_slowest_statements()). */
    atomic_uint_fast64_t stmt_count[STMT__COUNT], stmt_ns[STMT__COUNT], stmt_max_ns[STMT__COUNT];
    struct store_supp supp;
};

struct store_conn {
    struct store *st;
    struct pool_conn *pc;
    bool broken;
};

/* Runs a registered statement on the connection, timing it for store_get_stats(). */
int store_query(struct store_conn *c, enum store_stmt id, const struct store_val *params,
                int nparams, struct store_res *out);
/* store_query() for a statement whose rows nobody reads; *changes (when not NULL) gets the
 * rows it touched. */
int store_query_changes(struct store_conn *c, enum store_stmt id, const struct store_val *params,
                        int nparams, int64_t *changes);
/* store_query() for a statement answering exactly one id (INSERT ... RETURNING id);
 * HERALD_ERR_DB when it answers another number of rows. */
int store_query_id(struct store_conn *c, enum store_stmt id, const struct store_val *params,
                   int nparams, int64_t *out);
int store_exec(struct store_conn *c, const char *sql);

#endif
