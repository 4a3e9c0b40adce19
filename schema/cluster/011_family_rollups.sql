-- schema/011_family_rollups.sql on a cluster (src/cli/schema_parity.rs compares them): the
-- rollups created again with three more sums, as there; layout and views as in
-- schema/cluster/003_rollups.sql and 005_rollup_accounts.sql (read their comments). Local tables
-- are dropped with SYNC so the replicated tables created again can take the same Keeper paths.
-- The last statement is a plain INSERT (INSERT has no ON CLUSTER): rollup_accounts is replicated
-- in full on every node, so one node's insert reaches all. History is rolled up again as
-- schema/cluster/README.md describes (`rollups rebuild` is single-server only).
--
-- The statistics endpoints (SPEC §6.1) answered from the rollups: three more integer sums per
-- row, so the rollups hold everything termination-/origination-statistics add up.
--
-- full_duration_sum:   sum of `duration` over every CDR (not only answered ones), the
--                      `total_duration` of TERMINATION/ORIGINATION_DURATION_COLUMN = duration.
-- billed_duration_sum: sum of the side's billed duration (vendor_duration for side 0,
--                      customer_duration for side 1), for the billed-column setting.
-- price_micros:        sum of the side's price (vendor_price / customer_price) rounded half away
--                      from zero to 6 decimals, in millionths: exactly what sql/totals_raw.sql adds
--                      per CDR (its comment cites the rounding docs), so §6.1 prices stay exact.
--
-- Why new tables and not ALTER TABLE ... ADD COLUMN: the rollups are
-- SummingMergeTree((total_calls, answered, duration_sum)), and a merge sums only the listed
-- columns; any other column keeps the value of one of the merged rows (docs: SummingMergeTree,
-- "columns"). Seen on the local engine (26.9): a column added by ALTER to such a table kept 10
-- of rows 10 and 20 after OPTIMIZE FINAL; an AggregateFunction(sum) column did too. The engine's
-- arguments cannot be altered, so the tables are created again with all six sums listed.
--
-- What the old rollups held is dropped: it lacked the new sums. Every listed account-side is
-- moved to `since` = the minute after this migration (the last statement, after the views
-- exist), so the gateway answers from raw CDRs before it and every endpoint stays exact; run
-- `cdrstats rollups rebuild --from D --to D` to roll history up again (it moves `since` back).
-- CDRs inserted while this file runs miss the rollups before `since` only, never after it.
-- Re-running the file gives the same result (empty tables, `since` moved again).

DROP VIEW IF EXISTS rollup_minute_mv ON CLUSTER '{cluster}';

DROP VIEW IF EXISTS rollup_minute_country_mv ON CLUSTER '{cluster}';

DROP VIEW IF EXISTS rollup_minute_dst_prefix_mv ON CLUSTER '{cluster}';

DROP TABLE IF EXISTS rollup_minute ON CLUSTER '{cluster}' SYNC;

DROP TABLE IF EXISTS rollup_minute_local ON CLUSTER '{cluster}' SYNC;

DROP TABLE IF EXISTS rollup_minute_country ON CLUSTER '{cluster}' SYNC;

DROP TABLE IF EXISTS rollup_minute_country_local ON CLUSTER '{cluster}' SYNC;

DROP TABLE IF EXISTS rollup_minute_dst_prefix ON CLUSTER '{cluster}' SYNC;

DROP TABLE IF EXISTS rollup_minute_dst_prefix_local ON CLUSTER '{cluster}' SYNC;

