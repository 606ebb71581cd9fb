-- expect: add-not-null-column-without-default
-- A required column on a table with rows: the ALTER fails, and old code's INSERTs would too.
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN region text NOT NULL;
COMMIT;
