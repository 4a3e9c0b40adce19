-- The statistics endpoints' sums of one account-side from a per-minute rollup over whole minutes
-- (schema/011_family_rollups.sql). The total duration sums full_duration_sum (`duration`) or
-- billed_duration_sum (the side's billed duration), chosen from a fixed list.
SELECT toUInt32(%BUCKET%) AS t,
       sum(total_calls) AS c,
       sum(answered) AS s,
       sum(duration_sum) AS ad,
       sum(%DURATION_SUM%) AS td,
       sum(price_micros) AS p
FROM %ROLLUP%
WHERE side = {side:UInt8}
  AND account_id = {account:UInt32}
  AND (%RANGES%)
  %CONDITIONS%
GROUP BY t
