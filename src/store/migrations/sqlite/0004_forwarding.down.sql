DROP TABLE forward_cursors;
