/* Guests (ota/guests.h): the reservation revision hook turning a reservation's guest into a
 * contact with the consent its message carries, then handing the revision to the automations. */
#include "ota/guests.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "jobs/jobs.h"
#include "mail/contacts.h"
#include "mail/optin.h"
#include "ota/automations.h"

#define GUEST_LISTS_MAX 32

struct ota_guests {
    char *relay_domains;
    struct jobs *jobs;
    struct ota_automations *automations;
};

enum herald_err ota_guests_new(const struct ota_guests_opts *o, struct ota_guests **out)
{
    struct ota_guests *g = calloc(1, sizeof(*g));
    if (!g || !(g->relay_domains = strdup(o->relay_domains ? o->relay_domains : ""))) {
        free(g);
        return HERALD_ERR_NOMEM;
    }
    g->jobs = o->jobs;
    g->automations = o->automations;
    *out = g;
    return HERALD_OK;
}

void ota_guests_free(struct ota_guests *g)
{
    if (!g)
        return;
    free(g->relay_domains);
    free(g);
}

struct ota_revision_hook ota_guests_hook(struct ota_guests *g)
{
    return (struct ota_revision_hook){ota_guests_on_revision, g};
}

/* True when `domain` (len bytes) is `relay` or ends with "." + relay. */
static bool domain_matches(const char *domain, size_t len, const char *relay, size_t rlen)
{
    if (rlen == 0 || rlen > len)
        return false;
    if (strncasecmp(domain + len - rlen, relay, rlen) != 0)
        return false;
    return rlen == len || domain[len - rlen - 1] == '.';
}

bool ota_guest_is_relay(const char *relay_domains, const char *email)
{
    const char *at = email ? strrchr(email, '@') : NULL;
    if (!at || !relay_domains)
        return false;
    const char *domain = at + 1;
    size_t len = strlen(domain);
    for (const char *p = relay_domains; *p;) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        size_t n = strcspn(p, ",");
        size_t k = n;
        while (k > 0 && isspace((unsigned char)p[k - 1]))
            k--;
        if (domain_matches(domain, len, p, k))
            return true;
        p += n;
    }
    return false;
}

/* The contact's name from the guest's names ("" when none). */
static void guest_name(const struct ota_guest *g, char *out, size_t size)
{
    snprintf(out, size, "%s%s%s", g->given_name, g->given_name[0] && g->surname[0] ? " " : "",
             g->surname);
}

static int upsert(struct store_conn *c, const char *email, const char *name, json_t *attrs,
                  int64_t *id, struct herald_error *err)
{
    struct mail_contact_input in = {
        .email = email,
        .name = name && name[0] ? name : NULL,
        .attributes = json_object_size(attrs) ? attrs : NULL,
    };
    int64_t mails[MAIL_CONTACT_LISTS_MAX];
    size_t nmails = 0;
    bool created = false;
    return mail_contact_upsert_tx(c, &in, id, &created, mails, &nmails, err);
}

/* Creates or updates the guest's contact; *id 0 when the guest has no usable address. A name
   the contacts refuse (too long, control characters) is left out rather than the guest. */
static int upsert_contact(struct store_conn *c, const struct ota_reservation *res, int64_t *id)
{
    char name[sizeof(res->guest.given_name) + sizeof(res->guest.surname) + 2];
    guest_name(&res->guest, name, sizeof(name));
    json_t *attrs = json_object();
    if (!attrs)
        return HERALD_ERR_NOMEM;
    if (res->guest.language[0])
        json_object_set_new(attrs, "language", json_string(res->guest.language));
    if (res->guest.country[0])
        json_object_set_new(attrs, "country", json_string(res->guest.country));
    struct herald_error err = {0};
    int rc = upsert(c, res->guest.email, name, attrs, id, &err);
    if (rc == HERALD_ERR_INVALID && strcmp(err.field, "name") == 0)
        rc = upsert(c, res->guest.email, NULL, attrs, id, &err);
    json_decref(attrs);
    if (rc == HERALD_ERR_DUPLICATE)
        return HERALD_ERR_DB_SOFT; /* another ingestion created it meanwhile: run again */
    if (rc == HERALD_ERR_INVALID) {
        /* an address the contacts refuse: the reservation is kept, the guest is no contact
           (the field only, never the value, is logged) */
        log_warn("an OTA guest could not become a contact",
                 json_pack("{s:s, s:s}", "field", err.field, "error", herald_strerror(rc)));
        *id = 0;
        return HERALD_OK;
    }
    return rc;
}

