-- schema/024_minute_prefix.sql on a cluster (src/cli/schema_parity.rs compares them): a
-- replicated local table behind a Distributed table sharded by account, fed on each shard by a
-- view of rollup_minute_destination_local (same sharding key). The first statement is a plain
-- INSERT (INSERT has no ON CLUSTER): rollup_accounts is replicated in full on every node.
--
-- The series endpoints' destination-prefix filter from rows ordered by prefix first (quality
-- series only: it holds the three sums the quality endpoint reads; the statistics endpoint's
-- prefix filter stays on rollup_minute_destination, which has its durations and prices).
--
-- Why: rollup_minute_destination is ordered by the hour, then the prefix, which keeps a
-- breakdown's partial edge hours cheap, but a prefix filter over a day then reads 24 ranges per
-- part, and each range decompresses whole blocks of every column it reads: at 100M CDRs the
-- hot account's 24 h filtered by one prefix took 33 ms in that table, 7 ms ordered by prefix
-- first (bench/results/layout-2026-12-05-notes.md). This table costs about 1.2 bytes/CDR at 2M
-- CDRs, paid for by 023's codecs.
--
-- Fed by a view on rollup_minute_destination, so a backfill of the destination rollup fills it
-- too. The view copies that table's inserted rows without a GROUP BY: a routing prefix belongs
-- to one country and network, so grouping would rarely merge rows (on the realistic profile,
-- never) and cost the insert about 0.1 s per 2M CDRs; rows of one prefix and minute that do
-- arrive apart are summed by the engine's merges and by every read, which sums anyway. The
-- listed account-sides are moved to raw reads first, as in 021 and 022: the table holds no
-- history until it is rolled up again (schema/cluster/README.md).
INSERT INTO rollup_accounts (side, account_id, since, writes_from, writes_until, state, backfill_from, gap_from, resume_since, backfilled_at, changed_at)
SELECT side, account_id, toDateTime('2106-01-01 00:00:00', 'UTC'), writes_from, writes_until, 'stopping', backfill_from, gap_from, resume_since, backfilled_at, now()
FROM rollup_accounts FINAL
WHERE state IN ('listed', 'backfilling');

CREATE TABLE IF NOT EXISTS rollup_minute_prefix_local ON CLUSTER '{cluster}'
(
    side               UInt8,
    account_id         UInt32 CODEC(T64, ZSTD(1)),
    dst_prefix_routing LowCardinality(String) CODEC(ZSTD(1)),
    minute             DateTime('UTC') CODEC(Delta, ZSTD(1)),
    total_calls        UInt64 CODEC(T64, ZSTD(1)),
    answered           UInt64 CODEC(T64, ZSTD(1)),
    duration_sum       Int64 CODEC(T64, ZSTD(1))
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_minute_prefix_local', '{replica}', (total_calls, answered, duration_sum))
PARTITION BY toYYYYMM(minute)
ORDER BY (side, account_id, dst_prefix_routing, minute)
SETTINGS ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS rollup_minute_prefix ON CLUSTER '{cluster}' AS rollup_minute_prefix_local
ENGINE = Distributed('{cluster}', currentDatabase(), rollup_minute_prefix_local, cityHash64(account_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_minute_prefix_mv ON CLUSTER '{cluster}' TO rollup_minute_prefix_local AS
SELECT side, account_id, dst_prefix_routing, minute, total_calls, answered, duration_sum
FROM rollup_minute_destination_local;
