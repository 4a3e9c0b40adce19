-- Calls in progress per minute for one account: the matching rows of the latest
-- snapshot taken in each minute of the window. The snapshot list comes from the small
-- active_calls_snapshots table (schema/010_family.sql); GLOBAL IN computes it once on the
-- initiator and ships the set to the shards when active_calls is a Distributed table (a plain IN
-- over two Distributed tables is refused by distributed_product_mode = 'deny',
-- https://clickhouse.com/docs/sql-reference/operators/in#distributed-subqueries).
-- The account column and the filter conditions come from the static filter table, every value is a typed
-- server-side parameter.
SELECT toUInt32(toStartOfMinute(snapshot_timestamp)) AS t,
       count() AS calls
FROM active_calls
WHERE %ACCOUNT_COLUMN% = {account:UInt32}
  AND (%RANGES%)
  AND snapshot_timestamp GLOBAL IN
  (
      SELECT max(snapshot_timestamp)
      FROM active_calls_snapshots
      WHERE (%RANGES%)
      GROUP BY toStartOfMinute(snapshot_timestamp)
  )
  %CONDITIONS%
GROUP BY t
ORDER BY t
