-- emc: contract plan=orders-rename-note
-- expect: rename-column
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders RENAME COLUMN note TO customer_note;
COMMIT;
