-- Per-bucket integer sums for one account: the union of the planned parts (raw CDRs and/or a
-- rollup, each over its own time ranges), added up per bucket. The gateway derives acd/asr/cps
-- from these sums exactly, so no float arithmetic happens here.
SELECT t, sum(c) AS total_calls, sum(a) AS answered, sum(d) AS duration_sum
FROM
(
%PARTS%
)
GROUP BY t
ORDER BY t
