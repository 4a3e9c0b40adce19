-- A per-minute rollup of one account and side over some whole-minute time ranges.
SELECT toUInt32(toStartOfInterval(minute, toIntervalSecond({step:UInt32}))) AS t,
       sum(total_calls) AS c,
       sum(answered) AS a,
       sum(duration_sum) AS d
FROM %ROLLUP%
WHERE side = {side:UInt8}
  AND account_id = {account:UInt32}
  AND (%RANGES%)
  %CONDITIONS%
GROUP BY t
