-- Rollups: per account × minute integer sums, kept current by materialized views, so an insert
-- into cdrs is visible to the API at once. The gateway answers from the coarsest rollup that
-- holds every column the request filters on, and from raw cdrs otherwise (duration, price,
-- auth-orig-ip and source-prefix filters), see src/stats/plan.rs.
--
-- side: 0 = termination (account = vendor_acc_id, every CDR), 1 = origination (account =
-- customer_acc_id, only is_last_cdr rows). One ARRAY JOIN feeds both sides from one scan.
--
-- SummingMergeTree: the three sums are added up when parts merge; queries always sum() again,
-- so unmerged parts are harmless. Minutes are the finest sampling; coarser samplings sum
-- minutes (a 31-day window by minute reads at most 44 640 rows per account and dimension
-- value, so an hour level would buy nothing measurable).
--
-- Dimensions were chosen by cardinality: countries (hundreds) pay well; destination prefixes
-- (thousands) still shrink the data several-fold and are in the ordering key so starts-with
-- and eq use the index; the source prefix × destination prefix product does not shrink, so
-- source-prefix filters read raw cdrs.
--
-- Existing rows are backfilled once, right after each view is created (rows inserted between
-- the two statements would be counted twice; run this migration before the pipeline starts).

CREATE TABLE IF NOT EXISTS rollup_minute
(
    side         UInt8,
    account_id   UInt32,
    minute       DateTime('UTC'),
    total_calls  UInt64,
    answered     UInt64,
    duration_sum Int64
)
ENGINE = SummingMergeTree((total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_mv TO rollup_minute AS
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum
FROM cdrs
ARRAY JOIN [0, 1] AS side
WHERE side = 0 OR is_last_cdr
GROUP BY side, account_id, minute;

INSERT INTO rollup_minute
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum
FROM cdrs
ARRAY JOIN [0, 1] AS side
WHERE side = 0 OR is_last_cdr
GROUP BY side, account_id, minute;

CREATE TABLE IF NOT EXISTS rollup_minute_country
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
ENGINE = SummingMergeTree((total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, dst_country_id, src_country_id, minute);

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

INSERT INTO rollup_minute_country
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

CREATE TABLE IF NOT EXISTS rollup_minute_dst_prefix
(
    side               UInt8,
    account_id         UInt32,
    dst_prefix_routing LowCardinality(String),
    minute             DateTime('UTC'),
    total_calls        UInt64,
    answered           UInt64,
    duration_sum       Int64
)
ENGINE = SummingMergeTree((total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, dst_prefix_routing, minute);

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

INSERT INTO rollup_minute_dst_prefix
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
