-- The origination copy keeps each CDR's inserted_at (the server's clock when its INSERT ran, as
-- in cdrs), so `cdrstats rollups rebuild` compares the copy with raw CDRs over exactly the same
-- CDRs: those inserted more than ROLLUP_INSERT_SETTLE_SECS ago, committed in both tables. Bounded
-- by time_start instead, every late CDR (a call of yesterday reported now) inserted while the
-- two sums were read made a healthy month look different, and the rebuild refused it.
--
-- Rows copied before this migration read 0 (1970): older than any bound, as their CDRs are.
-- A rebuilt month gets the value from cdrs. The column is nearly free: one value per insert,
-- which the default codec (LZ4) packs to about 0.01 bytes/CDR. DoubleDelta, as on cdrs, packed it
-- no smaller and made inserts through the views about 10 % slower (`make bench-storage`).
--
-- Live-safe: the column is added first (metadata only), then the view's SELECT is changed in
-- place by ALTER TABLE ... MODIFY QUERY, which does not interrupt the inserts
-- (https://clickhouse.com/docs/sql-reference/statements/alter/view); an insert between the two
-- statements copies 0, which only makes its CDRs count as old (they are compared once settled
-- either way).
ALTER TABLE cdrs_by_customer ADD COLUMN IF NOT EXISTS inserted_at DateTime('UTC') DEFAULT 0;

ALTER TABLE cdrs_by_customer_mv MODIFY QUERY
SELECT time_start, customer_acc_id, duration, src_country_id, dst_country_id,
       src_prefix_routing, dst_prefix_routing, auth_orig_ip, customer_price,
       dst_network_id, lega_disconnect_code, lega_disconnect_reason, pdd, inserted_at
FROM cdrs
WHERE is_last_cdr;
