-- Where calls go and why they fail: the destination network, each leg's disconnect code and
-- reason, and the post-dial delay, for the breakdown endpoints.
--
-- The disconnect code a side sees: termination (the account is the vendor) reads legb_* (what
-- the vendor's equipment answered), origination (the customer) lega_* (what the customer was
-- answered). pdd is in seconds, 0 = not measured.
--
-- Every column has a DEFAULT, so a pipeline that does not send them keeps inserting, and parts
-- written before this migration read the default without being rewritten (ADD COLUMN changes
-- only metadata; a missing column is computed from its DEFAULT on read:
-- https://clickhouse.com/docs/sql-reference/statements/alter/column#add-column).
ALTER TABLE cdrs ADD COLUMN IF NOT EXISTS dst_network_id UInt32 DEFAULT 0 CODEC(T64, ZSTD(1));
ALTER TABLE cdrs ADD COLUMN IF NOT EXISTS lega_disconnect_code Int32 DEFAULT 0 CODEC(T64, ZSTD(1));
ALTER TABLE cdrs ADD COLUMN IF NOT EXISTS lega_disconnect_reason LowCardinality(String) DEFAULT '';
ALTER TABLE cdrs ADD COLUMN IF NOT EXISTS legb_disconnect_code Int32 DEFAULT 0 CODEC(T64, ZSTD(1));
ALTER TABLE cdrs ADD COLUMN IF NOT EXISTS legb_disconnect_reason LowCardinality(String) DEFAULT '';
ALTER TABLE cdrs ADD COLUMN IF NOT EXISTS pdd Float32 DEFAULT 0 CODEC(ZSTD(1));

-- Origination reads the last CDRs of cdrs_by_customer (ordered by customer), so it gets the
-- origination side's columns too, and its view starts copying them. The view is changed in
-- place, never dropped and re-created: a CDR inserted between a DROP and a CREATE would never
-- reach cdrs_by_customer. ALTER TABLE ... MODIFY QUERY replaces the SELECT of a view with a TO
-- table "without interrupting ingestion process"
-- (https://clickhouse.com/docs/sql-reference/statements/alter/view); it no longer needs
-- allow_experimental_alter_materialized_view_structure (the docs dropped the requirement in
-- ClickHouse/ClickHouse#59281, January 2024; on the local engine, ClickHouse 26.9, the setting
-- reads 1 unchanged in system.settings and MODIFY QUERY works with default settings).
-- The target columns come first, so the new SELECT always has somewhere to write. Rows
-- inserted before the view changed hold the defaults there (as before this migration);
-- `cdrstats rollups rebuild` recomputes cdrs_by_customer from cdrs when history matters.
ALTER TABLE cdrs_by_customer ADD COLUMN IF NOT EXISTS dst_network_id UInt32 DEFAULT 0 CODEC(T64, ZSTD(1));
ALTER TABLE cdrs_by_customer ADD COLUMN IF NOT EXISTS lega_disconnect_code Int32 DEFAULT 0 CODEC(T64, ZSTD(1));
ALTER TABLE cdrs_by_customer ADD COLUMN IF NOT EXISTS lega_disconnect_reason LowCardinality(String) DEFAULT '';
ALTER TABLE cdrs_by_customer ADD COLUMN IF NOT EXISTS pdd Float32 DEFAULT 0 CODEC(ZSTD(1));

ALTER TABLE cdrs_by_customer_mv MODIFY QUERY
SELECT time_start, customer_acc_id, duration, src_country_id, dst_country_id,
       src_prefix_routing, dst_prefix_routing, auth_orig_ip, customer_price,
       dst_network_id, lega_disconnect_code, lega_disconnect_reason, pdd
FROM cdrs
WHERE is_last_cdr;
