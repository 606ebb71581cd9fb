-- expect: reindex-non-concurrently
SET lock_timeout = '5s';
REINDEX INDEX orders_customer_idx;
