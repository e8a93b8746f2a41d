DROP TABLE ota_ari_channels;
DROP TABLE ota_ari_updates;
DROP TABLE ota_ari_intents;
