-- expect: missing-lock-timeout
BEGIN;
ALTER TABLE orders ADD COLUMN gift_message text;
COMMIT;
