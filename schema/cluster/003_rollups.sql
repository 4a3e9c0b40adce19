-- Rollups on a cluster, mirroring schema/004_rollups.sql table for table (rollup_minute,
-- rollup_minute_country, rollup_minute_dst_prefix; same columns, keys and view queries):
-- per shard a local ReplicatedSummingMergeTree table (<name>_local), over them a Distributed
-- table with the name the gateway queries, sharded by account_id like cdrs
-- (cityHash64 of the account), so with optimize_skip_unused_shards a one-account query reads
-- one shard.
--
-- The materialized views run on the node that receives an insert into cdrs_local (fetches by
-- other replicas do not fire them) and write into the Distributed rollups, which send each
-- row to the shard of its account: termination rows stay on the CDR's shard, origination rows
-- (customer_acc_id) may go to another. With the pipeline's distributed_foreground_insert = 1
-- (cdrstats_pipeline_profile) that happens inside the insert, so the rollups are current when it
-- returns. The gateway sums the rollups again, which is correct across shards and unmerged
-- parts alike.
--
-- Backfill (data older than the views): run the INSERT ... SELECT of schema/004_rollups.sql
-- once per shard against cdrs_local, inserting into the Distributed rollup tables.

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

CREATE TABLE IF NOT EXISTS rollup_minute ON CLUSTER '{cluster}' AS rollup_minute_local
ENGINE = Distributed('{cluster}', currentDatabase(), rollup_minute_local, cityHash64(account_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_mv ON CLUSTER '{cluster}' TO rollup_minute AS
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

CREATE TABLE IF NOT EXISTS rollup_minute_country ON CLUSTER '{cluster}' AS rollup_minute_country_local
ENGINE = Distributed('{cluster}', currentDatabase(), rollup_minute_country_local, cityHash64(account_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_country_mv ON CLUSTER '{cluster}' TO rollup_minute_country AS
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

CREATE TABLE IF NOT EXISTS rollup_minute_dst_prefix ON CLUSTER '{cluster}' AS rollup_minute_dst_prefix_local
ENGINE = Distributed('{cluster}', currentDatabase(), rollup_minute_dst_prefix_local, cityHash64(account_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_dst_prefix_mv ON CLUSTER '{cluster}' TO rollup_minute_dst_prefix AS
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
