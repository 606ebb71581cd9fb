-- emc: contract plan=orders-region-required
-- expect: set-not-null-without-check
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ALTER COLUMN region SET NOT NULL;
COMMIT;
