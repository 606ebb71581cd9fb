-- emc: contract plan=retire-legacy-db
-- expect: drop-database
DROP DATABASE legacy;
