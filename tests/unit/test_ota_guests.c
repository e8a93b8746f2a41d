/* Guests and automations over the real store, the revision hook called directly with a struct
 * ota_reservation (as ingestion calls it): the guest's contact and the consent its message
 * carries (method ota, the marker, the message's time; never for a relay address, never after
 * a global opt-out), comments kept out of the contact, one send per revision rescheduled by a
 * date change and cancelled by a cancellation, and the tick handing a due send to the queue as
 * a campaign of its own. On SQLite and (with HERALD_TEST_PG_URL) a PostgreSQL database. */
#include "unit.h"
#include "unit_db.h"

#include <jansson.h>

#include "base/clock.h"
#include "ota/automations.h"
#include "ota/guests.h"
#include "store/automations.h"
#include "store/campaigns.h"
#include "store/contacts.h"
#include "store/internal.h"
#include "store/store.h"

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL

static char db_url[512];

struct fixture {
    struct store *st;
    struct ota_automations *autos;
    struct ota_guests *guests;
    int64_t list_id, template_id, pre_id, post_id, cancel_id;
};

static struct store *open_store(void)
{
    struct store_opts opts = {db_url, 1, 4, false};
    struct store *st;
    assert_int_equal(store_open(&opts, &st), HERALD_OK);
    int applied;
    assert_int_equal(store_migrate_up(st, &applied), HERALD_OK);
    return st;
}

static int64_t day_of(const char *date)
{
    int64_t ms;
    assert_int_equal(clock_parse_iso(date, &ms), HERALD_OK);
    return ms;
}

static void test_relay_and_due(void **state)
{
    (void)state;
    const char *relays = "guest.booking.com, m.expediapartnercentral.com";
    assert_true(ota_guest_is_relay(relays, "x1@guest.booking.com"));
    assert_true(ota_guest_is_relay(relays, "a@GUEST.Booking.com"));
    assert_true(ota_guest_is_relay(relays, "a@eu.m.expediapartnercentral.com"));
    assert_false(ota_guest_is_relay(relays, "a@notguest.booking.com"));
    assert_false(ota_guest_is_relay(relays, "a@booking.com"));
    assert_false(ota_guest_is_relay(relays, "a@example.com"));
    assert_false(ota_guest_is_relay("", "a@guest.booking.com"));
    struct ota_reservation res = {.status = OTA_RES_COMMIT};
    snprintf(res.arrival, sizeof(res.arrival), "2027-03-10");
    snprintf(res.departure, sizeof(res.departure), "2027-03-12");
    int64_t now = day_of("2027-01-05") + 5 * HOUR_MS;
    assert_int_equal(ota_automation_due_ms("pre_arrival", 3, 9, &res, now),
                     day_of("2027-03-07") + 9 * HOUR_MS);
    assert_int_equal(ota_automation_due_ms("post_stay", 1, 9, &res, now),
                     day_of("2027-03-13") + 9 * HOUR_MS);
    assert_int_equal(ota_automation_due_ms("booking_confirmed", 0, 9, &res, now), now);
    assert_int_equal(ota_automation_due_ms("cancelled", 2, 9, &res, now),
                     day_of("2027-01-07") + 9 * HOUR_MS);
    res.arrival[0] = '\0';
    assert_int_equal(ota_automation_due_ms("pre_arrival", 3, 9, &res, now), 0);
}

static int seed_tx(struct store_conn *c, void *arg)
{
    struct fixture *f = arg;
    int rc = store_exec(c, "INSERT INTO mail_templates (name, subject, html, text, "
                           "created_at_ms, updated_at_ms) VALUES ('stay', 'Your stay', "
                           "'<p>Hi {{ contact.name }}</p>', 'Hi', 1, 1)");
    if (!rc)
        rc = store_list_insert(c, "Newsletter", "single", "", 1, &f->list_id);
    f->template_id = 1;
    char lists[32];
    snprintf(lists, sizeof(lists), "[%lld]", (long long)f->list_id);
    struct store_automation a = {.name = "Pre-arrival",
                                 .template_id = 1,
                                 .lists = "[]",
                                 .hotel_codes = "[\"H1\"]",
                                 .from_email = "hotel@example.com",
                                 .from_name = "",
                                 .reply_to = "",
                                 .tracking = true,
                                 .enabled = true,
                                 .offset_days = 3};
    snprintf(a.trigger, sizeof(a.trigger), "pre_arrival");
    snprintf(a.kind, sizeof(a.kind), "service");
    if (!rc)
        rc = store_automation_insert(c, &a, 1, &f->pre_id);
    a.name = "Come back";
    a.lists = lists;
    a.offset_days = 1;
    snprintf(a.trigger, sizeof(a.trigger), "post_stay");
    snprintf(a.kind, sizeof(a.kind), "marketing");
    if (!rc)
        rc = store_automation_insert(c, &a, 1, &f->post_id);
    a.name = "Sorry to see you go";
    a.lists = "[]";
    a.offset_days = 0;
    snprintf(a.trigger, sizeof(a.trigger), "cancelled");
    snprintf(a.kind, sizeof(a.kind), "service");
    if (!rc)
        rc = store_automation_insert(c, &a, 1, &f->cancel_id);
    return rc;
}

