-- expect: char-column, timestamp-without-time-zone, serial-column, int-primary-key
BEGIN;
SET LOCAL lock_timeout = '5s';
CREATE TABLE coupons (id serial PRIMARY KEY, code char(8) NOT NULL, expires_at timestamp NOT NULL);
COMMIT;
