-- The breakdown endpoints' sums per period and key of one account-side: `period` 0 for the asked
-- window, 1 for the previous one when comparing. One query reads both windows: every part reads
-- both windows' time ranges and tells a row's period by its time (the windows are adjacent and
-- split apart, so no row spans both), and the plan is made once. Its parts are a UNION ALL of
-- sql/breakdown_raw.sql (raw CDRs) and sql/breakdown_rollup.sql (whole minutes and hours of the
-- rollups), each giving per key and reason: c calls, s answered, ad answered duration, td total
-- duration, p price in millionths, pm PDD in milliseconds and pc PDDs counted.
--
-- disconnect_reason: the most frequent reason of the key's CDRs, ties → the bytewise smallest:
-- the smallest (−count, reason) tuple; tuples compare element by element and strings byte by
-- byte (https://clickhouse.com/docs/sql-reference/functions/comparison-functions).
SELECT period, k1n, k1s, k2n, k2s,
       argMin(reason, (-toInt64(c), reason)) AS reason,
       sum(c) AS total_calls,
       sum(s) AS successful_calls,
       sum(ad) AS answered_duration,
       sum(td) AS total_duration,
       sum(p) AS price_micros,
       sum(pm) AS pdd_ms,
       sum(pc) AS pdd_count
FROM
(
    SELECT period, k1n, k1s, k2n, k2s, reason,
           sum(c) AS c,
           sum(s) AS s,
           sum(ad) AS ad,
           sum(td) AS td,
           sum(p) AS p,
           sum(pm) AS pm,
           sum(pc) AS pc
    FROM
    (
%PARTS%
    )
    GROUP BY period, k1n, k1s, k2n, k2s, reason
)
GROUP BY period, k1n, k1s, k2n, k2s
