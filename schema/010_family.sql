-- The rest of the endpoint family (SPEC §6): billed durations on cdrs, and the active-calls
-- snapshots written once a minute by the switch's statistics collector.
--
-- vendor_duration / customer_duration: the durations each side is billed for (SPEC §6.1,
-- TERMINATION_DURATION_COLUMN / ORIGINATION_DURATION_COLUMN). They default to `duration`, so
-- pipelines that do not send them yet, and rows written before this migration, read as the
-- plain duration (a DEFAULT is computed on read for old parts, no rewrite).
ALTER TABLE cdrs ADD COLUMN IF NOT EXISTS vendor_duration Int32 DEFAULT duration CODEC(T64, ZSTD(1));
ALTER TABLE cdrs ADD COLUMN IF NOT EXISTS customer_duration Int32 DEFAULT duration CODEC(T64, ZSTD(1));

-- One row per call in progress at snapshot_timestamp; one snapshot a minute of up to 100 000
-- concurrent calls is ~144M rows a day.
--
-- Ordering (customer_acc_id, snapshot_timestamp): every read is "one account, a time window"
-- (origination-active-calls, outgoing-active-calls); termination-active-calls filters on
-- vendor_acc_id and is served by the projection, as for cdrs.
-- Partitions are days and rows live 7 days: expiry drops whole partitions (ttl_only_drop_parts)
-- instead of rewriting parts (ClickHouse's "Managing TTL" guide recommends exactly this pairing,
-- https://clickhouse.com/docs/use-cases/observability/clickstack/ttl). Rows already past the TTL
-- when inserted are dropped at once (seen on the local engine, ClickHouse 26.9). Snapshots are a live view, not history; raise the TTL with
--   ALTER TABLE active_calls MODIFY TTL snapshot_timestamp + INTERVAL 30 DAY DELETE;
-- Repeated per-call strings (domains, prefixes, headers) compress well as LowCardinality.
CREATE TABLE IF NOT EXISTS active_calls
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
ENGINE = MergeTree
PARTITION BY toDate(snapshot_timestamp)
ORDER BY (customer_acc_id, snapshot_timestamp)
TTL snapshot_timestamp + INTERVAL 7 DAY DELETE
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

-- The timestamps of the snapshots, kept by a materialized view: "the latest snapshot of each
-- minute" and "the newest snapshot" are then read from a few thousand rows instead of scanning
-- snapshot_timestamp over every account's calls. A snapshot without any call leaves no row
-- in active_calls and so none here either: it is indistinguishable from a missing snapshot.
CREATE TABLE IF NOT EXISTS active_calls_snapshots
(
    snapshot_timestamp DateTime('UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(snapshot_timestamp)
ORDER BY snapshot_timestamp
TTL snapshot_timestamp + INTERVAL 7 DAY DELETE;

CREATE MATERIALIZED VIEW IF NOT EXISTS active_calls_snapshots_mv TO active_calls_snapshots AS
SELECT DISTINCT snapshot_timestamp
FROM active_calls;

-- Backfill from rows written before the view existed (an empty table on a fresh install).
INSERT INTO active_calls_snapshots
SELECT DISTINCT snapshot_timestamp
FROM active_calls
WHERE snapshot_timestamp NOT IN (SELECT snapshot_timestamp FROM active_calls_snapshots);
