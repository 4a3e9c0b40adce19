-- One rollup of one account-side for sql/breakdown.sql, over whole minutes (or hours) from the
-- account-side's `since` on (schema/021_breakdown_rollups.sql). The rows hold the sums
-- sql/breakdown_raw.sql computes per CDR (prices in millionths, PDDs in milliseconds, rounded
-- the same way), so the two parts add up exactly. The total duration is the sum of
-- full_duration_sum (`duration`) or billed_duration_sum (the side's billed duration), chosen
-- from a fixed list; the period, key and reason expressions are those of the raw part, the
-- period told by the row's minute or hour. (No template marker is named in these comments: the
-- gateway replaces markers wherever they appear.)
SELECT %PERIOD% AS period,
       %K1N% AS k1n,
       %K1S% AS k1s,
       %K2N% AS k2n,
       %K2S% AS k2s,
       %REASON% AS reason,
       sum(total_calls) AS c,
       sum(answered) AS s,
       sum(duration_sum) AS ad,
       sum(%DURATION_SUM%) AS td,
       sum(price_micros) AS p,
       sum(pdd_ms_sum) AS pm,
       sum(pdd_count) AS pc
FROM %ROLLUP%
WHERE side = {side:UInt8}
  AND account_id = {account:UInt32}
  AND (%RANGES%)
  %CONDITIONS%
GROUP BY period, k1n, k1s, k2n, k2s, reason
