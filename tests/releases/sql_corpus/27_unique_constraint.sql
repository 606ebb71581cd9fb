-- emc: contract plan=customers-unique-email
-- expect: add-unique-constraint-without-index
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email);
COMMIT;
