-- expect: truncate-cascade
BEGIN;
SET LOCAL lock_timeout = '5s';
TRUNCATE customers CASCADE;
COMMIT;
