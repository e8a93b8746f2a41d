/* Contacts, lists and subscriptions: the validation helpers, the subscription rule and the
 * MAILABLE rule over the store, on SQLite and (with HERALD_TEST_PG_URL) on a PostgreSQL
 * database of its own. */
#include "unit.h"
#include "unit_db.h"

#include <jansson.h>

#include "base/clock.h"
#include "jobs/jobs.h"
#include "mail/contacts.h"
#include "mail/lists.h"
#include "mail/optin.h"
#include "store/contacts.h"
#include "store/internal.h"
#include "store/store.h"

static char db_url[512];

static void test_email_and_text(void **state)
{
    (void)state;
    char out[MAIL_EMAIL_MAX];
    assert_int_equal(mail_email_normalize("  Ana.B@Example.COM\t", out), HERALD_OK);
    assert_string_equal(out, "ana.b@example.com");
    const char *bad[] = {"", "   ", "no-at", "a b@example.com", "a@", "@example.com", NULL};
    for (int i = 0; i < 6; i++)
        assert_int_equal(mail_email_normalize(bad[i], out), HERALD_ERR_INVALID);
    assert_int_equal(mail_email_normalize(NULL, out), HERALD_ERR_INVALID);
    char longer[300];
    memset(longer, 'a', sizeof(longer));
    memcpy(longer + 280, "@example.com", 13);
    assert_int_equal(mail_email_normalize(longer, out), HERALD_ERR_INVALID);

    size_t n;
    const char *s = mail_text_trim("  two words \n", &n);
    assert_int_equal(n, 9);
    assert_memory_equal(s, "two words", 9);
    assert_true(mail_text_ok("Zoë Müller", strlen("Zoë Müller"), false));
    assert_false(mail_text_ok("a\nb", 3, false));
    assert_true(mail_text_ok("a\r\nb\tc", 6, true));
    assert_false(mail_text_ok("a\x01", 2, true));
    assert_false(mail_text_ok("\xc3", 1, false));         /* truncated */
    assert_false(mail_text_ok("\xc0\xaf", 2, false));     /* overlong */
    assert_false(mail_text_ok("\xed\xa0\x80", 3, false)); /* surrogate */
    assert_true(mail_contact_status_valid("blocklisted"));
    assert_false(mail_contact_status_valid("Enabled"));
    assert_true(mail_list_optin_valid("double"));
    assert_false(mail_list_optin_valid("none"));
}

