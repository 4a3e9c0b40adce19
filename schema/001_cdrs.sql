-- Raw call detail records, one row per routing attempt, written by the switch's CDR pipeline.
--
-- Ordering key (vendor_acc_id, time_start): every API query is "one account, a time window",
-- so the primary index narrows a termination read to that account's granules in the window.
-- Origination reads `cdrs_by_customer` below instead of a full-copy projection: only the last
-- CDR of a call counts there and only its origination columns are needed, so that copy is about
-- 0.6 × the rows and 9 of the 12 columns (a full projection cost 0.9 × the raw bytes).
--
-- Monthly partitions: `cdrstats rollups rebuild` swaps derived data a month at a time, and the
-- retention TTL (RAW_RETENTION_DAYS, set by `cdrstats migrate`) drops whole parts
-- (ttl_only_drop_parts) instead of rewriting them, so expired data may linger until its part is
-- wholly expired (the gateway refuses windows past retention regardless). Daily partitions were
-- tried: every partition costs at least one granule (8 192 rows) per account read, so a small
-- account's 31-day window read 31 granules instead of one or two.
--
-- Codecs, chosen on the realistic seed profile: times are sorted within an account (DoubleDelta),
-- ids and durations use few of their bits (T64 crops them), ZSTD(1) on top; the routing strings
-- and addresses have at most thousands of distinct values per part (LowCardinality). Prices stay
-- Float64 as the switch writes them.
CREATE TABLE IF NOT EXISTS cdrs
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
ENGINE = MergeTree
PARTITION BY toYYYYMM(time_start)
ORDER BY (vendor_acc_id, time_start)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

-- The origination access path: the last CDR of each call, ordered by the customer's account.
-- Kept by a materialized view on every insert into cdrs; derived data like the rollups, so
-- `cdrstats rollups rebuild` can rebuild it from cdrs and `rollups verify` checks it.
CREATE TABLE IF NOT EXISTS cdrs_by_customer
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
ENGINE = MergeTree
PARTITION BY toYYYYMM(time_start)
ORDER BY (customer_acc_id, time_start)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS cdrs_by_customer_mv TO cdrs_by_customer AS
SELECT time_start, customer_acc_id, duration, src_country_id, dst_country_id,
       src_prefix_routing, dst_prefix_routing, auth_orig_ip, customer_price
FROM cdrs
WHERE is_last_cdr;