static void fixture_open(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->st = open_store();
    assert_int_equal(store_run_tx(f->st, seed_tx, f), HERALD_OK);
    struct ota_automations_opts ao = {.store = f->st,
                                      .mail_from = "hotel@example.com",
                                      .relay_domains = "guest.booking.com",
                                      .send_hour = 9,
                                      .tick_seconds = 1,
                                      .sending_configured = true};
    assert_int_equal(ota_automations_start(&ao, &f->autos), HERALD_OK);
    struct ota_guests_opts go = {"guest.booking.com", NULL, f->autos};
    assert_int_equal(ota_guests_new(&go, &f->guests), HERALD_OK);
}

static void fixture_close(struct fixture *f)
{
    ota_guests_free(f->guests);
    ota_automations_free(f->autos);
    store_close(f->st);
}

struct hook_call {
    struct fixture *f;
    const struct ota_reservation *res;
    int64_t reservation_id, revision_id, now_ms;
    bool stale; /* an older revision than the current one, delivered late */
};

/* The reservation's summary row as ingestion leaves it when it calls the hook: this revision
 * current, with its status; a stale revision leaves the row as it was. */
static int summary_row(struct store_conn *c, const struct hook_call *h)
{
    if (h->stale)
        return HERALD_OK;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO ota_reservations (id, channel_id, hotel_code, res_id, status, "
             "current_revision_id, created_at_ms, updated_at_ms) VALUES (%lld, 1, 'H1', 'R-%lld', "
             "'%s', %lld, 0, 0) ON CONFLICT (id) DO UPDATE SET status = excluded.status, "
             "current_revision_id = excluded.current_revision_id",
             (long long)h->reservation_id, (long long)h->reservation_id,
             ota_res_status_name(h->res->status), (long long)h->revision_id);
    return store_exec(c, sql);
}

static int hook_tx(struct store_conn *c, void *arg)
{
    struct hook_call *h = arg;
    struct ota_revision_hook hook = ota_guests_hook(h->f->guests);
    struct ota_channel ch = {.id = 1};
    int rc = summary_row(c, h);
    return rc ? rc
              : hook.on_revision(hook.arg, c, &ch, h->res, h->reservation_id, h->revision_id,
                                 !h->stale, h->now_ms);
}

static void revision(struct fixture *f, const struct ota_reservation *res, int64_t reservation_id,
                     int64_t revision_id, int64_t now_ms)
{
    struct hook_call h = {f, res, reservation_id, revision_id, now_ms, false};
    assert_int_equal(store_run_tx(f->st, hook_tx, &h), HERALD_OK);
}

static void stale_revision(struct fixture *f, const struct ota_reservation *res,
                           int64_t reservation_id, int64_t revision_id, int64_t now_ms)
{
    struct hook_call h = {f, res, reservation_id, revision_id, now_ms, true};
    assert_int_equal(store_run_tx(f->st, hook_tx, &h), HERALD_OK);
}

