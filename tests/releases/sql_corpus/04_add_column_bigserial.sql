-- expect: add-column-volatile-default, serial-column
-- A serial column's default is nextval(): adding one to an existing table rewrites it.
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN sequence_no bigserial;
COMMIT;
