DROP TABLE event_source;
DROP TABLE api_keys;
