-- emc: contract plan=orders-legacy-index
-- expect: drop-index-non-concurrently
BEGIN;
SET LOCAL lock_timeout = '5s';
DROP INDEX orders_legacy_idx;
COMMIT;
