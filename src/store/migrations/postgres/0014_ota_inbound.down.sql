DROP TABLE ota_inbound_seen;
