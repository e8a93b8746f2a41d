/* Private to privacy/: the domain's state shared by erase.c, retention.c and audit.c. */
#ifndef HERALD_PRIVACY_INTERNAL_H
#define HERALD_PRIVACY_INTERNAL_H

#include "privacy/privacy.h"

struct audit_writer; /* audit.c */

struct privacy {
    struct privacy_opts o; /* strings below are owned copies */
    char *mixpanel_token, *mixpanel_gdpr_token, *mixpanel_gdpr_base_url, *hash_secret;
    struct audit_writer *audit;
};

extern const struct jobs_kind privacy_erase_kind;
extern const struct jobs_kind privacy_retention_kind;

enum herald_err audit_writer_start(struct store *st, struct audit_writer **out);
void audit_writer_stop(struct audit_writer *w);
/* Copies the entry into the queue (waits up to 2 s for room). */
void audit_writer_push(struct audit_writer *w, const struct privacy_audit *a);

#endif
