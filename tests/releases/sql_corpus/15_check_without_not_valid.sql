-- emc: contract plan=orders-quantity-check
-- expect: add-check-without-not-valid
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD CONSTRAINT orders_quantity_positive CHECK (quantity > 0);
COMMIT;
