-- schema/026_copy_inserted_at.sql on a cluster (src/cli/schema_parity.rs compares them): the
-- column on the local and the Distributed copy, then the view changed in place on every node,
-- reading cdrs_local as before. The copy's inserted_at is the value the shard holding the raw
-- CDR filled in, carried to the customer's shard by the Distributed insert.
ALTER TABLE cdrs_by_customer_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS inserted_at DateTime('UTC') DEFAULT 0;
ALTER TABLE cdrs_by_customer ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS inserted_at DateTime('UTC') DEFAULT 0;

ALTER TABLE cdrs_by_customer_mv ON CLUSTER '{cluster}' MODIFY QUERY
SELECT time_start, customer_acc_id, duration, src_country_id, dst_country_id,
       src_prefix_routing, dst_prefix_routing, auth_orig_ip, customer_price,
       dst_network_id, lega_disconnect_code, lega_disconnect_reason, pdd, inserted_at
FROM cdrs_local
WHERE is_last_cdr;
