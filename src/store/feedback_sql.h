/* The statistics' SQL shared by store/feedback.c (per campaign, all campaigns) and
 * store/automations.c (per automation: over the campaigns of its sends). Private to store/. */
#ifndef HERALD_STORE_FEEDBACK_SQL_H
#define HERALD_STORE_FEEDBACK_SQL_H

/* Per kind: rows, and distinct (campaign, contact) pairs in [$2, $3); one campaign or all (two
   statements, so each gets its own plan: the per-campaign one uses the campaign index). */
#define FEEDBACK_COUNTS(where)                                                                     \
    "SELECT kind, COALESCE(SUM(n), 0), COUNT(*) FROM (SELECT kind, campaign_id, contact_id, "      \
    "COUNT(*) AS n FROM mail_feedback WHERE " where " created_at_ms >= $2 AND "                    \
    "created_at_ms < $3 GROUP BY kind, campaign_id, contact_id) t GROUP BY kind"
/* sent (accepted), of those bounced later, failed, bounced, pending now, accepted in the last
   minute: [$2, $3) the window, [$4, $5) the last minute; one campaign or all. */
#define QUEUE_STATS(where)                                                                         \
    "SELECT COALESCE(SUM(CASE WHEN status IN ('sent', 'bounced') AND sent_at_ms >= $2 AND "        \
    "sent_at_ms < $3 THEN 1 ELSE 0 END), 0), "                                                     \
    "COALESCE(SUM(CASE WHEN status = 'bounced' AND sent_at_ms >= $2 AND sent_at_ms < $3 "          \
    "THEN 1 ELSE 0 END), 0), "                                                                     \
    "COALESCE(SUM(CASE WHEN status = 'failed' AND updated_at_ms >= $2 AND updated_at_ms < $3 "     \
    "THEN 1 ELSE 0 END), 0), "                                                                     \
    "COALESCE(SUM(CASE WHEN status = 'bounced' AND updated_at_ms >= $2 AND updated_at_ms < $3 "    \
    "THEN 1 ELSE 0 END), 0), "                                                                     \
    "COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0), "                           \
    "COALESCE(SUM(CASE WHEN status IN ('sent', 'bounced') AND sent_at_ms >= $4 AND "               \
    "sent_at_ms < $5 THEN 1 ELSE 0 END), 0) FROM send_queue " where
/* The campaigns of one automation's sends ($1), as a filter on campaign_id. */
#define OF_AUTOMATION "campaign_id IN (SELECT id FROM campaigns WHERE automation_id = $1)"

#endif
