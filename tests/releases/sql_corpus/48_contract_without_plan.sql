-- emc: contract
-- expect: emc-contract-missing-plan
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders DROP COLUMN legacy_status;
COMMIT;
