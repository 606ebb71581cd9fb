-- expect: add-column-volatile-default
-- gen_random_uuid() is volatile: every existing row needs its own value, so the table is rewritten.
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();
COMMIT;