/* The time the guest gave (or refused) consent: the message's. */
static int64_t consent_time(const struct ota_reservation *res, int64_t now_ms)
{
    return res->modified_ms > 0 ? res->modified_ms : res->created_ms > 0 ? res->created_ms : now_ms;
}

static int queue_confirmation(struct ota_guests *g, struct store_conn *c, int64_t contact_id,
                              int64_t list_id)
{
    if (!g->jobs)
        return HERALD_OK;
    json_t *p =
        json_pack("{s:I, s:I}", "contactId", (json_int_t)contact_id, "listId", (json_int_t)list_id);
    char id[40];
    struct jobs_problem problem = {0};
    int rc =
        p ? jobs_submit_tx(g->jobs, c, MAIL_OPTIN_JOB_KIND, p, 0, id, &problem) : HERALD_ERR_NOMEM;
    json_decref(p);
    return rc;
}

/* Applies the message's explicit consent (or refusal) to the hotel's marketing lists. */
static int apply_consent(struct ota_guests *g, struct store_conn *c,
                         const struct ota_reservation *res, int64_t contact_id, int64_t now_ms)
{
    const struct ota_guest *guest = &res->guest;
    if (!guest->consent_given && !guest->consent_refused)
        return HERALD_OK;
    int64_t lists[GUEST_LISTS_MAX];
    size_t n = 0;
    int rc = ota_automations_marketing_lists(c, res->hotel_code, lists, GUEST_LISTS_MAX, &n);
    if (rc || n == 0)
        return rc;
    struct store_contact ct;
    if ((rc = store_contact_get(c, contact_id, &ct)))
        return rc;
    bool opted_out = ct.unsubscribed_at_ms != 0;
    store_contact_clear(&ct);
    int64_t at = consent_time(res, now_ms);
    struct mail_consent consent = {"ota", NULL, guest->consent_text[0] ? guest->consent_text : NULL,
                                   false};
    for (size_t i = 0; !rc && i < n; i++) {
        bool changed = false, needs_mail = false;
        if (guest->consent_refused) {
            rc = store_subscription_unsubscribe(c, contact_id, lists[i], at, &changed);
            rc = rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc;
        } else if (!opted_out) {
            rc = mail_subscription_add_tx(c, contact_id, lists[i], &consent, at, &needs_mail);
            rc = rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc; /* list deleted meanwhile */
            if (!rc && needs_mail)
                rc = queue_confirmation(g, c, contact_id, lists[i]);
        }
    }
    return rc;
}

int ota_guests_on_revision(void *arg, struct store_conn *c, const struct ota_channel *ch,
                           const struct ota_reservation *res, int64_t reservation_id,
                           int64_t revision_id, bool current, int64_t now_ms)
{
    struct ota_guests *g = arg;
    (void)ch;
    int64_t contact_id = 0;
    int rc = res->guest.email[0] ? upsert_contact(c, res, &contact_id) : HERALD_OK;
    bool relay = ota_guest_is_relay(g->relay_domains, res->guest.email);
    if (!rc && contact_id && !relay)
        rc = apply_consent(g, c, res, contact_id, now_ms);
    /* An older revision (the guest's first, after bare cancellations) schedules nothing: the
       current one decided. */
    if (!rc && current && g->automations)
        rc = ota_automations_on_revision(g->automations, c, res, reservation_id, revision_id,
                                         contact_id, now_ms);
    return rc;
}
