-- CDRs on a cluster: one local replicated table per shard, one Distributed table to insert
-- into and to query. Columns, ordering and projection as in schema/001_cdrs.sql.
CREATE TABLE IF NOT EXISTS cdrs_local ON CLUSTER '{cluster}'
(
    time_start         DateTime('UTC'),
    customer_acc_id    UInt32,
    vendor_acc_id      UInt32,
    is_last_cdr        Bool,
    duration           Int32 CODEC(T64, ZSTD(1)),
    src_country_id     UInt32,
    dst_country_id     UInt32,
    src_prefix_routing LowCardinality(String),
    dst_prefix_routing LowCardinality(String),
    auth_orig_ip       LowCardinality(String),
    customer_price     Float64,
    vendor_price       Float64,
    PROJECTION by_customer
    (
        SELECT * ORDER BY customer_acc_id, time_start
    )
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/cdrs_local', '{replica}')
PARTITION BY toYYYYMM(time_start)
ORDER BY (vendor_acc_id, time_start)
SETTINGS index_granularity = 8192, deduplicate_merge_projection_mode = 'rebuild';

CREATE TABLE IF NOT EXISTS cdrs ON CLUSTER '{cluster}' AS cdrs_local
ENGINE = Distributed('{cluster}', currentDatabase(), cdrs_local, cityHash64(vendor_acc_id));
