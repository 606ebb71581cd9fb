-- expect: add-foreign-key-without-not-valid, create-index-non-concurrently, missing-lock-timeout
-- python manage.py sqlmigrate shop 0009 (AddField ForeignKey(null=True))
BEGIN;
--
-- Add field customer to order
--
ALTER TABLE "shop_order" ADD COLUMN "customer_id" bigint NULL CONSTRAINT "shop_order_customer_id_3c1f_fk_shop_customer_id" REFERENCES "shop_customer"("id") DEFERRABLE INITIALLY DEFERRED; SET CONSTRAINTS "shop_order_customer_id_3c1f_fk_shop_customer_id" IMMEDIATE;
CREATE INDEX "shop_order_customer_id_3c1f" ON "shop_order" ("customer_id");
COMMIT;
