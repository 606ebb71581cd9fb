-- expect: none
-- A constraint on a column added by the same migration restricts nothing old code writes: expand.
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN billing_customer_id bigint;
ALTER TABLE orders ADD CONSTRAINT orders_billing_customer_fk
    FOREIGN KEY (billing_customer_id) REFERENCES customers (id) NOT VALID;
COMMIT;
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders VALIDATE CONSTRAINT orders_billing_customer_fk;
COMMIT;
