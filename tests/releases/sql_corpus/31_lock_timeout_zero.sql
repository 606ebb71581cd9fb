-- expect: missing-lock-timeout
-- lock_timeout = 0 means "wait forever".
BEGIN;
SET LOCAL lock_timeout = 0;
ALTER TABLE orders ADD COLUMN gift_message text;
COMMIT;
