/* Privacy: the streaming ZIP writer (read back with zlib) and the store's privacy operations
 * (salt, address hashes, suppression filter, append-only audit log, anonymised event keys) on
 * SQLite and, with HERALD_TEST_PG_URL, on a PostgreSQL database of its own. */
#include "unit.h"
#include "unit_db.h"

#include <jansson.h>
#include <zlib.h>

#include "base/buf.h"
#include "privacy/zip.h"
#include "store/internal.h"
#include "store/privacy.h"
#include "store/store.h"

static char db_url[512];

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Inflates entry `i` of the archive through its central directory record. */
static void check_entry(const uint8_t *z, size_t len, const uint8_t *cd, const char *name,
                        const char *content)
{
    assert_int_equal(rd32(cd), 0x02014b50);
    uint32_t crc = rd32(cd + 16), csize = rd32(cd + 20), usize = rd32(cd + 24);
    uint16_t nlen = rd16(cd + 28);
    uint32_t off = rd32(cd + 42);
    assert_memory_equal(cd + 46, name, strlen(name));
    assert_int_equal(nlen, strlen(name));
    assert_int_equal(usize, strlen(content));
    assert_int_equal(crc, (uint32_t)crc32(0, (const Bytef *)content, (uInt)strlen(content)));
    assert_int_equal(rd32(z + off), 0x04034b50);
    const uint8_t *data = z + off + 30 + rd16(z + off + 26);
    assert_true(data + csize + 16 <= z + len);
    assert_int_equal(rd32(data + csize), 0x08074b50); /* the data descriptor */
    char out[4096];
    z_stream s = {0};
    assert_int_equal(inflateInit2(&s, -15), Z_OK);
    s.next_in = (Bytef *)data;
    s.avail_in = csize;
    s.next_out = (Bytef *)out;
    s.avail_out = sizeof(out);
    assert_int_equal(inflate(&s, Z_FINISH), Z_STREAM_END);
    assert_int_equal(s.total_out, strlen(content));
    assert_memory_equal(out, content, strlen(content));
    inflateEnd(&s);
}

static void test_zip(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    struct zipw w;
    zipw_init(&w, &out, 1700000000000LL);
    const char *a = "id,email\r\n1,\"a@example.com\"\r\n", *b = "";
    assert_int_equal(zipw_begin(&w, "contact.csv"), HERALD_OK);
    assert_int_equal(zipw_write(&w, a, 10), HERALD_OK);
    assert_int_equal(zipw_write(&w, a + 10, strlen(a) - 10), HERALD_OK);
    assert_int_equal(zipw_begin(&w, "nested.csv"), HERALD_ERR_INTERNAL); /* one file at a time */
    assert_int_equal(zipw_end_file(&w), HERALD_OK);
    assert_int_equal(zipw_begin(&w, "empty.csv"), HERALD_OK);
    assert_int_equal(zipw_finish(&w), HERALD_OK);
    zipw_free(&w);
    const uint8_t *z = (const uint8_t *)out.data;
    const uint8_t *eocd = z + out.len - 22;
    assert_int_equal(rd32(eocd), 0x06054b50);
    assert_int_equal(rd16(eocd + 10), 2);
    const uint8_t *cd = z + rd32(eocd + 16);
    assert_int_equal(rd32(eocd + 12) + rd32(eocd + 16) + 22, out.len);
    check_entry(z, out.len, cd, "contact.csv", a);
    check_entry(z, out.len, cd + 46 + strlen("contact.csv"), "empty.csv", b);
    buf_free(&out);
}

struct fx {
    char salt[STORE_PRIVACY_HASH_LEN], salt2[STORE_PRIVACY_HASH_LEN];
    char *kept;
    int64_t dropped, n;
    bool sup_a, sup_b;
};

static int salt_tx(struct store_conn *c, void *arg)
{
    struct fx *f = arg;
    int rc = store_privacy_salt(c, f->salt);
    return rc ? rc : store_privacy_salt(c, f->salt2);
}

