/* The store's mail_templates operations (migration 0008, statements in the STMT_TEMPLATES block).
 * Owned by the templates helper. Run them inside store_run_tx()/store_run_read().
 *
 * Errors: HERALD_ERR_NOT_FOUND (no row with that id), HERALD_ERR_DUPLICATE (name taken),
 * HERALD_ERR_DB / HERALD_ERR_DB_SOFT from the backend, HERALD_ERR_NOMEM. */
#ifndef HERALD_STORE_TEMPLATES_H
#define HERALD_STORE_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store_template {
    int64_t id;
    char *name;    /* owned (malloc) */
    char *subject; /* owned */
    char *html;    /* owned: sanitised HTML */
    char *text;    /* owned: given or generated */
    bool text_generated;
    int64_t created_at_ms;
    int64_t updated_at_ms;
};

/* Frees the members of t (not t itself) and zeroes it. NULL is fine. */
void store_template_clear(struct store_template *t);
/* Frees n rows and the array. */
void store_templates_free(struct store_template *rows, size_t n);

/* Inserts t (its id and times are ignored: created = updated = now_ms); *id_out gets the id. */
enum herald_err store_template_insert(struct store_conn *c, const struct store_template *t,
                                      int64_t now_ms, int64_t *id_out);
/* Reads one row into *out (store_template_clear() it). */
enum herald_err store_template_get(struct store_conn *c, int64_t id, struct store_template *out);
/* Rewrites name, subject, html, text, text_generated of row t->id; updated_at = now_ms. */
enum herald_err store_template_update(struct store_conn *c, const struct store_template *t,
                                      int64_t now_ms);
enum herald_err store_template_delete(struct store_conn *c, int64_t id);
/* Newest first (id descending), ids below before_id (0: from the newest), at most limit rows.
 * Allocates *out (store_templates_free()). */
enum herald_err store_template_list(struct store_conn *c, int64_t before_id, int limit,
                                    struct store_template **out, size_t *count);
/* How many campaigns not finished or cancelled use template id (0 while the campaigns table
 * does not exist). */
enum herald_err store_template_campaign_uses(struct store_conn *c, int64_t id, int64_t *count);

/* The preview's contact: name, email and attributes (JSON text) of contacts.id; each owned. */
struct store_template_contact {
    char *name;
    char *email;
    char *attributes;
};
enum herald_err store_template_contact_get(struct store_conn *c, int64_t contact_id,
                                           struct store_template_contact *out);
void store_template_contact_clear(struct store_template_contact *ct);

#endif
