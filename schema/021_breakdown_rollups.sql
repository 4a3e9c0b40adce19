-- Rollups for the breakdown endpoints: the statistics sums plus the PDD, per destination (country,
-- network, prefix) and per disconnect code, so the breakdowns read rollup rows of whole minutes
-- (and whole hours) instead of raw CDRs.
--
-- pdd_ms_sum / pdd_count: the sum and number of the CDRs' PDDs with pdd > 0, each Float32 value
-- taken exactly and rounded half away from zero to milliseconds, exactly as sql/breakdown.sql
-- adds them per CDR (its comment says why this rounding is exact).
--
-- Layout: a breakdown reads every key of its window, so these tables are ordered by time
-- before their keys, and a window reads its own rows however long the history is (ordered by
-- key first, the few minutes at a window's edges, or its hours, were spread over every granule
-- of the account's month). The minute destination table, which the series endpoints' prefix
-- filters read too, is ordered by the hour, then the prefix, in granules of 1024 rows, so that a
-- prefix filter still prunes within each hour; the gateway bounds toStartOfHour(minute)
-- explicitly (src/stats/plan.rs says why). Measured at 100M CDRs on the hot account's rows,
-- merged, 24 h window: the edge minutes 163k rows read (26 ms) instead of 5 576k (120 ms), a
-- prefix filter 69k (23 ms) instead of 25k (14 ms) — with one day of history; with a month,
-- key-first would read 30 times as much for the edges and the hours.
--
-- What is not rolled up, measured against the budget (all tables at most the bare raw columns'
-- bytes, inserts at least 20 % of a bare table's rate, bench/results/): a per-minute table by
-- destination country alone cost 1.96 bytes/CDR and took all tables to 1.03x the bare columns;
-- without it a country breakdown reads its edge minutes from the destination table and the
-- series' country filter stays on rollup_minute_country. Source countries and prefixes, and a
-- disconnect code beside a destination, read raw CDRs.
--
-- Tables (every sum listed in SummingMergeTree's columns: a merge sums only those):
-- - rollup_minute_destination: per dst_prefix_routing with its country and network (a prefix
--   belongs to one network of one country, so the two extra key columns add no rows on a
--   switch that routes by prefix). Replaces rollup_minute_dst_prefix (same rows, more sums),
--   which is dropped below.
-- - rollup_hour_destination: rollup_minute_destination by hour, fed the same way. A 24-hour
--   breakdown of a busy account reads 24 rows per prefix instead of 1 440.
-- - rollup_hour_dst_country: per destination country by hour, fed the same way: the whole hours
--   of a country breakdown, 24 rows per country a day (measured at 20M CDRs: a 24-hour country
--   breakdown of the hot account took 39.7 ms from the hourly prefix rows).
-- - rollup_minute_disconnect: per disconnect code and reason the side saw (termination, side 0:
--   leg B, the vendor's answer; origination, side 1: leg A). The ALIAS columns give the filter
--   table's column names (legb_/lega_disconnect_code) the side's value, so the gateway's filter
--   and dimension SQL runs on this table unchanged (every query restricts `side`).
--
-- Safe under a live insert stream: every view below reads the listing like those of
-- 012_live_rollups.sql, and no view that a gateway reads is changed. The new tables hold nothing
-- before this migration, so every listed account-side is first moved to `stopping` with `since` =
-- never: gateways answer it from raw CDRs (exact, slower) until `cdrstats rollups maintain` (or
-- `rollups rebuild`) lists it again and backfills every rollup, the new ones included.
-- rollup_minute_dst_prefix is dropped last: a gateway of an older version reads it for prefix
-- filters, so stop older gateways before this migration (docs/operations.md, "Upgrading").

INSERT INTO rollup_accounts (side, account_id, since, writes_from, writes_until, state, backfill_from, gap_from, resume_since, backfilled_at, changed_at)
SELECT side, account_id, toDateTime('2106-01-01 00:00:00', 'UTC'), writes_from, writes_until, 'stopping', backfill_from, gap_from, resume_since, backfilled_at, now()
FROM rollup_accounts FINAL
WHERE state IN ('listed', 'backfilling');

CREATE TABLE IF NOT EXISTS rollup_minute_destination
(
    side                UInt8,
    account_id          UInt32 CODEC(T64, ZSTD(1)),
    dst_prefix_routing  LowCardinality(String),
    dst_country_id      UInt32 CODEC(T64, ZSTD(1)),
    dst_network_id      UInt32 CODEC(T64, ZSTD(1)),
    minute              DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls         UInt64 CODEC(T64, ZSTD(1)),
    answered            UInt64 CODEC(T64, ZSTD(1)),
    duration_sum        Int64 CODEC(T64, ZSTD(1)),
    full_duration_sum   Int64 CODEC(T64, ZSTD(1)),
    billed_duration_sum Int64 CODEC(T64, ZSTD(1)),
    price_micros        Int64 CODEC(T64, ZSTD(1)),
    pdd_ms_sum          Int64 CODEC(T64, ZSTD(1)),
    pdd_count           UInt64 CODEC(T64, ZSTD(1))
)
ENGINE = SummingMergeTree((total_calls, answered, duration_sum, full_duration_sum, billed_duration_sum, price_micros, pdd_ms_sum, pdd_count))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, toStartOfHour(minute), dst_prefix_routing, dst_country_id, dst_network_id, minute)
SETTINGS ttl_only_drop_parts = 1, index_granularity = 1024;

CREATE TABLE IF NOT EXISTS rollup_hour_destination
(
    side                UInt8,
    account_id          UInt32 CODEC(T64, ZSTD(1)),
    dst_prefix_routing  LowCardinality(String),
    dst_country_id      UInt32 CODEC(T64, ZSTD(1)),
    dst_network_id      UInt32 CODEC(T64, ZSTD(1)),
    hour                DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls         UInt64 CODEC(T64, ZSTD(1)),
    answered            UInt64 CODEC(T64, ZSTD(1)),
    duration_sum        Int64 CODEC(T64, ZSTD(1)),
    full_duration_sum   Int64 CODEC(T64, ZSTD(1)),
    billed_duration_sum Int64 CODEC(T64, ZSTD(1)),
    price_micros        Int64 CODEC(T64, ZSTD(1)),
    pdd_ms_sum          Int64 CODEC(T64, ZSTD(1)),
    pdd_count           UInt64 CODEC(T64, ZSTD(1))
)
ENGINE = SummingMergeTree((total_calls, answered, duration_sum, full_duration_sum, billed_duration_sum, price_micros, pdd_ms_sum, pdd_count))
PARTITION BY toYYYYMM(hour)
ORDER BY (side, account_id, hour, dst_prefix_routing, dst_country_id, dst_network_id)
SETTINGS ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS rollup_hour_dst_country
(
    side                UInt8,
    account_id          UInt32 CODEC(T64, ZSTD(1)),
    dst_country_id      UInt32 CODEC(T64, ZSTD(1)),
    hour                DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls         UInt64 CODEC(T64, ZSTD(1)),
    answered            UInt64 CODEC(T64, ZSTD(1)),
    duration_sum        Int64 CODEC(T64, ZSTD(1)),
    full_duration_sum   Int64 CODEC(T64, ZSTD(1)),
    billed_duration_sum Int64 CODEC(T64, ZSTD(1)),
    price_micros        Int64 CODEC(T64, ZSTD(1)),
    pdd_ms_sum          Int64 CODEC(T64, ZSTD(1)),
    pdd_count           UInt64 CODEC(T64, ZSTD(1))
)
ENGINE = SummingMergeTree((total_calls, answered, duration_sum, full_duration_sum, billed_duration_sum, price_micros, pdd_ms_sum, pdd_count))
PARTITION BY toYYYYMM(hour)
ORDER BY (side, account_id, hour, dst_country_id)
SETTINGS ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS rollup_minute_disconnect
(
    side                   UInt8,
    account_id             UInt32 CODEC(T64, ZSTD(1)),
    disconnect_code        Int32 CODEC(T64, ZSTD(1)),
    disconnect_reason      LowCardinality(String),
    minute                 DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls            UInt64 CODEC(T64, ZSTD(1)),
    answered               UInt64 CODEC(T64, ZSTD(1)),
    duration_sum           Int64 CODEC(T64, ZSTD(1)),
    full_duration_sum      Int64 CODEC(T64, ZSTD(1)),
    billed_duration_sum    Int64 CODEC(T64, ZSTD(1)),
    price_micros           Int64 CODEC(T64, ZSTD(1)),
    pdd_ms_sum             Int64 CODEC(T64, ZSTD(1)),
    pdd_count              UInt64 CODEC(T64, ZSTD(1)),
    legb_disconnect_code   Int32 ALIAS disconnect_code,
    legb_disconnect_reason String ALIAS disconnect_reason,
    lega_disconnect_code   Int32 ALIAS disconnect_code,
    lega_disconnect_reason String ALIAS disconnect_reason
)
ENGINE = SummingMergeTree((total_calls, answered, duration_sum, full_duration_sum, billed_duration_sum, price_micros, pdd_ms_sum, pdd_count))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, minute, disconnect_code, disconnect_reason)
SETTINGS ttl_only_drop_parts = 1;

-- A retried insert counts once in every table a view writes (why each needs its own window:
-- 012_live_rollups.sql).
ALTER TABLE rollup_minute_destination MODIFY SETTING non_replicated_deduplication_window = 1000;

ALTER TABLE rollup_hour_destination MODIFY SETTING non_replicated_deduplication_window = 1000;

ALTER TABLE rollup_hour_dst_country MODIFY SETTING non_replicated_deduplication_window = 1000;

ALTER TABLE rollup_minute_disconnect MODIFY SETTING non_replicated_deduplication_window = 1000;

-- The cascaded views first, so the destination view's first block reaches them too.;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_hour_destination_mv TO rollup_hour_destination AS
SELECT side, account_id, dst_prefix_routing, dst_country_id, dst_network_id,
       toStartOfHour(minute) AS hour,
       sum(total_calls) AS total_calls,
       sum(answered) AS answered,
       sum(duration_sum) AS duration_sum,
       sum(full_duration_sum) AS full_duration_sum,
       sum(billed_duration_sum) AS billed_duration_sum,
       sum(price_micros) AS price_micros,
       sum(pdd_ms_sum) AS pdd_ms_sum,
       sum(pdd_count) AS pdd_count
FROM rollup_minute_destination
GROUP BY side, account_id, dst_prefix_routing, dst_country_id, dst_network_id, hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_hour_dst_country_mv TO rollup_hour_dst_country AS
SELECT side, account_id, dst_country_id,
       toStartOfHour(minute) AS hour,
       sum(total_calls) AS total_calls,
       sum(answered) AS answered,
       sum(duration_sum) AS duration_sum,
       sum(full_duration_sum) AS full_duration_sum,
       sum(billed_duration_sum) AS billed_duration_sum,
       sum(price_micros) AS price_micros,
       sum(pdd_ms_sum) AS pdd_ms_sum,
       sum(pdd_count) AS pdd_count
FROM rollup_minute_destination
GROUP BY side, account_id, dst_country_id, hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_destination_mv TO rollup_minute_destination AS
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       dst_prefix_routing,
       dst_country_id,
       dst_network_id,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum,
       sum(toInt64(duration)) AS full_duration_sum,
       sum(toInt64(if(side = 0, vendor_duration, customer_duration))) AS billed_duration_sum,
       sum(toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000)) AS price_micros,
       sumIf(toInt64(floor(toFloat64(pdd) * 1000 + 0.5)), pdd > 0) AS pdd_ms_sum,
       countIf(pdd > 0) AS pdd_count
FROM cdrs
ARRAY JOIN [0, 1] AS side
INNER JOIN (SELECT side AS listed_side, account_id AS listed_account, writes_from, writes_until FROM rollup_accounts FINAL WHERE writes_from < writes_until) AS l ON l.listed_side = side AND l.listed_account = account_id
WHERE (side = 0 OR is_last_cdr) AND inserted_at >= l.writes_from AND inserted_at < l.writes_until
GROUP BY side, account_id, dst_prefix_routing, dst_country_id, dst_network_id, minute;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_disconnect_mv TO rollup_minute_disconnect AS
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       if(side = 0, legb_disconnect_code, lega_disconnect_code) AS disconnect_code,
       CAST(if(side = 0, legb_disconnect_reason, lega_disconnect_reason) AS String) AS disconnect_reason,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum,
       sum(toInt64(duration)) AS full_duration_sum,
       sum(toInt64(if(side = 0, vendor_duration, customer_duration))) AS billed_duration_sum,
       sum(toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000)) AS price_micros,
       sumIf(toInt64(floor(toFloat64(pdd) * 1000 + 0.5)), pdd > 0) AS pdd_ms_sum,
       countIf(pdd > 0) AS pdd_count
FROM cdrs
ARRAY JOIN [0, 1] AS side
INNER JOIN (SELECT side AS listed_side, account_id AS listed_account, writes_from, writes_until FROM rollup_accounts FINAL WHERE writes_from < writes_until) AS l ON l.listed_side = side AND l.listed_account = account_id
WHERE (side = 0 OR is_last_cdr) AND inserted_at >= l.writes_from AND inserted_at < l.writes_until
GROUP BY side, account_id, disconnect_code, disconnect_reason, minute;

DROP VIEW IF EXISTS rollup_minute_dst_prefix_mv;

DROP TABLE IF EXISTS rollup_minute_dst_prefix;
