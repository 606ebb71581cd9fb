-- expect: drop-column-outside-contract, emc-contract-undeclared
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders DROP COLUMN legacy_status;
COMMIT;
