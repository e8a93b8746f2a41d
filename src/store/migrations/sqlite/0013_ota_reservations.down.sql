DROP TABLE ota_reservation_revisions;
DROP TABLE ota_reservations;
