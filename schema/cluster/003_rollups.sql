-- Rollups on a cluster, mirroring schema/004_rollups.sql table for table (same columns, codecs,
-- keys, partitioning, settings and view queries; src/cli/schema_parity.rs compares them): per
-- shard a local ReplicatedSummingMergeTree table (<name>_local), over them a Distributed table
-- with the name the gateway queries, sharded by cityHash64(account_id), so with
-- optimize_skip_unused_shards a one-account query of either side reads one shard.
--
-- How each view reaches the right shard (a materialized view runs on the block inserted into
-- its source table, on the node that receives that insert: docs sql-reference/statements/
-- create/view; fetches by other replicas do not fire it):
-- - rollup_minute_country_mv and rollup_minute_dst_prefix_mv read cdrs_local, the shard of the
--   CDR's vendor account, and write into the Distributed tables, which send each row to the
--   shard of its account_id: termination rows (vendor) stay on that shard, origination rows
--   (customer_acc_id) may go to another. With the pipeline's distributed_foreground_insert = 1
--   (cdrstats_pipeline_profile) this happens inside the insert, so the rollups are current
--   when it returns.
-- - rollup_minute_mv is a view of a view's target, as on a single server, but on the LOCAL
--   tables: rollup_minute_country_local -> rollup_minute_local. Both are sharded by the same
--   key (cityHash64(account_id)), so every row that arrives in a shard's
--   rollup_minute_country_local belongs in that shard's rollup_minute: no second network hop.
--   The Distributed send of rollup_minute_country is an ordinary INSERT into
--   rollup_minute_country_local on the receiving shard, which fires the view there (ClickHouse's
--   test tests/queries/0_stateless/01046_materialized_view_with_join_over_distributed.sql: an
--   insert into a Distributed table fills a view of its local table); a retried
--   send of the same block is deduplicated by the replicated table and, with
--   deduplicate_blocks_in_dependent_materialized_views (pipeline profile), in the view too.
--   A cascaded insert succeeds only when every view in the chain was written (docs knowledge
--   base "Are materialized views inserted synchronously").
-- The gateway sums the rollups again, which is correct across shards and unmerged parts alike.
--
-- Migrations never backfill; `cdrstats rollups rebuild` works on a single server only, see
-- schema/cluster/README.md for rebuilding on a cluster.

CREATE TABLE IF NOT EXISTS rollup_minute_country_local ON CLUSTER '{cluster}'
(
    side           UInt8,
    account_id     UInt32 CODEC(T64, ZSTD(1)),
    dst_country_id UInt32 CODEC(T64, ZSTD(1)),
    src_country_id UInt32 CODEC(T64, ZSTD(1)),
    minute         DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls    UInt64 CODEC(T64, ZSTD(1)),
    answered       UInt64 CODEC(T64, ZSTD(1)),
    duration_sum   Int64 CODEC(T64, ZSTD(1))
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_minute_country_local', '{replica}', (total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, dst_country_id, src_country_id, minute)
SETTINGS ttl_only_drop_parts = 1;

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

CREATE TABLE IF NOT EXISTS rollup_minute_local ON CLUSTER '{cluster}'
(
    side         UInt8,
    account_id   UInt32 CODEC(T64, ZSTD(1)),
    minute       DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls  UInt64 CODEC(T64, ZSTD(1)),
    answered     UInt64 CODEC(T64, ZSTD(1)),
    duration_sum Int64 CODEC(T64, ZSTD(1))
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_minute_local', '{replica}', (total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, minute)
SETTINGS ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS rollup_minute ON CLUSTER '{cluster}' AS rollup_minute_local
ENGINE = Distributed('{cluster}', currentDatabase(), rollup_minute_local, cityHash64(account_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_mv ON CLUSTER '{cluster}' TO rollup_minute_local AS
SELECT side, account_id, minute,
       sum(total_calls) AS total_calls,
       sum(answered) AS answered,
       sum(duration_sum) AS duration_sum
FROM rollup_minute_country_local
GROUP BY side, account_id, minute;

CREATE TABLE IF NOT EXISTS rollup_minute_dst_prefix_local ON CLUSTER '{cluster}'
(
    side               UInt8,
    account_id         UInt32 CODEC(T64, ZSTD(1)),
    dst_prefix_routing LowCardinality(String),
    minute             DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls        UInt64 CODEC(T64, ZSTD(1)),
    answered           UInt64 CODEC(T64, ZSTD(1)),
    duration_sum       Int64 CODEC(T64, ZSTD(1))
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_minute_dst_prefix_local', '{replica}', (total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, dst_prefix_routing, minute)
SETTINGS ttl_only_drop_parts = 1;

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
