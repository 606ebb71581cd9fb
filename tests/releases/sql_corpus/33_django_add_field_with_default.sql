-- expect: add-default-then-drop-default, missing-lock-timeout
-- python manage.py sqlmigrate shop 0007 (AddField IntegerField(default=0))
BEGIN;
--
-- Add field priority to order
--
ALTER TABLE "shop_order" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;
ALTER TABLE "shop_order" ALTER COLUMN "priority" DROP DEFAULT;
COMMIT;
