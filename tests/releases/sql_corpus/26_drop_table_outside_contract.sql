-- emc: expand
-- expect: drop-table-outside-contract, emc-phase-mismatch
BEGIN;
SET LOCAL lock_timeout = '5s';
DROP TABLE order_archive;
COMMIT;
