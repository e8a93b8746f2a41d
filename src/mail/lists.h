/* Mailing lists (domain, mail/lists.c): validation and the list operations the API calls, each
 * in its own transaction over store/contacts.h. A list is single opt-in (a new subscription is
 * confirmed at once) or double opt-in (it stays unconfirmed until the contact follows the link
 * of the confirmation mail, mail/optin.h).
 *
 * Errors: HERALD_ERR_INVALID with the field in *err (name empty or over MAIL_LIST_NAME_MAX,
 * optin not single|double, description over MAIL_LIST_DESCRIPTION_MAX), HERALD_ERR_DUPLICATE
 * (name taken; field "name"), HERALD_ERR_NOT_FOUND (unknown id), store errors. */
#ifndef HERALD_MAIL_LISTS_H
#define HERALD_MAIL_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/contacts.h"
#include "store/store.h"

#define MAIL_LIST_NAME_MAX 128         /* bytes, after trimming */
#define MAIL_LIST_DESCRIPTION_MAX 2048 /* bytes */

/* A creation (name and optin required) or a change (NULL members stay as they are). */
struct mail_list_input {
    const char *name;
    const char *optin; /* "single" or "double" */
    const char *description;
};

/* True for "single" and "double". */
bool mail_list_optin_valid(const char *optin);

/* Creates the list; *out is the stored row, counts 0 (store_list_clear() it). */
enum herald_err mail_list_create(struct store *st, const struct mail_list_input *in,
                                 struct store_list *out, struct herald_error *err);
/* The list with its subscriber counts per status. */
enum herald_err mail_list_get(struct store *st, int64_t id, struct store_list *out);
/* Lists with id > after_id, ascending, at most limit (1..100), with their counts.
 * Allocates *out (store_lists_free()). */
enum herald_err mail_list_list(struct store *st, int64_t after_id, int limit,
                               struct store_list **out, size_t *count);
/* Changes the given members; *out is the row afterwards, with counts. Changing optin does not
 * touch existing subscriptions (unconfirmed ones stay unconfirmed). */
enum herald_err mail_list_update(struct store *st, int64_t id, const struct mail_list_input *in,
                                 struct store_list *out, struct herald_error *err);
/* Deletes the list and its subscriptions (contacts stay). */
enum herald_err mail_list_delete(struct store *st, int64_t id);

#endif
