/* The automations module (ota/automations.h): start and free, and the API's operations on the
 * rules and their sends, each in one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "ota/automations_internal.h"

enum herald_err ota_automations_start(const struct ota_automations_opts *o,
                                      struct ota_automations **out)
{
    struct ota_automations *m = calloc(1, sizeof(*m));
    if (!m)
        return HERALD_ERR_NOMEM;
    m->o = *o;
    m->mail_from = strdup(o->mail_from ? o->mail_from : "");
    m->relay_domains = strdup(o->relay_domains ? o->relay_domains : "");
    m->o.mail_from = m->mail_from;
    m->o.relay_domains = m->relay_domains;
    snprintf(m->expr, sizeof(m->expr), "@every %ds", o->tick_seconds > 0 ? o->tick_seconds : 60);
    int rc = m->mail_from && m->relay_domains ? HERALD_OK : HERALD_ERR_NOMEM;
    if (!rc && o->jobs)
        rc = jobs_register(o->jobs, &automation_tick_kind, m);
    if (rc) {
        ota_automations_free(m);
        return rc;
    }
    if (o->clock_offset_ms != 0)
        log_warn("the automation scheduler runs on a shifted clock "
                 "(HERALD_AUTOMATION_CLOCK_OFFSET_SECONDS): for rehearsals and tests only",
                 json_pack("{s:I}", "offsetSeconds", (json_int_t)(o->clock_offset_ms / 1000)));
    *out = m;
    return HERALD_OK;
}

void ota_automations_free(struct ota_automations *m)
{
    if (!m)
        return;
    free(m->mail_from);
    free(m->relay_domains);
    free(m);
}

const char *ota_automations_schedule_expr(const struct ota_automations *m)
{
    return m->expr;
}

struct rule_tx {
    struct ota_automations *m;
    json_t *body;
    int64_t id;
    struct store_automation a;
    struct herald_error *err;
};

/* Inside the write: the template and the lists exist. */
static int check_refs(struct store_conn *c, struct rule_tx *t)
{
    int64_t lists[AUTOMATION_LISTS_MAX], missing = 0;
    size_t n = automation_ids(t->a.lists, lists, AUTOMATION_LISTS_MAX);
    bool template_ok = false;
    int rc = store_automation_refs(c, t->a.template_id, lists, n, &template_ok, &missing);
    if (rc)
        return rc;
    if (!template_ok)
        return herald_error_set(t->err, HERALD_ERR_INVALID, "templateId",
                                "no template with id %lld", (long long)t->a.template_id);
    if (missing)
        return herald_error_set(t->err, HERALD_ERR_INVALID, "lists", "no list with id %lld",
                                (long long)missing);
    return HERALD_OK;
}

static int create_tx(struct store_conn *c, void *arg)
{
    struct rule_tx *t = arg;
    int rc = check_refs(c, t);
    return rc ? rc : store_automation_insert(c, &t->a, clock_now_ms(), &t->a.id);
}

static int read_tx(struct store_conn *c, void *arg)
{
    struct rule_tx *t = arg;
    store_automation_clear(&t->a);
    return store_automation_get(c, t->id, &t->a);
}

static int finish(struct rule_tx *t, int rc, json_t **out)
{
    if (!rc)
        rc = store_run_read(t->m->o.store, read_tx, t);
    if (!rc && !(*out = automation_view(&t->a)))
        rc = HERALD_ERR_NOMEM;
    store_automation_clear(&t->a);
    if (rc && t->err && t->err->code != (enum herald_err)rc)
        herald_error_set(t->err, rc, NULL, NULL);
    return rc;
}

enum herald_err ota_automation_create(struct ota_automations *m, json_t *body, json_t **out,
                                      struct herald_error *err)
{
    struct rule_tx t = {.m = m, .body = body, .err = err};
    int rc = automation_apply_body(m, body, true, &t.a, err);
    if (!rc)
        rc = store_run_tx(m->o.store, create_tx, &t);
    t.id = t.a.id;
    return finish(&t, rc, out);
}

