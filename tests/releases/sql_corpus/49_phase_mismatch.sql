-- emc: contract plan=orders-gift
-- expect: emc-phase-mismatch
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN gift_message text;
COMMIT;
