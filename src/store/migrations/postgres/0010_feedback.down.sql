DROP TABLE mail_feedback_reports;
