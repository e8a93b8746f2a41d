DROP INDEX idx_subscriptions_list;
DROP TABLE subscriptions;
DROP TABLE contacts;
DROP TABLE mail_lists;
