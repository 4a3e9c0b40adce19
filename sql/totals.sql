-- Per-bucket sums for termination-statistics / origination-statistics (SPEC §6.1) from raw
-- CDRs of one account. %BUCKET% is the bucket start (see src/stats/totals.rs),
-- %DURATION_COLUMN% the configured billed duration, %PRICE_COLUMN% the side's price: both
-- names come from fixed lists, every value is a typed server-side parameter.
-- Prices are Float64: each is read back from its shortest decimal text (what the switch wrote),
-- rounded half away from zero to 6 places as a Decimal and added exactly; the sum travels as
-- text so no float touches it. `round` is banker's rounding on floats but away from zero on
-- Decimals (https://clickhouse.com/docs/reference/functions/regular-functions/rounding-functions);
-- digits past scale 12 are truncated by toDecimal128, which cannot move a 6-place half-way point.
SELECT toUInt32(%BUCKET%) AS t,
       count() AS total_calls,
       countIf(duration > 0) AS successful_calls,
       sumIf(toInt64(duration), duration > 0) AS answered_duration,
       sum(toInt64(%DURATION_COLUMN%)) AS total_duration,
       toString(sum(round(toDecimal128(toString(%PRICE_COLUMN%), 12), 6))) AS total_price
FROM cdrs
WHERE %ACCOUNT_COLUMN% = {account:UInt32}
  AND (%RANGES%)
  %CONDITIONS%
GROUP BY t
ORDER BY t
