-- Per-bucket sums for termination-statistics / origination-statistics: the parts
-- (sql/totals_raw.sql over raw CDRs, sql/totals_rollup.sql over a rollup, see
-- src/stats/totals.rs), one after the other. A bucket that spans the parts' ranges gets a row
-- from each; the gateway adds them up. Prices travel as Int64 millionths: exact.
%PARTS%
