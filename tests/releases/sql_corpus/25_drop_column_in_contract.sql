-- emc: contract plan=orders-legacy-status
-- expect: none
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders DROP COLUMN legacy_status;
COMMIT;
