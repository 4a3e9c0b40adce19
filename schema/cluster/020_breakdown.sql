-- The breakdown columns on a cluster (definitions and reasons in schema/020_breakdown.sql):
-- on the local tables and on the Distributed tables that front them, then the origination
-- copy's view changed in place on every node (ALTER TABLE ... MODIFY QUERY, never a DROP).
ALTER TABLE cdrs_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS dst_network_id UInt32 DEFAULT 0 CODEC(T64, ZSTD(1));
ALTER TABLE cdrs_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS lega_disconnect_code Int32 DEFAULT 0 CODEC(T64, ZSTD(1));
ALTER TABLE cdrs_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS lega_disconnect_reason LowCardinality(String) DEFAULT '';
ALTER TABLE cdrs_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS legb_disconnect_code Int32 DEFAULT 0 CODEC(T64, ZSTD(1));
ALTER TABLE cdrs_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS legb_disconnect_reason LowCardinality(String) DEFAULT '';
ALTER TABLE cdrs_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS pdd Float32 DEFAULT 0 CODEC(ZSTD(1));
ALTER TABLE cdrs ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS dst_network_id UInt32 DEFAULT 0;
ALTER TABLE cdrs ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS lega_disconnect_code Int32 DEFAULT 0;
ALTER TABLE cdrs ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS lega_disconnect_reason LowCardinality(String) DEFAULT '';
ALTER TABLE cdrs ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS legb_disconnect_code Int32 DEFAULT 0;
ALTER TABLE cdrs ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS legb_disconnect_reason LowCardinality(String) DEFAULT '';
ALTER TABLE cdrs ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS pdd Float32 DEFAULT 0;

ALTER TABLE cdrs_by_customer_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS dst_network_id UInt32 DEFAULT 0 CODEC(T64, ZSTD(1));
ALTER TABLE cdrs_by_customer_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS lega_disconnect_code Int32 DEFAULT 0 CODEC(T64, ZSTD(1));
ALTER TABLE cdrs_by_customer_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS lega_disconnect_reason LowCardinality(String) DEFAULT '';
ALTER TABLE cdrs_by_customer_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS pdd Float32 DEFAULT 0 CODEC(ZSTD(1));
ALTER TABLE cdrs_by_customer ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS dst_network_id UInt32 DEFAULT 0;
ALTER TABLE cdrs_by_customer ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS lega_disconnect_code Int32 DEFAULT 0;
ALTER TABLE cdrs_by_customer ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS lega_disconnect_reason LowCardinality(String) DEFAULT '';
ALTER TABLE cdrs_by_customer ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS pdd Float32 DEFAULT 0;

ALTER TABLE cdrs_by_customer_mv ON CLUSTER '{cluster}' MODIFY QUERY
SELECT time_start, customer_acc_id, duration, src_country_id, dst_country_id,
       src_prefix_routing, dst_prefix_routing, auth_orig_ip, customer_price,
       dst_network_id, lega_disconnect_code, lega_disconnect_reason, pdd
FROM cdrs_local
WHERE is_last_cdr;
