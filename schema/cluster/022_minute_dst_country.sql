-- schema/022_minute_dst_country.sql on a cluster (src/cli/schema_parity.rs compares them): a
-- replicated local table behind a Distributed table sharded by account, fed on each shard by a
-- view of rollup_minute_destination_local (same sharding key). The first statement is a plain
-- INSERT (INSERT has no ON CLUSTER): rollup_accounts is replicated in full on every node.
--
-- The series endpoints' destination-country filter from one row per minute and country
-- (quality series only: it holds the three sums the quality endpoint reads, not the statistics
-- endpoint's durations and prices, which stay on rollup_minute_country).
--
-- Why: rollup_minute_country keeps a row per minute, destination and source country, so a
-- country filter read every source country's row of every minute (at 100M CDRs, the hot
-- account's busiest country: 200 source countries, 245k rows for a day, 15 ms). This table holds
-- one row per minute and destination country (1 440 for that day, 10.6 ms for the whole query)
-- and costs 0.53 bytes/CDR at 2M CDRs (all tables 0.99x the bare raw columns), measured on
-- the storage benchmark's data (bench/results/layout-2026-12-05-notes.md).
--
-- Fed by a view on rollup_minute_destination (it aggregates that table's inserted block, which
-- already holds the country), so a backfill of the destination rollup fills it too. The
-- listed account-sides are moved to raw reads first, as in 021: the table holds no history
-- until it is rolled up again (schema/cluster/README.md).
INSERT INTO rollup_accounts (side, account_id, since, writes_from, writes_until, state, backfill_from, gap_from, resume_since, backfilled_at, changed_at)
SELECT side, account_id, toDateTime('2106-01-01 00:00:00', 'UTC'), writes_from, writes_until, 'stopping', backfill_from, gap_from, resume_since, backfilled_at, now()
FROM rollup_accounts FINAL
WHERE state IN ('listed', 'backfilling');

CREATE TABLE IF NOT EXISTS rollup_minute_dst_country_local ON CLUSTER '{cluster}'
(
    side           UInt8,
    account_id     UInt32 CODEC(T64, ZSTD(1)),
    dst_country_id UInt32 CODEC(T64, ZSTD(1)),
    minute         DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls    UInt64 CODEC(T64, ZSTD(1)),
    answered       UInt64 CODEC(T64, ZSTD(1)),
    duration_sum   Int64 CODEC(T64, ZSTD(1))
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_minute_dst_country_local', '{replica}', (total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, dst_country_id, minute)
SETTINGS ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS rollup_minute_dst_country ON CLUSTER '{cluster}' AS rollup_minute_dst_country_local
ENGINE = Distributed('{cluster}', currentDatabase(), rollup_minute_dst_country_local, cityHash64(account_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_dst_country_mv ON CLUSTER '{cluster}' TO rollup_minute_dst_country_local AS
SELECT side, account_id, dst_country_id, minute,
       sum(total_calls) AS total_calls,
       sum(answered) AS answered,
       sum(duration_sum) AS duration_sum
FROM rollup_minute_destination_local
GROUP BY side, account_id, dst_country_id, minute;
