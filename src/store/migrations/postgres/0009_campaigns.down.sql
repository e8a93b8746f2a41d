DROP TABLE mail_feedback;
DROP TABLE send_queue;
DROP TABLE campaign_lists;
DROP TABLE campaigns;