static int suppress_tx(struct store_conn *c, void *arg)
{
    struct fx *f = arg;
    char h[STORE_PRIVACY_HASH_LEN];
    store_privacy_hash(f->salt, "a@example.com", h);
    int rc = store_suppression_add(c, h, "erasure", 1);
    rc = rc ? rc : store_suppression_add(c, h, "erasure", 2); /* idempotent */
    rc = rc ? rc : store_suppressed(c, "a@example.com", &f->sup_a);
    rc = rc ? rc : store_suppressed(c, "b@example.com", &f->sup_b);
    return rc ? rc
              : store_suppression_filter(
                    c, "[[\"a@example.com\",\"\",{}],[\"b@example.com\",\"B\",{}]]", &f->kept,
                    &f->dropped);
}

static int events_tx(struct store_conn *c, void *arg)
{
    struct fx *f = arg;
    const char *sql =
        "INSERT INTO event_source (event_key, platform, campaign_id, event_type, email, payload, "
        "event_time_ms, created_at_ms) VALUES ('herald_c_opened_1', 'herald', 'c', 'opened', "
        "'a@example.com', '{}', 1, 1), ('herald_c_opened_2', 'herald', 'c', 'opened', "
        "'a@example.com', '{}', 1, 1), ('herald_c_opened_3', 'herald', 'c', 'opened', "
        "'b@example.com', '{}', 1, 1)";
    int rc = store_exec(c, sql);
    return rc ? rc
              : store_privacy_erase_step(c, STORE_PSRC_EVENTS, "a@example.com", 0, f->salt, "h",
                                         500, &f->n);
}

static int audit_tx(struct store_conn *c, void *arg)
{
    (void)arg;
    struct store_audit a = {
        .at_ms = 5, .actor = "k1", .action = "privacy.export", .subject = "a@example.com"};
    int rc = store_audit_insert(c, &a);
    int64_t n = 0;
    rc = rc ? rc
            : store_privacy_erase_step(c, STORE_PSRC_AUDIT, "a@example.com", 0, "s", "hash-of-a",
                                       10, &n);
    return rc ? rc : n == 1 ? HERALD_OK : HERALD_ERR_INTERNAL;
}

static int tamper_tx(struct store_conn *c, void *arg)
{
    return store_exec(c, arg);
}

static int list_tx(struct store_conn *c, void *arg)
{
    struct store_audit *rows = NULL;
    size_t n = 0;
    int rc = store_audit_list(c, arg, 0, 10, &rows, &n);
    if (!rc && (n != 1 || !rows[0].subject_hashed || strcmp(rows[0].subject, "hash-of-a")))
        rc = HERALD_ERR_INTERNAL;
    store_audits_free(rows, n);
    return rc;
}

