-- expect: timestamp-without-time-zone
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN shipped_at timestamp;
COMMIT;
