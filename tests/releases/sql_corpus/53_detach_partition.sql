-- emc: contract plan=partition-archive
-- expect: detach-partition-non-concurrently
-- Detaching a partition locks the whole partitioned table; CONCURRENTLY (PostgreSQL 14+) does not.
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE events DETACH PARTITION events_2023;
COMMIT;