enum herald_err ota_automation_get(struct ota_automations *m, int64_t id, json_t **out)
{
    struct rule_tx t = {.m = m, .id = id};
    return finish(&t, HERALD_OK, out);
}

static int update_tx(struct store_conn *c, void *arg)
{
    struct rule_tx *t = arg;
    store_automation_clear(&t->a);
    int rc = store_automation_get(c, t->id, &t->a);
    if (!rc)
        rc = automation_apply_body(t->m, t->body, false, &t->a, t->err);
    if (!rc)
        rc = check_refs(c, t);
    return rc ? rc : store_automation_update(c, &t->a, clock_now_ms());
}

enum herald_err ota_automation_update(struct ota_automations *m, int64_t id, json_t *body,
                                      json_t **out, struct herald_error *err)
{
    struct rule_tx t = {.m = m, .body = body, .id = id, .err = err};
    int rc = json_is_object(body)
                 ? store_run_tx(m->o.store, update_tx, &t)
                 : herald_error_set(err, HERALD_ERR_INVALID, "", "the body must be a JSON object");
    return finish(&t, rc, out);
}

static int delete_tx(struct store_conn *c, void *arg)
{
    return store_automation_delete(c, *(int64_t *)arg);
}

enum herald_err ota_automation_delete(struct ota_automations *m, int64_t id)
{
    return store_run_tx(m->o.store, delete_tx, &id);
}

struct page_tx {
    int64_t id, cursor;
    int limit;
    struct store_automation *rules;
    struct store_automation_send *sends;
    size_t n;
};

static int list_tx(struct store_conn *c, void *arg)
{
    struct page_tx *p = arg;
    store_automations_free(p->rules, p->n);
    p->rules = NULL;
    return store_automation_list(c, p->cursor, p->limit + 1, false, &p->rules, &p->n);
}

enum herald_err ota_automation_list(struct ota_automations *m, int64_t after_id, int limit,
                                    json_t **out, int64_t *next_after)
{
    struct page_tx p = {.cursor = after_id, .limit = limit};
    int rc = store_run_read(m->o.store, list_tx, &p);
    json_t *arr = rc ? NULL : json_array();
    size_t shown = p.n > (size_t)limit ? (size_t)limit : p.n;
    for (size_t i = 0; arr && i < shown; i++)
        json_array_append_new(arr, automation_view(&p.rules[i]));
    *next_after = p.n > (size_t)limit ? p.rules[shown - 1].id : 0;
    store_automations_free(p.rules, p.n);
    if (!rc && !arr)
        rc = HERALD_ERR_NOMEM;
    *out = arr;
    return rc;
}

static int sends_tx(struct store_conn *c, void *arg)
{
    struct page_tx *p = arg;
    free(p->sends);
    p->sends = NULL;
    struct store_automation a;
    int rc = store_automation_get(c, p->id, &a);
    if (rc)
        return rc;
    store_automation_clear(&a);
    return store_automation_sends_list(c, p->id, p->cursor, p->limit + 1, &p->sends, &p->n);
}

enum herald_err ota_automation_sends(struct ota_automations *m, int64_t id, int64_t before_id,
                                     int limit, json_t **out, int64_t *next_before)
{
    struct page_tx p = {.id = id, .cursor = before_id, .limit = limit};
    int rc = store_run_read(m->o.store, sends_tx, &p);
    json_t *arr = rc ? NULL : json_array();
    size_t shown = p.n > (size_t)limit ? (size_t)limit : p.n;
    for (size_t i = 0; arr && i < shown; i++)
        json_array_append_new(arr, automation_send_view(&p.sends[i]));
    *next_before = p.n > (size_t)limit ? p.sends[shown - 1].id : 0;
    free(p.sends);
    if (!rc && !arr)
        rc = HERALD_ERR_NOMEM;
    *out = arr;
    return rc;
}
