DROP TABLE sync_cursors;
DROP TABLE dead_letters;
DROP TABLE jobs;
