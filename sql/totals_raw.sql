-- The statistics endpoints' sums of raw CDRs of one account (from `cdrs`, or `cdrs_by_customer` for
-- origination counted by `duration`), per bucket (its start expression: src/stats/totals.rs),
-- with the configured billed duration and the side's price: both names come from fixed lists, every value is a typed server-side parameter.
--
-- Prices are Float64, summed in exact millionths by the gateway's one price rule (the decimal the
-- switch wrote, rounded half away from zero to 6 places; 0 for a price that is not a finite
-- number below 10^9 in magnitude: src/stats/price_sql.rs), as the rollups add them per CDR. The
-- rule may read a price back from its decimal text, which is costly, so the inner query first
-- counts the CDRs of each distinct price per bucket and the rule runs once per (bucket, price):
-- exact, and as cheap as the price list is short (rate tables are).
SELECT t,
       sum(n) AS c,
       sum(n_answered) AS s,
       sum(n_ad) AS ad,
       sum(n_td) AS td,
       sum(%PRICE_MICROS% * toInt64(n)) AS p
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
