-- emc: contract plan=partition-archive
-- expect: detach-partition-concurrently-in-transaction
-- PostgreSQL refuses DETACH ... CONCURRENTLY inside a transaction block.
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY;
COMMIT;
