-- expect: transaction-nesting
BEGIN;
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN gift_message text;
COMMIT;
