-- emc: contract plan=orders-customer-fk
-- expect: add-foreign-key-without-not-valid
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
COMMIT;