static void booking(struct ota_reservation *res, const char *email, const char *arrival,
                    const char *departure, bool consent)
{
    memset(res, 0, sizeof(*res));
    snprintf(res->hotel_code, sizeof(res->hotel_code), "H1");
    snprintf(res->res_id, sizeof(res->res_id), "R-%s", email);
    res->status = OTA_RES_COMMIT;
    snprintf(res->arrival, sizeof(res->arrival), "%s", arrival);
    snprintf(res->departure, sizeof(res->departure), "%s", departure);
    snprintf(res->guest.given_name, sizeof(res->guest.given_name), "Ana");
    snprintf(res->guest.surname, sizeof(res->guest.surname), "Berg");
    snprintf(res->guest.email, sizeof(res->guest.email), "%s", email);
    snprintf(res->guest.language, sizeof(res->guest.language), "de");
    snprintf(res->guest.country, sizeof(res->guest.country), "AT");
    res->guest.consent_given = consent;
    if (consent)
        snprintf(res->guest.consent_text, sizeof(res->guest.consent_text), "newsletter:yes");
    res->comments = "Allergic to feathers; call me on +43 660 1234567";
    res->modified_ms = day_of("2027-01-05") + 8 * HOUR_MS;
}

struct read_tx {
    const char *email;
    struct store_contact ct;
    struct store_subscription *subs;
    size_t nsubs;
    int64_t automation_id, reservation_id;
    struct store_automation_send *sends;
    size_t nsends;
};

static int read_contact_tx(struct store_conn *c, void *arg)
{
    struct read_tx *r = arg;
    int rc = store_contact_find_by_email(c, r->email, &r->ct);
    return rc ? rc : store_subscription_list(c, r->ct.id, &r->subs, &r->nsubs);
}

static int read_sends_tx(struct store_conn *c, void *arg)
{
    struct read_tx *r = arg;
    return store_automation_sends_of(c, r->automation_id, r->reservation_id, &r->sends, &r->nsends);
}

static void read_sends(struct fixture *f, struct read_tx *r, int64_t automation_id,
                       int64_t reservation_id)
{
    free(r->sends);
    r->automation_id = automation_id;
    r->reservation_id = reservation_id;
    assert_int_equal(store_run_read(f->st, read_sends_tx, r), HERALD_OK);
}

/* The guest with an explicit opt-in: contact fields, the consent record, no comments. */
static void check_guest(struct fixture *f, struct read_tx *r)
{
    r->email = "ana@example.com";
    assert_int_equal(store_run_read(f->st, read_contact_tx, r), HERALD_OK);
    assert_string_equal(r->ct.name, "Ana Berg");
    json_t *attrs = json_loads(r->ct.attributes, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(attrs, "language")), "de");
    assert_string_equal(json_string_value(json_object_get(attrs, "country")), "AT");
    assert_int_equal(json_object_size(attrs), 2);
    json_decref(attrs);
    assert_null(strstr(r->ct.attributes, "feathers"));
    assert_null(strstr(r->ct.name, "feathers"));
    assert_int_equal(r->nsubs, 1);
    assert_int_equal(r->subs[0].list_id, f->list_id);
    assert_string_equal(r->subs[0].status, "confirmed");
    assert_string_equal(r->subs[0].consent_method, "ota");
    assert_string_equal(r->subs[0].consent_text, "newsletter:yes");
    assert_int_equal(r->subs[0].consent_at_ms, day_of("2027-01-05") + 8 * HOUR_MS);
    store_contact_clear(&r->ct);
    store_subscriptions_free(r->subs, r->nsubs);
}

struct queue_tx {
    int64_t campaign_id, automation_id;
    struct store_campaign cp;
    struct store_campaign *listed;
    size_t nlisted;
    struct store_automation_send *sends;
    size_t nsends;
};

/* The send's campaign, whether the campaign listing shows it, the send's queue status. */
static int queue_tx(struct store_conn *c, void *arg)
{
    struct queue_tx *q = arg;
    int rc = store_campaign_get(c, q->campaign_id, &q->cp);
    if (!rc)
        rc = store_campaign_list(c, 0, 100, &q->listed, &q->nlisted);
    if (!rc)
        rc = store_automation_sends_list(c, q->automation_id, 0, 10, &q->sends, &q->nsends);
    return rc;
}

/* Nothing is due before its time; then the pre-arrival send becomes a service campaign of its
   own with one pending queue row. */