CREATE TABLE IF NOT EXISTS rollup_minute_country_local ON CLUSTER '{cluster}'
(
    side                UInt8,
    account_id          UInt32 CODEC(T64, ZSTD(1)),
    dst_country_id      UInt32 CODEC(T64, ZSTD(1)),
    src_country_id      UInt32 CODEC(T64, ZSTD(1)),
    minute              DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls         UInt64 CODEC(T64, ZSTD(1)),
    answered            UInt64 CODEC(T64, ZSTD(1)),
    duration_sum        Int64 CODEC(T64, ZSTD(1)),
    full_duration_sum   Int64 CODEC(T64, ZSTD(1)),
    billed_duration_sum Int64 CODEC(T64, ZSTD(1)),
    price_micros        Int64 CODEC(T64, ZSTD(1))
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_minute_country_local', '{replica}', (total_calls, answered, duration_sum, full_duration_sum, billed_duration_sum, price_micros))
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
       sumIf(toInt64(duration), duration > 0) AS duration_sum,
       sum(toInt64(duration)) AS full_duration_sum,
       sum(toInt64(if(side = 0, vendor_duration, customer_duration))) AS billed_duration_sum,
       sum(toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000)) AS price_micros
FROM cdrs_local
ARRAY JOIN [0, 1] AS side
WHERE (side = 0 OR is_last_cdr) AND (side, account_id) IN (SELECT side, account_id FROM rollup_accounts)
GROUP BY side, account_id, dst_country_id, src_country_id, minute;

CREATE TABLE IF NOT EXISTS rollup_minute_local ON CLUSTER '{cluster}'
(
    side                UInt8,
    account_id          UInt32 CODEC(T64, ZSTD(1)),
    minute              DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls         UInt64 CODEC(T64, ZSTD(1)),
    answered            UInt64 CODEC(T64, ZSTD(1)),
    duration_sum        Int64 CODEC(T64, ZSTD(1)),
    full_duration_sum   Int64 CODEC(T64, ZSTD(1)),
    billed_duration_sum Int64 CODEC(T64, ZSTD(1)),
    price_micros        Int64 CODEC(T64, ZSTD(1))
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_minute_local', '{replica}', (total_calls, answered, duration_sum, full_duration_sum, billed_duration_sum, price_micros))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, minute)
SETTINGS ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS rollup_minute ON CLUSTER '{cluster}' AS rollup_minute_local
ENGINE = Distributed('{cluster}', currentDatabase(), rollup_minute_local, cityHash64(account_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_mv ON CLUSTER '{cluster}' TO rollup_minute_local AS
SELECT side, account_id, minute,
       sum(total_calls) AS total_calls,
       sum(answered) AS answered,
       sum(duration_sum) AS duration_sum,
       sum(full_duration_sum) AS full_duration_sum,
       sum(billed_duration_sum) AS billed_duration_sum,
       sum(price_micros) AS price_micros
FROM rollup_minute_country_local
GROUP BY side, account_id, minute;

CREATE TABLE IF NOT EXISTS rollup_minute_dst_prefix_local ON CLUSTER '{cluster}'
(
    side                UInt8,
    account_id          UInt32 CODEC(T64, ZSTD(1)),
    dst_prefix_routing  LowCardinality(String),
    minute              DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls         UInt64 CODEC(T64, ZSTD(1)),
    answered            UInt64 CODEC(T64, ZSTD(1)),
    duration_sum        Int64 CODEC(T64, ZSTD(1)),
    full_duration_sum   Int64 CODEC(T64, ZSTD(1)),
    billed_duration_sum Int64 CODEC(T64, ZSTD(1)),
    price_micros        Int64 CODEC(T64, ZSTD(1))
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_minute_dst_prefix_local', '{replica}', (total_calls, answered, duration_sum, full_duration_sum, billed_duration_sum, price_micros))
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
       sumIf(toInt64(duration), duration > 0) AS duration_sum,
       sum(toInt64(duration)) AS full_duration_sum,
       sum(toInt64(if(side = 0, vendor_duration, customer_duration))) AS billed_duration_sum,
       sum(toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000)) AS price_micros
FROM cdrs_local
ARRAY JOIN [0, 1] AS side
WHERE (side = 0 OR is_last_cdr) AND (side, account_id) IN (SELECT side, account_id FROM rollup_accounts)
GROUP BY side, account_id, dst_prefix_routing, minute;

INSERT INTO rollup_accounts (side, account_id, since)
SELECT side, account_id, toStartOfMinute(now()) + 60 FROM rollup_accounts FINAL;
