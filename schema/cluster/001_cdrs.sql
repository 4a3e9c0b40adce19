-- CDRs on a cluster: per shard a local replicated table (<name>_local), over them a Distributed
-- table with the name the gateway queries. Columns, codecs, ordering, partitioning and settings
-- are those of schema/001_cdrs.sql (a unit test, src/cli/schema_parity.rs, compares them).
--
-- Sharding: by account, so with optimize_skip_unused_shards (the gateway's profile,
-- 900_gateway_user.sql) a one-account query reads one shard. A CDR has two accounts:
-- - cdrs is sharded by vendor_acc_id (termination counts every CDR, read by vendor account);
-- - cdrs_by_customer, the origination access path, is sharded by customer_acc_id, so an
--   origination query on raw CDRs reads one shard too.
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
--
-- How each view reaches the right shard: a materialized view is an insert trigger that runs its
-- SELECT on the block inserted into its source table, on the node that receives the insert
-- (docs: sql-reference/statements/create/view, "Materialized View"; replicas that fetch the part
-- do not run it). cdrs_by_customer_mv reads cdrs_local (the shard of the vendor account) and
-- writes into the Distributed cdrs_by_customer, which sends each row to the shard of its
-- customer account; with the pipeline's distributed_foreground_insert = 1 that happens inside
-- the insert, so the row is visible when the insert returns (a cascaded insert succeeds only
-- when every view in the chain was written: docs knowledge base "Are materialized views
-- inserted synchronously").
CREATE TABLE IF NOT EXISTS cdrs_local ON CLUSTER '{cluster}'
(
    time_start         DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),
    customer_acc_id    UInt32 CODEC(T64, ZSTD(1)),
    vendor_acc_id      UInt32 CODEC(T64, ZSTD(1)),
    is_last_cdr        Bool,
    duration           Int32 CODEC(T64, ZSTD(1)),
    src_country_id     UInt32 CODEC(T64, ZSTD(1)),
    dst_country_id     UInt32 CODEC(T64, ZSTD(1)),
    src_prefix_routing LowCardinality(String),
    dst_prefix_routing LowCardinality(String),
    auth_orig_ip       LowCardinality(String),
    customer_price     Float64 CODEC(ZSTD(1)),
    vendor_price       Float64 CODEC(ZSTD(1))
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/cdrs_local', '{replica}')
PARTITION BY toYYYYMM(time_start)
ORDER BY (vendor_acc_id, time_start)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS cdrs ON CLUSTER '{cluster}' AS cdrs_local
ENGINE = Distributed('{cluster}', currentDatabase(), cdrs_local, cityHash64(vendor_acc_id));

-- The origination access path: the last CDR of each call, on the shard of its customer account.
CREATE TABLE IF NOT EXISTS cdrs_by_customer_local ON CLUSTER '{cluster}'
(
    time_start         DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),
    customer_acc_id    UInt32 CODEC(T64, ZSTD(1)),
    duration           Int32 CODEC(T64, ZSTD(1)),
    src_country_id     UInt32 CODEC(T64, ZSTD(1)),
    dst_country_id     UInt32 CODEC(T64, ZSTD(1)),
    src_prefix_routing LowCardinality(String),
    dst_prefix_routing LowCardinality(String),
    auth_orig_ip       LowCardinality(String),
    customer_price     Float64 CODEC(ZSTD(1))
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/cdrs_by_customer_local', '{replica}')
PARTITION BY toYYYYMM(time_start)
ORDER BY (customer_acc_id, time_start)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS cdrs_by_customer ON CLUSTER '{cluster}' AS cdrs_by_customer_local
ENGINE = Distributed('{cluster}', currentDatabase(), cdrs_by_customer_local, cityHash64(customer_acc_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS cdrs_by_customer_mv ON CLUSTER '{cluster}' TO cdrs_by_customer AS
SELECT time_start, customer_acc_id, duration, src_country_id, dst_country_id,
       src_prefix_routing, dst_prefix_routing, auth_orig_ip, customer_price
FROM cdrs_local
WHERE is_last_cdr;
