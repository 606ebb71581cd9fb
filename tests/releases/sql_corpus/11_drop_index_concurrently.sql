-- emc: contract plan=orders-legacy-index
-- expect: none
SET lock_timeout = '5s';
DROP INDEX CONCURRENTLY IF EXISTS orders_legacy_idx;
