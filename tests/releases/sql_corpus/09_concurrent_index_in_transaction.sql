-- expect: concurrent-index-in-transaction
BEGIN;
SET LOCAL lock_timeout = '5s';
CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);
COMMIT;
