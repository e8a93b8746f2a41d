/* Shared by store/campaigns.c (the statement block, campaign rows) and store/campaign_queue.c
 * (the send queue): small helpers over store_query(). Private to those two files. */
#ifndef HERALD_STORE_CAMPAIGNS_INTERNAL_H
#define HERALD_STORE_CAMPAIGNS_INTERNAL_H

#include "store/campaigns.h"
#include "store/internal.h"

/* A copy of a cell ("" for NULL unless keep_null); sets *failed when out of memory. */
char *store_campaign_dup_text(const struct store_res *r, int row, int col, bool keep_null,
                              int *failed);
/* Runs a statement for its effect; *changes (may be NULL) = rows touched. */
int store_campaign_exec(struct store_conn *c, enum store_stmt stmt, const struct store_val *p,
                        int n, int64_t *changes);
/* The first cell of the first row as an integer (0 when there is no row). */
int store_campaign_scalar(struct store_conn *c, enum store_stmt stmt, const struct store_val *p,
                          int n, int64_t *out);

#endif
