-- emc: contract plan=orders-rename
-- expect: rename-table
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders RENAME TO purchase_orders;
COMMIT;