static void check_tick(struct fixture *f, struct read_tx *r, int64_t due)
{
    int queued, skipped;
    assert_int_equal(ota_automations_tick(f->autos, due - 60000, &queued, &skipped), HERALD_OK);
    assert_int_equal(queued + skipped, 0);
    assert_int_equal(ota_automations_tick(f->autos, due + 60000, &queued, &skipped), HERALD_OK);
    assert_int_equal(queued, 1);
    assert_int_equal(skipped, 0);
    read_sends(f, r, f->pre_id, 1);
    assert_string_equal(r->sends[0].status, "queued");
    struct queue_tx q = {.campaign_id = r->sends[0].campaign_id, .automation_id = f->pre_id};
    assert_true(q.campaign_id > 0);
    assert_int_equal(store_run_read(f->st, queue_tx, &q), HERALD_OK);
    assert_string_equal(q.cp.status, "running");
    assert_int_equal(q.cp.template_id, f->template_id);
    assert_non_null(q.cp.html); /* the template's content, snapshotted */
    assert_string_equal(q.cp.subject, "Your stay");
    assert_int_equal(q.nlisted, 0); /* listed under its automation, not with the campaigns */
    assert_int_equal(q.nsends, 1);
    assert_string_equal(q.sends[0].delivery, "pending");
    store_campaign_clear(&q.cp);
    store_campaigns_free(q.listed, q.nlisted);
    free(q.sends);
}

static void test_guests_and_automations(void **state)
{
    (void)state;
    struct fixture f;
    fixture_open(&f);
    struct read_tx r = {0};
    struct ota_reservation res;
    int64_t now = day_of("2027-01-05") + 10 * HOUR_MS;
    booking(&res, "Ana@Example.com", "2027-03-10", "2027-03-12", true);
    revision(&f, &res, 1, 1, now);
    check_guest(&f, &r);
    read_sends(&f, &r, f.pre_id, 1);
    assert_int_equal(r.nsends, 1);
    assert_string_equal(r.sends[0].status, "scheduled");
    assert_int_equal(r.sends[0].due_at_ms, day_of("2027-03-07") + 9 * HOUR_MS);
    int64_t pre_send = r.sends[0].id;
    read_sends(&f, &r, f.post_id, 1);
    assert_int_equal(r.nsends, 1);
    assert_int_equal(r.sends[0].due_at_ms, day_of("2027-03-13") + 9 * HOUR_MS);

    /* a date change reschedules the same send */
    booking(&res, "ana@example.com", "2027-03-20", "2027-03-22", true);
    res.status = OTA_RES_MODIFY;
    revision(&f, &res, 1, 2, now + HOUR_MS);
    read_sends(&f, &r, f.pre_id, 1);
    assert_int_equal(r.nsends, 1);
    assert_int_equal(r.sends[0].id, pre_send);
    assert_int_equal(r.sends[0].revision_id, 2);
    assert_int_equal(r.sends[0].due_at_ms, day_of("2027-03-17") + 9 * HOUR_MS);

    check_tick(&f, &r, day_of("2027-03-17") + 9 * HOUR_MS);
    /* the same revision again, or one with the same dates, adds nothing */
    revision(&f, &res, 1, 3, now + 2 * HOUR_MS);
    read_sends(&f, &r, f.pre_id, 1);
    assert_int_equal(r.nsends, 1);

    /* a last-minute booking (after its pre-arrival moment, before arrival): at once */
    struct ota_reservation lm;
    booking(&lm, "lm@example.com", "2027-03-18", "2027-03-19", false);
    int64_t late_now = day_of("2027-03-16") + 14 * HOUR_MS;
    revision(&f, &lm, 5, 50, late_now);
    read_sends(&f, &r, f.pre_id, 5);
    assert_int_equal(r.nsends, 1);
    assert_int_equal(r.sends[0].due_at_ms, late_now);

    /* a cancellation cancels the scheduled post-stay mail and schedules the cancelled one */
    res.status = OTA_RES_CANCEL;
    revision(&f, &res, 1, 4, now + 3 * HOUR_MS);
    read_sends(&f, &r, f.post_id, 1);
    assert_int_equal(r.nsends, 1);
    assert_string_equal(r.sends[0].status, "cancelled");
    read_sends(&f, &r, f.cancel_id, 1);
    assert_int_equal(r.nsends, 1);
    assert_int_equal(r.sends[0].due_at_ms, now + 3 * HOUR_MS);

    /* a Modify from before the cancellation, delivered after it, schedules nothing: the stay
       mails stay queued/cancelled, the cancellation mail stays the cancellation's */
    booking(&res, "ana@example.com", "2027-04-20", "2027-04-22", true);
    res.status = OTA_RES_MODIFY;
    stale_revision(&f, &res, 1, 5, now + 4 * HOUR_MS);
    int64_t autos[] = {f.pre_id, f.post_id, f.cancel_id};
    for (size_t i = 0; i < sizeof(autos) / sizeof(autos[0]); i++) {
        read_sends(&f, &r, autos[i], 1);
        assert_int_equal(r.nsends, 1);
        assert_int_not_equal(r.sends[0].revision_id, 5);
        if (autos[i] != f.cancel_id)
            assert_string_not_equal(r.sends[0].status, "scheduled");
    }
    free(r.sends);
    fixture_close(&f);
}

