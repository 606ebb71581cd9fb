-- emc: contracted plan=orders-gift
-- expect: emc-invalid-annotation
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN gift_message text;
COMMIT;
