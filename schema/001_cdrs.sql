-- Raw call detail records, one row per routing attempt, written by the switch's CDR pipeline.
--
-- Ordering key (vendor_acc_id, time_start): every API query is "one account, a time window",
-- so the primary index narrows a read to that account's granules within the window.
-- Termination statistics filter on vendor_acc_id and read this order directly; origination
-- statistics filter on customer_acc_id and are served by the projection below, which keeps
-- a second copy of the rows sorted (customer_acc_id, time_start) and is chosen automatically.
--
-- Partitioning by month keeps part counts low at ~10M rows/day and lets old data be dropped a
-- partition at a time. Retention, if wanted, is one statement (not applied by default):
--   ALTER TABLE cdrs MODIFY TTL time_start + INTERVAL 13 MONTH DELETE;
--
-- LowCardinality pays on the strings with a few thousand distinct values per part (routing
-- prefixes, originating IPs): smaller on disk and faster to filter. Prices stay Float64 as the
-- switch writes them.
CREATE TABLE IF NOT EXISTS cdrs
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
ENGINE = MergeTree
PARTITION BY toYYYYMM(time_start)
ORDER BY (vendor_acc_id, time_start)
SETTINGS index_granularity = 8192, deduplicate_merge_projection_mode = 'rebuild';
