-- Cluster variant of schema/005_rollup_accounts.sql: rollups only for the dense account-sides
-- listed in rollup_accounts (why, and how the list is kept: see that file).
--
-- rollup_accounts is tiny and read by every shard's views (the IN below, once per inserted
-- block) and by the gateway's scalar subquery in every rollup query, so, like accounts and
-- api_access (002_directory.sql), every node keeps a full replicated copy under one Keeper path
-- and reads it locally: no Distributed table, no cross-shard read inside an insert.
CREATE TABLE IF NOT EXISTS rollup_accounts ON CLUSTER '{cluster}'
(
    side       UInt8,
    account_id UInt32,
    since      DateTime('UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/rollup_accounts', '{replica}')
ORDER BY (side, account_id);

-- The two views on cdrs_local again, restricted to the listed account-sides (rollup_minute_mv
-- reads rollup_minute_country_local, so it follows). CDRs inserted between a DROP and its
-- CREATE miss the rollups: apply while the pipeline pauses, or verify / rebuild afterwards.
DROP VIEW IF EXISTS rollup_minute_country_mv ON CLUSTER '{cluster}';

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
WHERE (side = 0 OR is_last_cdr) AND (side, account_id) IN (SELECT side, account_id FROM rollup_accounts)
GROUP BY side, account_id, dst_country_id, src_country_id, minute;

DROP VIEW IF EXISTS rollup_minute_dst_prefix_mv ON CLUSTER '{cluster}';

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
WHERE (side = 0 OR is_last_cdr) AND (side, account_id) IN (SELECT side, account_id FROM rollup_accounts)
GROUP BY side, account_id, dst_prefix_routing, minute;