static void test_attributes(void **state)
{
    (void)state;
    struct herald_error err;
    json_t *a = json_array();
    assert_int_equal(mail_attributes_check(a, &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, "attributes");
    json_decref(a);
    json_t *o = json_object();
    for (int i = 0; i < MAIL_ATTRIBUTES_MAX_KEYS; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        json_object_set_new(o, k, json_integer(i));
    }
    assert_int_equal(mail_attributes_check(o, &err), HERALD_OK);
    json_object_set_new(o, "one-more", json_true());
    assert_int_equal(mail_attributes_check(o, &err), HERALD_ERR_INVALID);
    json_decref(o);
    char *big = malloc(MAIL_ATTRIBUTES_MAX_BYTES);
    memset(big, 'x', MAIL_ATTRIBUTES_MAX_BYTES - 1);
    big[MAIL_ATTRIBUTES_MAX_BYTES - 1] = '\0';
    o = json_pack("{s:s}", "b", big);
    assert_int_equal(mail_attributes_check(o, &err), HERALD_ERR_INVALID);
    json_decref(o);
    free(big);
}

static struct store *open_store(void)
{
    struct store_opts opts = {db_url, 1, 4, false};
    struct store *st;
    assert_int_equal(store_open(&opts, &st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    return st;
}

static int wipe(struct store_conn *c, void *arg)
{
    (void)arg;
    return store_exec(c, "DELETE FROM subscriptions; DELETE FROM contacts; "
                         "DELETE FROM mail_lists");
}

static int64_t contact(struct store_conn *c, const char *email)
{
    struct store_contact ct = {.email = (char *)email, .name = "", .attributes = "{}"};
    snprintf(ct.status, sizeof(ct.status), "enabled");
    snprintf(ct.delivery, sizeof(ct.delivery), "ok");
    int64_t id = 0;
    assert_int_equal(store_contact_insert(c, &ct, 1000, &id), HERALD_OK);
    return id;
}

static bool mailable(struct store_conn *c, int64_t ct, int64_t list)
{
    bool m = true;
    assert_int_equal(store_contact_mailable(c, ct, list, &m), HERALD_OK);
    return m;
}

/* The subscription rule and the MAILABLE rule of subscriptions (rolled back). */
static int rules(struct store_conn *c, void *arg)
{
    (void)arg;
    int64_t single, dbl;
    assert_int_equal(store_list_insert(c, "S", "single", "", 1000, &single), HERALD_OK);
    assert_int_equal(store_list_insert(c, "D", "double", "", 1000, &dbl), HERALD_OK);
    int64_t a = contact(c, "a@example.com");
    struct mail_consent consent = {"api", "192.0.2.1", "terms v1", false};
    bool mail = true;
    assert_int_equal(mail_subscription_add_tx(c, a, single, &consent, 2000, &mail), HERALD_OK);
    assert_false(mail);
    assert_true(mailable(c, a, single));
    assert_int_equal(mail_subscription_add_tx(c, a, dbl, &consent, 2000, &mail), HERALD_OK);
    assert_true(mail);
    assert_false(mailable(c, a, dbl)); /* unconfirmed: nothing from that list */
    assert_int_equal(mail_subscription_add_tx(c, a, 999999, &consent, 2000, &mail),
                     HERALD_ERR_NOT_FOUND);

    bool changed = false;
    assert_int_equal(store_subscription_confirm(c, a, dbl, 3000, &changed), HERALD_OK);
    assert_true(changed);
    assert_int_equal(store_subscription_confirm(c, a, dbl, 3100, &changed), HERALD_OK);
    assert_false(changed); /* idempotent */
    assert_true(mailable(c, a, dbl));
    /* A confirmed subscription keeps its consent record when added again. */
    struct mail_consent later = {"form", "198.51.100.7", "terms v2", true};
    assert_int_equal(mail_subscription_add_tx(c, a, dbl, &later, 4000, &mail), HERALD_OK);
    assert_false(mail);
    struct store_subscription s;
    assert_int_equal(store_subscription_get(c, a, dbl, &s), HERALD_OK);
    assert_string_equal(s.status, "confirmed");
    assert_string_equal(s.consent_method, "api");
    assert_string_equal(s.consent_ip, "192.0.2.1");
    assert_string_equal(s.consent_text, "terms v1");
    assert_int_equal(s.confirmed_at_ms, 3000);
    assert_string_equal(s.list_name, "D");
    store_subscription_clear(&s);

    /* Unsubscribed: not mailable, confirming is a conflict, adding again starts over. */
    assert_int_equal(store_subscription_unsubscribe(c, a, dbl, 5000, &changed), HERALD_OK);
    assert_true(changed);
    assert_false(mailable(c, a, dbl));
    assert_int_equal(store_subscription_confirm(c, a, dbl, 5100, &changed), HERALD_ERR_CONFLICT);
    /* A sync re-adding its list (no new consent) leaves the unsubscribe as it is. */
    struct mail_consent resync = {"api", "192.0.2.1", "terms v1", false};
    assert_int_equal(mail_subscription_add_tx(c, a, dbl, &resync, 5500, &mail), HERALD_OK);
    assert_false(mail);
    assert_int_equal(store_subscription_get(c, a, dbl, &s), HERALD_OK);
    assert_string_equal(s.status, "unsubscribed");
    store_subscription_clear(&s);
    /* The person's new consent starts it over. */
    assert_int_equal(mail_subscription_add_tx(c, a, dbl, &later, 6000, &mail), HERALD_OK);
    assert_true(mail);
    assert_int_equal(store_subscription_get(c, a, dbl, &s), HERALD_OK);
    assert_string_equal(s.status, "unconfirmed");
    assert_string_equal(s.consent_method, "form");
    assert_int_equal(s.unsubscribed_at_ms, 0);
    store_subscription_clear(&s);

    return HERALD_ERR_CANCELLED; /* roll back */
}

/* Contact-level states: blocklisted, bounced, globally unsubscribed (rolled back). */
static int states(struct store_conn *c, void *arg)
{
    (void)arg;
    int64_t single;
    assert_int_equal(store_list_insert(c, "S", "single", "", 1000, &single), HERALD_OK);
    int64_t a = contact(c, "a@example.com");
    struct mail_consent consent = {"ota", NULL, NULL, false};
    bool mail;
    assert_int_equal(mail_subscription_add_tx(c, a, single, &consent, 2000, &mail), HERALD_OK);
    struct store_contact ct;
    assert_int_equal(store_contact_get(c, a, &ct), HERALD_OK);
    snprintf(ct.status, sizeof(ct.status), "blocklisted");
    assert_int_equal(store_contact_update(c, &ct, 7000), HERALD_OK);
    assert_false(mailable(c, a, single));
    snprintf(ct.status, sizeof(ct.status), "enabled");
    assert_int_equal(store_contact_update(c, &ct, 7000), HERALD_OK);
    store_contact_clear(&ct);
    assert_true(mailable(c, a, single));
    assert_int_equal(store_contact_set_delivery(c, a, "bounced", 3, 7100), HERALD_OK);
    assert_false(mailable(c, a, single));
    assert_int_equal(store_contact_set_delivery(c, a, "ok", 0, 7200), HERALD_OK);
    assert_int_equal(store_contact_unsubscribe_all(c, a, 7300), HERALD_OK);
    assert_int_equal(store_contact_unsubscribe_all(c, a, 7400), HERALD_OK);
    assert_int_equal(store_contact_get(c, a, &ct), HERALD_OK);
    assert_int_equal(ct.unsubscribed_at_ms, 7300); /* the first opt-out is kept */
    store_contact_clear(&ct);
    assert_false(mailable(c, a, single));
    return HERALD_ERR_CANCELLED; /* roll back */
}

static int64_t add(struct store_conn *c, const char *email, const char *name, int64_t list)
{
    int64_t id = contact(c, email);
    struct store_contact ct;
    assert_int_equal(store_contact_get(c, id, &ct), HERALD_OK);
    char *read_name = ct.name, *read_email = ct.email;
    ct.name = (char *)name;
    ct.email = (char *)email;
    assert_int_equal(store_contact_update(c, &ct, 1000), HERALD_OK);
    ct.name = read_name;
    ct.email = read_email;
    store_contact_clear(&ct);
    struct mail_consent consent = {"import", NULL, NULL, false};
    bool mail;
    if (list)
        assert_int_equal(mail_subscription_add_tx(c, id, list, &consent, 1000, &mail), 0);
    return id;
}

static size_t count(struct store_conn *c, struct store_contact_filter f)
{
    struct store_contact *rows;
    size_t n;
    f.limit = f.limit ? f.limit : 100;
    assert_int_equal(store_contact_list(c, &f, &rows, &n), HERALD_OK);
    store_contacts_free(rows, n);
    return n;
}

/* Filters, counts and deletes, in one transaction (rolled back). */
static int listing(struct store_conn *c, void *arg)
{
    (void)arg;
    int64_t l1, l2;
    assert_int_equal(store_list_insert(c, "L1", "single", "d", 1000, &l1), HERALD_OK);
    assert_int_equal(store_list_insert(c, "L2", "double", "", 1000, &l2), HERALD_OK);
    int64_t a = add(c, "percent%user@example.com", "Ann", l1);
    add(c, "bob@example.com", "Bob Under_Score", l2);
    add(c, "carl@example.com", "", 0);
    assert_int_equal(count(c, (struct store_contact_filter){0}), 3);
    assert_int_equal(count(c, (struct store_contact_filter){.query = "%"}), 1);
    assert_int_equal(count(c, (struct store_contact_filter){.query = "_"}), 1);
    assert_int_equal(count(c, (struct store_contact_filter){.query = "ann"}), 1);
    assert_int_equal(count(c, (struct store_contact_filter){.query = "example"}), 3);
    assert_int_equal(count(c, (struct store_contact_filter){.list_id = l2}), 1);
    assert_int_equal(count(c, (struct store_contact_filter){.email = "bob@example.com"}), 1);
    assert_int_equal(count(c, (struct store_contact_filter){.status = "blocklisted"}), 0);
    assert_int_equal(count(c, (struct store_contact_filter){.after_id = a}), 2);
    assert_int_equal(count(c, (struct store_contact_filter){.limit = 2}), 2);

    struct store_list l;
    assert_int_equal(store_list_get(c, l2, &l), HERALD_OK);
    assert_int_equal(l.unconfirmed, 1);
    assert_int_equal(l.confirmed + l.unsubscribed, 0);
    store_list_clear(&l);
    char optin[8];
    assert_int_equal(store_list_optin(c, l1, optin), HERALD_OK);
    assert_string_equal(optin, "single");
    assert_int_equal(store_list_delete(c, l1), HERALD_OK);
    assert_int_equal(store_list_delete(c, l1), HERALD_ERR_NOT_FOUND);
    struct store_subscription *subs;
    size_t n;
    assert_int_equal(store_subscription_list(c, a, &subs, &n), HERALD_OK);
    assert_int_equal(n, 0);
    store_subscriptions_free(subs, n);
    assert_int_equal(store_contact_delete(c, a), HERALD_OK);
    assert_int_equal(store_contact_delete(c, a), HERALD_ERR_NOT_FOUND);
    struct store_contact ct;
    assert_int_equal(store_contact_find_by_email(c, "percent%user@example.com", &ct),
                     HERALD_ERR_NOT_FOUND);
    return HERALD_ERR_CANCELLED;
}

static void test_rules(void **state)
{
    (void)state;
    struct store *st = open_store();
    assert_int_equal(store_run_tx(st, wipe, NULL), HERALD_OK);
    assert_int_equal(store_run_tx(st, rules, NULL), HERALD_ERR_CANCELLED);
    assert_int_equal(store_run_tx(st, states, NULL), HERALD_ERR_CANCELLED);
    assert_int_equal(store_run_tx(st, listing, NULL), HERALD_ERR_CANCELLED);
    store_close(st);
}

struct optin_fixture {
    int64_t contact, list, other_list;
};

/* A contact globally opted out at 1000, then signed up (unconfirmed) to a double list. */
static int optin_setup_tx(struct store_conn *c, void *arg)
{
    struct optin_fixture *f = arg;
    int rc = store_list_insert(c, "Double", "double", "", 1000, &f->list);
    rc = rc ? rc : store_list_insert(c, "Other", "double", "", 1000, &f->other_list);
    f->contact = contact(c, "optin@example.com");
    rc = rc ? rc : store_contact_unsubscribe_all(c, f->contact, 1000);
    struct mail_consent consent = {"form", "192.0.2.9", "v1", true};
    bool mail = false;
    rc = rc ? rc : mail_subscription_add_tx(c, f->contact, f->list, &consent, 2000, &mail);
    assert_true(mail);
    return rc;
}

static int unsubscribe_tx(struct store_conn *c, void *arg)
{
    struct optin_fixture *f = arg;
    bool changed;
    return store_subscription_unsubscribe(c, f->contact, f->list, clock_now_ms(), &changed);
}

static int read_contact_tx(struct store_conn *c, void *arg)
{
    struct store_contact *ct = arg;
    return store_contact_get(c, ct->id, ct);
}

static const char *token_of(const char *link)
{
    const char *p = strstr(link, "/subscription/confirm/");
    assert_non_null(p);
    return p + strlen("/subscription/confirm/");
}

/* Check, confirm (idempotent, lifting the older global opt-out), tokens of other lists and
 * after an unsubscribe. */
static void test_optin_confirm(void **state)
{
    (void)state;
    struct store *st = open_store();
    assert_int_equal(store_run_tx(st, wipe, NULL), HERALD_OK);
    struct optin_fixture f;
    assert_int_equal(store_run_tx(st, optin_setup_tx, &f), HERALD_OK);
    struct jobs_opts jo = {1, 30000, 3};
    struct jobs *j;
    assert_int_equal(jobs_new(st, &jo, &j), HERALD_OK);
    struct mail_keyring keys;
    memset(keys.key, 7, sizeof(keys.key));
    struct mail_transport *none = NULL;
    struct mail_optin_opts oo = {st, j, &keys, "https://x.example/", 1, "", "", &none};
    struct mail_optin *o;
    assert_int_equal(mail_optin_start(&oo, &o), HERALD_OK);
    char link[1400], other[1400];
    mail_optin_link(o, f.contact, f.list, clock_now_ms() / 1000, link, sizeof(link));
    assert_int_equal(strncmp(link, "https://x.example/subscription/confirm/", 39), 0);
    mail_optin_link(o, f.contact, f.other_list, clock_now_ms() / 1000, other, sizeof(other));
    struct mail_optin_target t;
    assert_int_equal(mail_optin_check(o, token_of(link), &t), HERALD_OK);
    assert_false(t.confirmed);
    assert_string_equal(t.email, "optin@example.com");
    assert_string_equal(t.list_name, "Double");
    assert_int_equal(mail_optin_check(o, token_of(other), &t), HERALD_ERR_TOKEN_INVALID);
    assert_int_equal(mail_optin_confirm(o, token_of(link), &t), HERALD_OK);
    assert_true(t.confirmed);
    assert_int_equal(mail_optin_confirm(o, token_of(link), &t), HERALD_OK);
    struct store_contact ct = {.id = f.contact};
    assert_int_equal(store_run_read(st, read_contact_tx, &ct), HERALD_OK);
    assert_int_equal(ct.unsubscribed_at_ms, 0); /* the signup came after the opt-out */
    store_contact_clear(&ct);
    assert_int_equal(store_run_tx(st, unsubscribe_tx, &f), HERALD_OK);
    assert_int_equal(mail_optin_confirm(o, token_of(link), &t), HERALD_ERR_CONFLICT);
    mail_optin_free(o);
    jobs_free(j);
    store_close(st);
}

static int setup_sqlite(void **state)
{
    (void)state;
    unit_sqlite_url("contacts", db_url, sizeof(db_url));
    return 0;
}

/* A database of its own: test_store migrates the shared one up and down meanwhile. */
static int setup_postgres(void **state)
{
    (void)state;
    unit_pg_url("contacts", db_url, sizeof(db_url));
    return 0;
}

int main(void)
{
    const struct CMUnitTest checks[] = {
        cmocka_unit_test(test_email_and_text),
        cmocka_unit_test(test_attributes),
        cmocka_unit_test_setup(test_rules, setup_sqlite),
        cmocka_unit_test_setup(test_optin_confirm, setup_sqlite),
    };
    int failed = cmocka_run_group_tests_name("contacts", checks, NULL, NULL);
    const char *pg = getenv("HERALD_TEST_PG_URL");
    if (pg && *pg) {
        const struct CMUnitTest on_postgres[] = {
            cmocka_unit_test_setup(test_rules, setup_postgres),
            cmocka_unit_test_setup(test_optin_confirm, setup_postgres),
        };
        failed += cmocka_run_group_tests_name("contacts on postgres", on_postgres, NULL, NULL);
    }
    return failed;
}
