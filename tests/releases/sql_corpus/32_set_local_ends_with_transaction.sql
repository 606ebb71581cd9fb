-- expect: missing-lock-timeout
-- SET LOCAL lasts until COMMIT: the second transaction runs without a timeout.
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN gift_message text;
COMMIT;
BEGIN;
ALTER TABLE orders ADD COLUMN gift_wrap boolean;
COMMIT;
