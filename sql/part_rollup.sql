-- A per-minute rollup of one account and side over some whole-minute time ranges.
-- The bucket expression gives each row's bucket start (see plan.rs: toStartOfInterval, or toStartOfHour/Day in a zone).
SELECT toUInt32(%BUCKET%) AS t,
       sum(total_calls) AS c,
       sum(answered) AS a,
       sum(duration_sum) AS d
FROM %ROLLUP%
WHERE side = {side:UInt8}
  AND account_id = {account:UInt32}
  AND (%RANGES%)
  %CONDITIONS%
GROUP BY t