static void test_store_ops(void **state)
{
    (void)state;
    struct store_opts opts = {db_url, 1, 2, false};
    struct store *st;
    assert_int_equal(store_open(&opts, &st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    struct fx f = {0};
    assert_int_equal(store_run_tx(st, salt_tx, &f), HERALD_OK);
    assert_int_equal(strlen(f.salt), 64);
    assert_string_equal(f.salt, f.salt2); /* created once */
    assert_int_equal(store_run_tx(st, suppress_tx, &f), HERALD_OK);
    assert_true(f.sup_a);
    assert_false(f.sup_b);
    assert_int_equal(f.dropped, 1);
    assert_string_equal(f.kept, "[[\"b@example.com\",\"B\",{}]]");
    free(f.kept);
    assert_int_equal(store_run_tx(st, events_tx, &f), HERALD_OK);
    assert_int_equal(f.n, 2);
    assert_int_equal(store_run_tx(st, audit_tx, NULL), HERALD_OK);
    assert_int_equal(store_run_read(st, list_tx, "hash-of-a"), HERALD_OK);
    /* Append-only: neither a delete nor any other change gets through. */
    assert_int_not_equal(store_run_tx(st, tamper_tx, "DELETE FROM audit_log"), HERALD_OK);
    assert_int_not_equal(store_run_tx(st, tamper_tx, "UPDATE audit_log SET actor = 'x'"),
                         HERALD_OK);
    store_close(st);
}

/* Inserts one event of each address with keys made from `tag`; created/suppressed out. */
struct supp_fx {
    const char *tag;
    bool created[3], suppressed[3];
    const char *salt;
};

static int supp_events_tx(struct store_conn *c, void *arg)
{
    struct supp_fx *f = arg;
    const char *emails[3] = {"a@example.com", "b@example.com", " A@Example.COM "};
    struct store_event evs[3];
    const struct store_event *ptrs[3];
    char keys[3][32];
    for (int i = 0; i < 3; i++) {
        snprintf(keys[i], sizeof(keys[i]), "herald_c_opened_%s%d", f->tag, i);
        evs[i] = (struct store_event){.event_key = keys[i],
                                      .platform = "herald",
                                      .campaign_id = "c",
                                      .event_type = "opened",
                                      .email = (char *)emails[i],
                                      .created_at_ms = 1};
        ptrs[i] = &evs[i];
    }
    return store_event_insert_many(c, ptrs, 3, f->created, f->suppressed);
}

static int supp_add_tx(struct store_conn *c, void *arg)
{
    struct supp_fx *f = arg;
    char h[STORE_PRIVACY_HASH_LEN];
    store_privacy_hash(f->salt, "a@example.com", h);
    return store_suppression_add(c, h, "erasure", 1);
}

/* The writers' check: nothing is dropped while the list is empty; once an address is on it,
 * its events (any case, any surrounding blanks) are dropped and reported, the others stored. */
static void test_suppressed_events(void **state)
{
    (void)state;
    struct store_opts opts = {db_url, 1, 2, false};
    struct store *st;
    assert_int_equal(store_open(&opts, &st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    struct fx salt = {0};
    assert_int_equal(store_run_tx(st, salt_tx, &salt), HERALD_OK);
    struct supp_fx f = {.tag = "x", .salt = salt.salt};
    assert_int_equal(store_run_tx(st, supp_events_tx, &f), HERALD_OK);
    for (int i = 0; i < 3; i++)
        assert_false(f.suppressed[i]);
    assert_true(f.created[0] && f.created[1] && f.created[2]);
    assert_int_equal(store_suppression_version(st), 0);
    assert_false(store_suppression_hit(st, "a@example.com"));
    assert_int_equal(store_run_tx(st, supp_add_tx, &f), HERALD_OK);
    f.tag = "y";
    assert_int_equal(store_run_tx(st, supp_events_tx, &f), HERALD_OK);
    assert_true(f.suppressed[0] && f.suppressed[2]);
    assert_false(f.created[0] || f.created[2]);
    assert_true(f.created[1] && !f.suppressed[1]);
    assert_int_equal(store_suppression_version(st), 1);
    assert_true(store_suppression_hit(st, "  A@EXAMPLE.com"));
    assert_false(store_suppression_hit(st, "b@example.com"));
    assert_false(store_suppression_hit(st, ""));
    assert_int_equal(store_suppression_refresh_read(st, 0), HERALD_OK);
    assert_int_equal(store_suppression_version(st), 1);
    store_close(st);
}

static int setup_sqlite(void **state)
{
    (void)state;
    unit_sqlite_url("privacy", db_url, sizeof(db_url));
    return 0;
}

static int setup_postgres(void **state)
{
    (void)state;
    unit_pg_url("privacy", db_url, sizeof(db_url));
    return 0;
}

int main(void)
{
    const struct CMUnitTest checks[] = {
        cmocka_unit_test(test_zip),
        cmocka_unit_test_setup(test_store_ops, setup_sqlite),
        cmocka_unit_test_setup(test_suppressed_events, setup_sqlite),
    };
    int failed = cmocka_run_group_tests_name("privacy", checks, NULL, NULL);
    const char *pg = getenv("HERALD_TEST_PG_URL");
    if (pg && *pg) {
        const struct CMUnitTest on_postgres[] = {
            cmocka_unit_test_setup(test_store_ops, setup_postgres),
            cmocka_unit_test_setup(test_suppressed_events, setup_postgres),
        };
        failed += cmocka_run_group_tests_name("privacy on postgres", on_postgres, NULL, NULL);
    }
    return failed;
}
