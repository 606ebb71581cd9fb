-- expect: none
-- Constant and stable defaults (now() is STABLE in pg_proc) are stored once in the catalogue on
-- PostgreSQL >= 11: no rewrite (measured on 15 with pg_relation_filenode before/after).
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN imported_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';
COMMIT;
