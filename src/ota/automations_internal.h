/* What the automation files share (automations.c: rules, views, scheduling per revision;
 * automation_ops.c: the module and the API operations; automation_tick.c: the scheduler job
 * kind). Not for use outside them. */
#ifndef HERALD_OTA_AUTOMATIONS_INTERNAL_H
#define HERALD_OTA_AUTOMATIONS_INTERNAL_H

#include "ota/automations.h"
#include "store/automations.h"

#define AUTOMATION_LISTS_MAX 100

struct ota_automations {
    struct ota_automations_opts o;
    char *mail_from, *relay_domains;
    char expr[32]; /* "@every Ns" */
};

/* Applies a create body (a holds nothing yet: defaults are set) or a patch body (a is the
 * stored rule) onto *a and validates the result. HERALD_ERR_INVALID with err->field. */
int automation_apply_body(const struct ota_automations *m, json_t *body, bool create,
                          struct store_automation *a, struct herald_error *err);
/* The integers of a JSON array text (at most cap). */
size_t automation_ids(const char *json_text, int64_t *out, size_t cap);
/* True when the rule's hotelCodes are empty or name hotel_code. */
bool automation_covers(const struct store_automation *a, const char *hotel_code);
/* The JSON views (new references). */
json_t *automation_view(const struct store_automation *a);
json_t *automation_send_view(const struct store_automation_send *s);

/* The tick job kind (automation_tick.c). */
extern const struct jobs_kind automation_tick_kind;

#endif
