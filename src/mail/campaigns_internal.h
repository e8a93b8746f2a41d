/* What the campaign files share (campaigns.c: the API and life cycle; campaign_input.c: the
 * validation of a create/patch body; campaign_start.c: the campaign_start job kind). Not for
 * use outside them. */
#ifndef HERALD_MAIL_CAMPAIGNS_INTERNAL_H
#define HERALD_MAIL_CAMPAIGNS_INTERNAL_H

#include "mail/campaigns.h"
#include "mail/sender_render.h"
#include "store/campaigns.h"

#define CAMPAIGN_LISTS_MAX 100
#define CAMPAIGN_NAME_MAX 200

struct mail_campaigns {
    struct mail_campaigns_opts o;
    char *public_url, *postal_address, *smtp_url, *bounce_domain, *mail_from;
    struct mail_render_opts render;
};

/* Applies a create (base has only defaults) or patch body (base is the stored campaign) onto
 * *cp, validating every field: names, addresses (mail_mime_address_ok), lists (1..100 ids),
 * templateId xor html/text, merge tags of subject, html and text (compiled), html sanitised
 * and text generated (mail/templates.h mail_content_prepare()), sendAt (ISO-8601). Store
 * checks (lists and template exist) are made by campaign_check_refs() inside the write
 * transaction. HERALD_ERR_INVALID with err->field. */
int campaign_apply_body(const struct mail_campaigns *m, json_t *body, bool create,
                        struct store_campaign *cp, struct herald_error *err);
/* Inside a transaction: every list exists, the template exists (and, for a template campaign
 * without a subject, lends its subject). HERALD_ERR_INVALID with err->field. */
int campaign_check_refs(struct store_conn *c, struct store_campaign *cp, struct herald_error *err);

#endif
