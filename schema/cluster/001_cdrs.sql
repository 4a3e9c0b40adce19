-- CDRs on a cluster: one local replicated table per shard, one Distributed table over them.
-- Columns, ordering and projection as in schema/001_cdrs.sql.
--
-- Sharding: by account. A CDR has two accounts; it is sharded by vendor_acc_id (termination
-- counts every CDR), so with optimize_skip_unused_shards (the gateway's profile, 900_*.sql) a
-- termination query on raw cdrs reads one shard; origination queries on raw cdrs read every
-- shard. The rollups (003_rollups.sql) are sharded by their own account_id, so rollup queries
-- of either side read one shard.
--
-- Insert path (the gateway never writes): the CDR pipeline inserts into cdrs_local on the shard
-- that owns the row (cityHash64(vendor_acc_id) over the shard weights, the key below) with the
-- settings of cdrstats_pipeline_profile (900_*.sql). ReplicatedMergeTree then deduplicates a
-- retried block, and a deduplicated block does not fire the materialized views again. Inserting
-- into the Distributed cdrs instead is asynchronous by default (rows are queued and sent in the
-- background, so they are not visible at once) and a retried Distributed insert is not
-- deduplicated; if the pipeline must use it, it sets distributed_foreground_insert = 1
-- (https://clickhouse.com/docs/reference/settings/session-settings/distributed) and accepts
-- that a retry after a timeout can count rows twice.
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
