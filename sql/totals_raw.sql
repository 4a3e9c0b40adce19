-- The statistics endpoints' sums of raw CDRs of one account (from `cdrs`, or `cdrs_by_customer` for
-- origination counted by `duration`), per bucket (its start expression: src/stats/totals.rs),
-- with the configured billed duration and the side's price: both names come from fixed lists, every value is a typed server-side parameter.
--
-- Prices are Float64: each is read back from its shortest decimal text (what the switch wrote),
-- rounded half away from zero to 6 places as a Decimal and counted in millionths; the rollups
-- add the same per CDR (schema/011_family_rollups.sql). `round` is banker's rounding on floats
-- but away from zero on Decimals
-- (https://clickhouse.com/docs/reference/functions/regular-functions/rounding-functions; on the
-- local engine round(toDecimal128('1.0000025', 12), 6) is 1.000003, round(1.0000025, 6)
-- 1.000002); digits past scale 12 are truncated by toDecimal128, which cannot move a 6-place
-- half-way point. The text round trip is costly, so the inner query first counts the CDRs of
-- each distinct price per bucket and the conversion runs once per (bucket, price): exact, and
-- as cheap as the price list is short (rate tables are). A price that is not a finite number
-- below 10^9 in magnitude (NaN, infinities) counts 0, as in the rollups: its text form is not a
-- Decimal, and the query would fail.
SELECT t,
       sum(n) AS c,
       sum(n_answered) AS s,
       sum(n_ad) AS ad,
       sum(n_td) AS td,
       sum(if(abs(price) < 1000000000, toInt64(round(toDecimal128(toString(price), 12), 6) * 1000000), 0) * toInt64(n)) AS p
FROM
(
    SELECT toUInt32(%BUCKET%) AS t,
           %PRICE_COLUMN% AS price,
           count() AS n,
           countIf(duration > 0) AS n_answered,
           sumIf(toInt64(duration), duration > 0) AS n_ad,
           sum(toInt64(%DURATION_COLUMN%)) AS n_td
    FROM %RAW_TABLE%
    WHERE %ACCOUNT_COLUMN% = {account:UInt32}
      AND (%RANGES%)
      %CONDITIONS%
    GROUP BY t, price
)
GROUP BY t
