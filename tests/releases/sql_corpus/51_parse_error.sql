-- expect: parse-error
BEGIN;
ALTER TABLE orders ADD COLUMN;
COMMIT;
