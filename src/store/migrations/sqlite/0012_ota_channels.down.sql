DROP TABLE ota_channels;
