-- expect: change-column-type-widening
-- Django's AlterField(max_length=500): metadata-only if the column was varchar(n <= 500).
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ALTER COLUMN note TYPE varchar(500);
COMMIT;
