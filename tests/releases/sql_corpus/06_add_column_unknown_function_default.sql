-- expect: add-column-volatile-default
-- The linter cannot see the catalogue: a function it does not know is assumed volatile.
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN code text DEFAULT next_order_code();
COMMIT;
