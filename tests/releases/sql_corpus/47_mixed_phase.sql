-- emc: contract plan=orders-status-v2
-- expect: emc-mixed-phase
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN status_v2 text;
ALTER TABLE orders DROP COLUMN legacy_status;
COMMIT;
