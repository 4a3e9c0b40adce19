-- The endpoint family on a cluster (definitions and reasons in schema/010_family.sql).
-- The duration columns go on the local tables and on the Distributed table that fronts them.
ALTER TABLE cdrs_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS vendor_duration Int32 DEFAULT duration CODEC(T64, ZSTD(1));
ALTER TABLE cdrs_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS customer_duration Int32 DEFAULT duration CODEC(T64, ZSTD(1));
ALTER TABLE cdrs ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS vendor_duration Int32 DEFAULT duration;
ALTER TABLE cdrs ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS customer_duration Int32 DEFAULT duration;

-- Snapshots are sharded by customer account: an origination or outgoing query for one account
-- reads one shard; termination queries fan out (each shard answers from its projection).
CREATE TABLE IF NOT EXISTS active_calls_local ON CLUSTER '{cluster}'
(
    snapshot_timestamp              DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),
    customer_id                     UInt32,
    customer_acc_id                 UInt32,
    vendor_acc_id                   UInt32,
    src_country_id                  UInt32,
    dst_country_id                  UInt32,
    src_prefix_routing              LowCardinality(String),
    dst_prefix_routing              LowCardinality(String),
    duration                        Int32,
    customer_price                  Float64,
    vendor_price                    Float64,
    start_time                      DateTime('UTC'),
    connect_time                    Nullable(DateTime('UTC')),
    destination_prefix              LowCardinality(String),
    destination_initial_interval    Int32,
    destination_initial_rate        Float64,
    destination_next_interval       Int32,
    destination_next_rate           Float64,
    destination_fee                 Float64,
    src_name_in                     String,
    src_prefix_in                   String,
    dst_prefix_in                   String,
    from_domain                     LowCardinality(String),
    to_domain                       LowCardinality(String),
    ruri_domain                     LowCardinality(String),
    diversion_in                    String,
    pai_in                          String,
    ppi_in                          String,
    privacy_in                      LowCardinality(String),
    rpid_in                         String,
    rpid_privacy_in                 LowCardinality(String),
    auth_orig_transport_protocol_id UInt8,
    auth_orig_ip                    LowCardinality(String),
    auth_orig_port                  UInt16,
    PROJECTION by_vendor
    (
        SELECT * ORDER BY vendor_acc_id, snapshot_timestamp
    )
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/active_calls_local', '{replica}')
PARTITION BY toDate(snapshot_timestamp)
ORDER BY (customer_acc_id, snapshot_timestamp)
TTL snapshot_timestamp + INTERVAL 7 DAY DELETE
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS active_calls ON CLUSTER '{cluster}' AS active_calls_local
ENGINE = Distributed('{cluster}', currentDatabase(), active_calls_local, cityHash64(customer_acc_id));

-- Each shard records the snapshots it received rows of; the gateway reads the union through
-- the Distributed table (its queries use GLOBAL IN / scalar subqueries, computed once).
CREATE TABLE IF NOT EXISTS active_calls_snapshots_local ON CLUSTER '{cluster}'
(
    snapshot_timestamp DateTime('UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/active_calls_snapshots_local', '{replica}')
PARTITION BY toYYYYMM(snapshot_timestamp)
ORDER BY snapshot_timestamp
TTL snapshot_timestamp + INTERVAL 7 DAY DELETE;

CREATE MATERIALIZED VIEW IF NOT EXISTS active_calls_snapshots_mv ON CLUSTER '{cluster}' TO active_calls_snapshots_local AS
SELECT DISTINCT snapshot_timestamp
FROM active_calls_local;

-- Sharded by rand(): no account owns a snapshot time, and nothing is inserted through this table
-- (each shard's rows come from its own view above); it only reads the union of the shards.
CREATE TABLE IF NOT EXISTS active_calls_snapshots ON CLUSTER '{cluster}' AS active_calls_snapshots_local
ENGINE = Distributed('{cluster}', currentDatabase(), active_calls_snapshots_local, rand());
