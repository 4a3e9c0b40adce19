-- Cluster variant of schema/012_live_rollups.sql (read its comments): inserted_at, the
-- deduplication of retried inserts, the listing's insertion range and the views reading it.
--
-- inserted_at is MATERIALIZED on cdrs_local: each shard's server fills it when the block
-- reaches it, which is when that shard's views run; the Distributed table carries the column
-- for reads only (an INSERT into it cannot set a MATERIALIZED column).
-- ReplicatedMergeTree deduplicates retried inserts by itself (replicated_deduplication_window),
-- so no window is set here; the pipeline's insert_deduplication_token applies as on one server.
-- rollup_accounts is replicated in full on every node: a listing change is made visible to
-- every replica with SYSTEM SYNC REPLICA before it takes effect (src/cli/listing.rs).
ALTER TABLE cdrs_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS inserted_at DateTime('UTC') MATERIALIZED now() CODEC(DoubleDelta, ZSTD(1));

ALTER TABLE cdrs_local ON CLUSTER '{cluster}' MATERIALIZE COLUMN inserted_at SETTINGS mutations_sync = 2;

ALTER TABLE cdrs ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS inserted_at DateTime('UTC') MATERIALIZED now();

ALTER TABLE rollup_accounts ON CLUSTER '{cluster}'
    ADD COLUMN IF NOT EXISTS writes_from DateTime('UTC') DEFAULT toDateTime(0, 'UTC'),
    ADD COLUMN IF NOT EXISTS writes_until DateTime('UTC') DEFAULT toDateTime('2106-01-01 00:00:00', 'UTC'),
    ADD COLUMN IF NOT EXISTS state String DEFAULT 'listed',
    ADD COLUMN IF NOT EXISTS backfill_from DateTime('UTC') DEFAULT since,
    ADD COLUMN IF NOT EXISTS gap_from DateTime('UTC') DEFAULT writes_from,
    ADD COLUMN IF NOT EXISTS resume_since DateTime('UTC') DEFAULT since,
    ADD COLUMN IF NOT EXISTS backfilled_at DateTime('UTC') DEFAULT toDateTime(0, 'UTC'),
    ADD COLUMN IF NOT EXISTS changed_at DateTime('UTC') DEFAULT now();

ALTER TABLE rollup_minute_country_mv ON CLUSTER '{cluster}' MODIFY QUERY
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
INNER JOIN (SELECT side AS listed_side, account_id AS listed_account, writes_from, writes_until FROM rollup_accounts FINAL WHERE writes_from < writes_until) AS l ON l.listed_side = side AND l.listed_account = account_id
WHERE (side = 0 OR is_last_cdr) AND inserted_at >= l.writes_from AND inserted_at < l.writes_until
GROUP BY side, account_id, dst_country_id, src_country_id, minute;

ALTER TABLE rollup_minute_dst_prefix_mv ON CLUSTER '{cluster}' MODIFY QUERY
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
INNER JOIN (SELECT side AS listed_side, account_id AS listed_account, writes_from, writes_until FROM rollup_accounts FINAL WHERE writes_from < writes_until) AS l ON l.listed_side = side AND l.listed_account = account_id
WHERE (side = 0 OR is_last_cdr) AND inserted_at >= l.writes_from AND inserted_at < l.writes_until
GROUP BY side, account_id, dst_prefix_routing, minute;

-- The lease of `cdrstats rollups maintain`, replicated in full on every node like the listing.
CREATE TABLE IF NOT EXISTS rollup_lease ON CLUSTER '{cluster}'
(
    name    String,
    holder  String,
    expires DateTime('UTC'),
    taken   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/rollup_lease', '{replica}', taken)
ORDER BY name;
