-- Raw CDRs of one account for sql/breakdown.sql, over some time ranges. period is the row's
-- window (0, or 1 before the asked window's start when comparing); k1n … k2s are the key
-- expressions of the asked dimensions (a number or a text per dimension, the other one
-- constant) and reason the side's disconnect reason (or ''), all from the gateway's fixed
-- dimension table; every value is a typed server-side parameter.
--
-- Prices: exactly as sql/totals_raw.sql (in millionths by the gateway's one price rule, once
-- per distinct price of a group).
--
-- PDD: each CDR's Float32 value exactly, rounded half away from zero to milliseconds, summed
-- in integer milliseconds. Float32 → Float64 is exact; times 1000 (a 24-bit significand times
-- a 10-bit integer) is exact in Float64's 53 bits, so is + 0.5 for any PDD under 2^40 s, and
-- floor of a positive value is rounding half away from zero. Not toDecimal64(pdd, 9): on the
-- local engine (ClickHouse 26.9) toDecimal64(toFloat32(2.3455), 9) is 2.345499904 while the
-- stored value is 2.34549999237…, so that conversion is not exact.
SELECT period, k1n, k1s, k2n, k2s, reason,
       sum(n) AS c,
       sum(n_s) AS s,
       sum(n_ad) AS ad,
       sum(n_td) AS td,
       sum(%PRICE_MICROS% * toInt64(n)) AS p,
       sum(n_pm) AS pm,
       sum(n_pc) AS pc
FROM
(
    SELECT %PERIOD% AS period,
           %K1N% AS k1n,
           %K1S% AS k1s,
           %K2N% AS k2n,
           %K2S% AS k2s,
           %REASON% AS reason,
           %PRICE_COLUMN% AS price,
           count() AS n,
           countIf(duration > 0) AS n_s,
           sumIf(toInt64(duration), duration > 0) AS n_ad,
           sum(toInt64(%DURATION_COLUMN%)) AS n_td,
           sumIf(toInt64(floor(toFloat64(pdd) * 1000 + 0.5)), pdd > 0) AS n_pm,
           countIf(pdd > 0) AS n_pc
    FROM %RAW_TABLE%
    WHERE %ACCOUNT_COLUMN% = {account:UInt32}
      AND (%RANGES%)
      %CONDITIONS%
    GROUP BY period, k1n, k1s, k2n, k2s, reason, price
)
GROUP BY period, k1n, k1s, k2n, k2s, reason
