-- Rollups only for dense accounts. Measured on the realistic profile (bench/storage.sh): a
-- per-minute country or prefix rollup holds about one row per CDR for almost every account (an
-- hourly one too), so rolling up every account made an insert cost 20-25 times the CDRs alone
-- while saving little to read: a small account's raw CDRs are one or two granules of `cdrs` /
-- `cdrs_by_customer`. Busy accounts are the ones a rollup serves, so the views roll up only
-- the account-sides listed here.
--
-- side, account_id: as in the rollups (0 = termination / vendor_acc_id, 1 = origination /
-- customer_acc_id). since: this account-side's rollups are complete from then on (rounded up
-- to a whole minute by the gateway). The gateway reads a rollup only for a listed account-side
-- and only from `since` on, raw CDRs otherwise; it looks the row up inside each query (a scalar
-- subquery, src/stats/plan.rs), so a change applies to the next query on every replica.
--
-- List: `cdrstats rollups dense --min-per-minute N` (since = the next minute: the views fill
-- the rollups from then on); a later `cdrstats rollups rebuild --from D --to D` whose range
-- reaches `since` moves it back to D. Unlist: delete the row (what it left in the rollups is
-- never read again). Changing `since` is a new row: without a version column ReplacingMergeTree
-- keeps "the very last row from the most recent insert" (docs: table-engines/mergetree-family/
-- replacingmergetree), which is what `FINAL` reads here.
CREATE TABLE IF NOT EXISTS rollup_accounts
(
    side       UInt8,
    account_id UInt32,
    since      DateTime('UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (side, account_id);

-- The rollup views again, restricted to the listed account-sides (rollup_minute is fed from
-- rollup_minute_country, so it follows). The list is read once per inserted block. CDRs
-- inserted between a DROP and its CREATE miss the rollups: apply while the pipeline pauses, or
-- `rollups verify` / `rebuild` the day afterwards.
DROP VIEW IF EXISTS rollup_minute_country_mv;

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
WHERE (side = 0 OR is_last_cdr) AND (side, account_id) IN (SELECT side, account_id FROM rollup_accounts)
GROUP BY side, account_id, dst_country_id, src_country_id, minute;

DROP VIEW IF EXISTS rollup_minute_dst_prefix_mv;

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
WHERE (side = 0 OR is_last_cdr) AND (side, account_id) IN (SELECT side, account_id FROM rollup_accounts)
GROUP BY side, account_id, dst_prefix_routing, minute;
