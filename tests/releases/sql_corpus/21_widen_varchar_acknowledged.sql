-- expect: none
BEGIN;
SET LOCAL lock_timeout = '5s';
-- lint-ignore: change-column-type-widening (note was varchar(200))
ALTER TABLE orders ALTER COLUMN note TYPE varchar(500);
COMMIT;
