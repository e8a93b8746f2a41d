/* The privacy domain's life cycle: its options copied, the erase and retention job kinds
 * registered, the audit writer started and stopped. */
#include <stdlib.h>
#include <string.h>

#include "privacy/internal.h"

static char *dup_opt(const char *s)
{
    return strdup(s ? s : "");
}

static void privacy_free(struct privacy *p)
{
    free(p->mixpanel_token);
    if (p->mixpanel_gdpr_token)
        explicit_bzero(p->mixpanel_gdpr_token, strlen(p->mixpanel_gdpr_token));
    free(p->mixpanel_gdpr_token);
    free(p->mixpanel_gdpr_base_url);
    if (p->hash_secret)
        explicit_bzero(p->hash_secret, strlen(p->hash_secret));
    free(p->hash_secret);
    free(p);
}

enum herald_err privacy_start(const struct privacy_opts *o, struct privacy **out)
{
    struct privacy *p = calloc(1, sizeof(*p));
    if (!p)
        return HERALD_ERR_NOMEM;
    p->o = *o;
    p->o.mixpanel_token = p->mixpanel_token = dup_opt(o->mixpanel_token);
    p->o.mixpanel_gdpr_token = p->mixpanel_gdpr_token = dup_opt(o->mixpanel_gdpr_token);
    p->o.mixpanel_gdpr_base_url = p->mixpanel_gdpr_base_url = dup_opt(o->mixpanel_gdpr_base_url);
    p->o.hash_secret = p->hash_secret = dup_opt(o->hash_secret);
    int rc = !p->mixpanel_token || !p->mixpanel_gdpr_token || !p->mixpanel_gdpr_base_url ||
                     !p->hash_secret
                 ? HERALD_ERR_NOMEM
                 : HERALD_OK;
    rc = rc ? rc : jobs_register(o->jobs, &privacy_erase_kind, p);
    rc = rc ? rc : jobs_register(o->jobs, &privacy_retention_kind, p);
    rc = rc ? rc : audit_writer_start(o->st, &p->audit);
    if (rc) {
        privacy_free(p);
        return rc;
    }
    *out = p;
    return HERALD_OK;
}

void privacy_stop(struct privacy *p)
{
    if (!p)
        return;
    audit_writer_stop(p->audit);
    privacy_free(p);
}

void privacy_audit_enqueue(struct privacy *p, const struct privacy_audit *a)
{
    audit_writer_push(p->audit, a);
}
