-- Rollups on a cluster: per shard, local ReplicatedSummingMergeTree tables fed by materialized
-- views on cdrs_local (so each shard sums its own CDRs), and Distributed tables under the names
-- the gateway queries. Definitions as in schema/004_rollups.sql; backfill with the INSERT ...
-- SELECT of that file, run against cdrs_local on each shard, if data predates the views.

CREATE TABLE IF NOT EXISTS rollup_minute_local ON CLUSTER '{cluster}'
(
    side         UInt8,
    account_id   UInt32,
    minute       DateTime('UTC'),
    total_calls  UInt64,
    answered     UInt64,
    duration_sum Int64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_minute_local', '{replica}', (total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_mv ON CLUSTER '{cluster}' TO rollup_minute_local AS
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum
FROM cdrs_local
ARRAY JOIN [0, 1] AS side
WHERE side = 0 OR is_last_cdr
GROUP BY side, account_id, minute;

CREATE TABLE IF NOT EXISTS rollup_minute ON CLUSTER '{cluster}' AS rollup_minute_local
ENGINE = Distributed('{cluster}', currentDatabase(), rollup_minute_local);

CREATE TABLE IF NOT EXISTS rollup_minute_country_local ON CLUSTER '{cluster}'
(
    side           UInt8,
    account_id     UInt32,
    dst_country_id UInt32,
    src_country_id UInt32,
    minute         DateTime('UTC'),
    total_calls    UInt64,
    answered       UInt64,
    duration_sum   Int64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_minute_country_local', '{replica}', (total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, dst_country_id, src_country_id, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_country_mv ON CLUSTER '{cluster}' TO rollup_minute_country_local AS
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       dst_country_id,
       src_country_id,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum
FROM cdrs_local
ARRAY JOIN [0, 1] AS side
WHERE side = 0 OR is_last_cdr
GROUP BY side, account_id, dst_country_id, src_country_id, minute;

CREATE TABLE IF NOT EXISTS rollup_minute_country ON CLUSTER '{cluster}' AS rollup_minute_country_local
ENGINE = Distributed('{cluster}', currentDatabase(), rollup_minute_country_local);

CREATE TABLE IF NOT EXISTS rollup_minute_dst_prefix_local ON CLUSTER '{cluster}'
(
    side               UInt8,
    account_id         UInt32,
    dst_prefix_routing LowCardinality(String),
    minute             DateTime('UTC'),
    total_calls        UInt64,
    answered           UInt64,
    duration_sum       Int64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_minute_dst_prefix_local', '{replica}', (total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, dst_prefix_routing, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_dst_prefix_mv ON CLUSTER '{cluster}' TO rollup_minute_dst_prefix_local AS
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       dst_prefix_routing,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum
FROM cdrs_local
ARRAY JOIN [0, 1] AS side
WHERE side = 0 OR is_last_cdr
GROUP BY side, account_id, dst_prefix_routing, minute;

CREATE TABLE IF NOT EXISTS rollup_minute_dst_prefix ON CLUSTER '{cluster}' AS rollup_minute_dst_prefix_local
ENGINE = Distributed('{cluster}', currentDatabase(), rollup_minute_dst_prefix_local);
