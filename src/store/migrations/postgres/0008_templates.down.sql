DROP TABLE IF EXISTS mail_templates;
