-- Rollups: per account × minute integer sums, kept current by materialized views, so an insert
-- into cdrs is visible to the API at once. The gateway answers from the coarsest rollup that
-- holds every column the request filters on, and from raw CDRs otherwise (duration, price,
-- auth-orig-ip and source-prefix filters), see src/stats/plan.rs.
--
-- side: 0 = termination (account = vendor_acc_id, every CDR), 1 = origination (account =
-- customer_acc_id, only is_last_cdr rows). One ARRAY JOIN feeds both sides from one scan.
--
-- Write cost: only two views read the inserted CDR blocks (country, destination prefix);
-- rollup_minute is fed by a view on rollup_minute_country, i.e. it aggregates the already
-- aggregated block, which is several times smaller (ClickHouse runs views of a view's target
-- table on what the first view inserted: docs "Materialized views ... cascading").
--
-- SummingMergeTree: the sums are added up when parts merge; queries always sum() again, so
-- unmerged parts are harmless. Sums are Int64/UInt64 so that later sums (vendor/customer
-- durations, prices as Int64 micro-units or Decimal128(6)) are added as more columns of the
-- same shape, followed by `cdrstats rollups rebuild`.
--
-- Migrations never backfill: `cdrstats migrate` tells a database that already holds CDRs to
-- run `cdrstats rollups rebuild --from ... --to ...` (day by day, atomic per day, resumable).
-- The SELECT of each view is repeated verbatim in src/cli/rollups.rs (a unit test compares them).

CREATE TABLE IF NOT EXISTS rollup_minute_country
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
ENGINE = SummingMergeTree((total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, dst_country_id, src_country_id, minute)
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_country_mv TO rollup_minute_country AS
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       dst_country_id,
       src_country_id,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum
FROM cdrs
ARRAY JOIN [0, 1] AS side
WHERE side = 0 OR is_last_cdr
GROUP BY side, account_id, dst_country_id, src_country_id, minute;

CREATE TABLE IF NOT EXISTS rollup_minute
(
    side         UInt8,
    account_id   UInt32 CODEC(T64, ZSTD(1)),
    minute       DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls  UInt64 CODEC(T64, ZSTD(1)),
    answered     UInt64 CODEC(T64, ZSTD(1)),
    duration_sum Int64 CODEC(T64, ZSTD(1))
)
ENGINE = SummingMergeTree((total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, minute)
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_mv TO rollup_minute AS
SELECT side, account_id, minute,
       sum(total_calls) AS total_calls,
       sum(answered) AS answered,
       sum(duration_sum) AS duration_sum
FROM rollup_minute_country
GROUP BY side, account_id, minute;

CREATE TABLE IF NOT EXISTS rollup_minute_dst_prefix
(
    side               UInt8,
    account_id         UInt32 CODEC(T64, ZSTD(1)),
    dst_prefix_routing LowCardinality(String),
    minute             DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls        UInt64 CODEC(T64, ZSTD(1)),
    answered           UInt64 CODEC(T64, ZSTD(1)),
    duration_sum       Int64 CODEC(T64, ZSTD(1))
)
ENGINE = SummingMergeTree((total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, dst_prefix_routing, minute)
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_dst_prefix_mv TO rollup_minute_dst_prefix AS
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       dst_prefix_routing,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum
FROM cdrs
ARRAY JOIN [0, 1] AS side
WHERE side = 0 OR is_last_cdr
GROUP BY side, account_id, dst_prefix_routing, minute;