static int unsubscribe_all_tx(struct store_conn *c, void *arg)
{
    struct store_contact ct;
    int rc = store_contact_find_by_email(c, arg, &ct);
    if (!rc)
        rc = store_contact_unsubscribe_all(c, ct.id, 5);
    if (!rc)
        store_contact_clear(&ct);
    return rc;
}

static void test_relay_and_opt_out(void **state)
{
    (void)state;
    struct fixture f;
    fixture_open(&f);
    struct read_tx r = {0};
    struct ota_reservation res;
    int64_t now = day_of("2027-01-05") + 10 * HOUR_MS;
    /* a relay address with an opt-in: a contact, never on a marketing list, skipped when due */
    booking(&res, "x7y@guest.booking.com", "2027-03-10", "2027-03-12", true);
    revision(&f, &res, 2, 10, now);
    r.email = "x7y@guest.booking.com";
    assert_int_equal(store_run_read(f.st, read_contact_tx, &r), HERALD_OK);
    assert_int_equal(r.nsubs, 0);
    store_contact_clear(&r.ct);
    store_subscriptions_free(r.subs, r.nsubs);
    int queued, skipped;
    int64_t post_due = day_of("2027-03-13") + 9 * HOUR_MS;
    assert_int_equal(ota_automations_tick(f.autos, post_due + 1000, &queued, &skipped), HERALD_OK);
    assert_int_equal(queued, 0); /* the pre-arrival one is more than a day late by then */
    read_sends(&f, &r, f.post_id, 2);
    assert_string_equal(r.sends[0].status, "skipped");
    assert_string_equal(r.sends[0].reason, "relay_address");

    /* a global opt-out is permanent: a later opt-in in a booking does not subscribe */
    booking(&res, "carl@example.com", "2027-04-10", "2027-04-12", false);
    revision(&f, &res, 3, 20, now);
    assert_int_equal(store_run_tx(f.st, unsubscribe_all_tx, "carl@example.com"), HERALD_OK);
    booking(&res, "carl@example.com", "2027-05-10", "2027-05-12", true);
    snprintf(res.res_id, sizeof(res.res_id), "R-2");
    revision(&f, &res, 4, 21, now);
    r.email = "carl@example.com";
    assert_int_equal(store_run_read(f.st, read_contact_tx, &r), HERALD_OK);
    assert_int_equal(r.nsubs, 0);
    assert_true(r.ct.unsubscribed_at_ms != 0);
    store_contact_clear(&r.ct);
    store_subscriptions_free(r.subs, r.nsubs);
    free(r.sends);
    fixture_close(&f);
}

static int setup_sqlite(void **state)
{
    (void)state;
    unit_sqlite_url("guests", db_url, sizeof(db_url));
    return 0;
}

static int setup_postgres(void **state)
{
    (void)state;
    unit_pg_url("guests", db_url, sizeof(db_url));
    return 0;
}

int main(void)
{
    const struct CMUnitTest checks[] = {
        cmocka_unit_test(test_relay_and_due),
        cmocka_unit_test_setup(test_guests_and_automations, setup_sqlite),
        cmocka_unit_test_setup(test_relay_and_opt_out, setup_sqlite),
    };
    int failed = cmocka_run_group_tests_name("ota guests", checks, NULL, NULL);
    const char *pg = getenv("HERALD_TEST_PG_URL");
    if (pg && *pg) {
        const struct CMUnitTest on_postgres[] = {
            cmocka_unit_test_setup(test_guests_and_automations, setup_postgres),
            cmocka_unit_test_setup(test_relay_and_opt_out, setup_postgres),
        };
        failed += cmocka_run_group_tests_name("ota guests on postgres", on_postgres, NULL, NULL);
    }
    return failed;
}
