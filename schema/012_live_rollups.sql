-- Rollups that stay exact while the pipeline inserts: the views and the backfill of a listed
-- account-side count disjoint sets of CDRs, split by when each CDR was inserted.
--
-- inserted_at: the server's clock when the CDR's INSERT ran (MATERIALIZED: the server fills it,
-- a client cannot). The rollup views roll a CDR up only when its inserted_at lies in its
-- account-side's [writes_from, writes_until); `cdrstats rollups` backfills exactly the listed
-- account-sides' CDRs outside it, so "written by a view" and "read by the backfill" are
-- complementary predicates on one column, whatever the CDR's time_start (late CDRs included).
-- Within one insert the value is constant, so Delta + ZSTD keep it to a fraction of a byte
-- per row (measured in docs/rollups.md).
-- A column added by ALTER is computed on read for the parts written before it (docs:
-- sql-reference/statements/alter/column, "MATERIALIZE COLUMN"), which for now() would be the
-- time of the read: MATERIALIZE COLUMN writes the migration's time into them, once (checked on
-- the local engine by live_pipeline::upgrading_a_live_database_to_insertion_ranges_loses_no_cdr).
ALTER TABLE cdrs ADD COLUMN IF NOT EXISTS inserted_at DateTime('UTC') MATERIALIZED now() CODEC(DoubleDelta, ZSTD(1));

ALTER TABLE cdrs MATERIALIZE COLUMN inserted_at SETTINGS mutations_sync = 2;

-- A retried insert counts once. A single-server MergeTree deduplicates inserted blocks only
-- with non_replicated_deduplication_window > 0 (docs: guides/developer/
-- deduplicating-inserts-on-retries; ReplicatedMergeTree does by default). Every table the views
-- write needs its own window: the views' blocks of a retried insert are recognised by a token
-- derived from the source block's, but only by a table that keeps a deduplication log (seen on
-- the local engine, 26.9: with the window on cdrs only, a retried insert counted once in cdrs
-- and twice in the rollups). The pipeline sends insert_deduplication_token per batch (the
-- same token on every retry of a batch): without one the block is hashed, and two batches with
-- identical rows would count once. Backfills insert with insert_deduplicate = 0.
ALTER TABLE cdrs MODIFY SETTING non_replicated_deduplication_window = 1000;

ALTER TABLE cdrs_by_customer MODIFY SETTING non_replicated_deduplication_window = 1000;

ALTER TABLE rollup_minute_country MODIFY SETTING non_replicated_deduplication_window = 1000;

ALTER TABLE rollup_minute MODIFY SETTING non_replicated_deduplication_window = 1000;

ALTER TABLE rollup_minute_dst_prefix MODIFY SETTING non_replicated_deduplication_window = 1000;

-- The listing's life cycle (src/cli/listing.rs, docs/rollups.md). since: what the gateway reads (unchanged
-- meaning; 2106-01-01 = not read). writes_from / writes_until: the inserted_at range the views
-- roll up (writes_from = 2106-01-01: nothing). state: listed | stopping | backfilling |
-- unlisting | unlisted. backfill_from: the first minute the last backfill covered; gap_from:
-- where the views stopped before a re-listing (the backfill covers [gap_from, writes_from) for
-- the minutes kept); resume_since: the `since` a running backfill sets when it ends. A row listed before this migration keeps its meaning: writes_from 1970
-- (the views wrote every CDR while it was listed), state listed.
ALTER TABLE rollup_accounts
    ADD COLUMN IF NOT EXISTS writes_from DateTime('UTC') DEFAULT toDateTime(0, 'UTC'),
    ADD COLUMN IF NOT EXISTS writes_until DateTime('UTC') DEFAULT toDateTime('2106-01-01 00:00:00', 'UTC'),
    ADD COLUMN IF NOT EXISTS state String DEFAULT 'listed',
    ADD COLUMN IF NOT EXISTS backfill_from DateTime('UTC') DEFAULT since,
    ADD COLUMN IF NOT EXISTS gap_from DateTime('UTC') DEFAULT writes_from,
    ADD COLUMN IF NOT EXISTS resume_since DateTime('UTC') DEFAULT since,
    ADD COLUMN IF NOT EXISTS backfilled_at DateTime('UTC') DEFAULT toDateTime(0, 'UTC'),
    ADD COLUMN IF NOT EXISTS changed_at DateTime('UTC') DEFAULT now();

-- The views read the listing's insertion range. MODIFY QUERY changes the SELECT of a view
-- created with TO "without interrupting ingestion process" (docs: sql-reference/statements/
-- alter/view.md), so no insert falls between a DROP and a CREATE (tested under a stream of
-- inserts: live_pipeline::a_migration_that_changes_the_views_loses_no_cdr_of_the_live_stream). The listing is read with FINAL (its latest row per
-- account-side) once per inserted block; the JOIN is a hash join on the small listing.
ALTER TABLE rollup_minute_country_mv MODIFY QUERY
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
FROM cdrs
ARRAY JOIN [0, 1] AS side
INNER JOIN (SELECT side AS listed_side, account_id AS listed_account, writes_from, writes_until FROM rollup_accounts FINAL WHERE writes_from < writes_until) AS l ON l.listed_side = side AND l.listed_account = account_id
WHERE (side = 0 OR is_last_cdr) AND inserted_at >= l.writes_from AND inserted_at < l.writes_until
GROUP BY side, account_id, dst_country_id, src_country_id, minute;

ALTER TABLE rollup_minute_dst_prefix_mv MODIFY QUERY
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
FROM cdrs
ARRAY JOIN [0, 1] AS side
INNER JOIN (SELECT side AS listed_side, account_id AS listed_account, writes_from, writes_until FROM rollup_accounts FINAL WHERE writes_from < writes_until) AS l ON l.listed_side = side AND l.listed_account = account_id
WHERE (side = 0 OR is_last_cdr) AND inserted_at >= l.writes_from AND inserted_at < l.writes_until
GROUP BY side, account_id, dst_prefix_routing, minute;

-- The lease of `cdrstats rollups maintain` (src/cli/maintain.rs): one row, the newest `taken`
-- wins, so of two processes only one lists and unlists at a time.
CREATE TABLE IF NOT EXISTS rollup_lease
(
    name    String,
    holder  String,
    expires DateTime('UTC'),
    taken   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(taken)
ORDER BY name;
