-- Per-bucket sums for termination-statistics / origination-statistics: the parts
-- (sql/totals_raw.sql over raw CDRs, sql/totals_rollup.sql over a rollup, see
-- src/stats/totals.rs) added up per bucket. Prices travel as Int64 millionths: exact.
SELECT t,
       sum(c) AS total_calls,
       sum(s) AS successful_calls,
       sum(ad) AS answered_duration,
       sum(td) AS total_duration,
       sum(p) AS total_price_micros
FROM
(
%PARTS%
)
GROUP BY t
ORDER BY t
