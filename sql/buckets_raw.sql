-- Per-bucket integer sums for one account and time window, read from raw CDRs.
-- The gateway derives acd/asr/cps from these sums exactly (rust_decimal), so no float
-- arithmetic happens here. The two percent-delimited markers are replaced by fragments of the
-- gateway's static filter table; every value arrives as a typed server-side parameter.
SELECT
    toUInt32(toStartOfInterval(time_start, toIntervalSecond({step:UInt32}))) AS t,
    count() AS total_calls,
    countIf(duration > 0) AS answered,
    sumIf(toInt64(duration), duration > 0) AS duration_sum
FROM cdrs
WHERE %ACCOUNT_COLUMN% = {account:UInt32}
  AND time_start >= {from:DateTime('UTC')}
  AND time_start <= {to:DateTime('UTC')}
  %CONDITIONS%
GROUP BY t
ORDER BY t
