-- Per-bucket sums for termination-statistics / origination-statistics (SPEC §6.1) from raw
-- CDRs of one account (%RAW_TABLE%: `cdrs`, or `cdrs_by_customer` for origination counted by
-- `duration`). %BUCKET% is the bucket start (see src/stats/totals.rs),
-- %DURATION_COLUMN% the configured billed duration, %PRICE_COLUMN% the side's price: both
-- names come from fixed lists, every value is a typed server-side parameter.
--
-- Prices are Float64: each is read back from its shortest decimal text (what the switch wrote),
-- rounded half away from zero to 6 places as a Decimal and added exactly; the sum travels as
-- text so no float touches it. `round` is banker's rounding on floats but away from zero on
-- Decimals (https://clickhouse.com/docs/reference/functions/regular-functions/rounding-functions);
-- digits past scale 12 are truncated by toDecimal128, which cannot move a 6-place half-way point.
-- The text round trip is costly, so the inner query first counts the CDRs of each distinct
-- price per bucket and the conversion runs once per (bucket, price): exact, and as cheap as
-- the price list is short (rate tables are; one distinct price per CDR costs what per-row would).
SELECT t,
       sum(c) AS total_calls,
       sum(s) AS successful_calls,
       sum(ad) AS answered_duration,
       sum(td) AS total_duration,
       toString(sum(round(toDecimal128(toString(price), 12), 6) * c)) AS total_price
FROM
(
    SELECT toUInt32(%BUCKET%) AS t,
           %PRICE_COLUMN% AS price,
           count() AS c,
           countIf(duration > 0) AS s,
           sumIf(toInt64(duration), duration > 0) AS ad,
           sum(toInt64(%DURATION_COLUMN%)) AS td
    FROM %RAW_TABLE%
    WHERE %ACCOUNT_COLUMN% = {account:UInt32}
      AND (%RANGES%)
      %CONDITIONS%
    GROUP BY t, price
)
GROUP BY t
ORDER BY t
