-- expect: do-block-unchecked
-- A DO block that builds its DDL at run time: the linter cannot see what it locks.
BEGIN;
SET LOCAL lock_timeout = '5s';
DO $$
BEGIN
  EXECUTE format('ALTER TABLE %I ADD COLUMN archived boolean', 'orders');
END
$$;
COMMIT;
