-- expect: none
-- Making a column nullable lets new code stop writing it before a later contract step drops it.
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ALTER COLUMN legacy_status DROP NOT NULL;
COMMIT;
