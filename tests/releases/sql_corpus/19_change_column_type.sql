-- emc: contract plan=orders-quantity-bigint
-- expect: change-column-type
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;
COMMIT;
