-- emc: contract plan=events-primary-key
-- expect: add-primary-key-without-index
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE events ADD PRIMARY KEY (id);
COMMIT;
