-- emc: contract plan=partition-archive
-- expect: add-exclusion-constraint
-- An exclusion constraint on a table in use builds its index under ACCESS EXCLUSIVE; there is no NOT VALID form.
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (room_id WITH =, during WITH &&);
COMMIT;
