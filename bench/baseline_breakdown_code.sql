-- (I) by=disconnect-code: as (G), keyed by leg B's disconnect code with its most frequent reason
-- (topK(1): one pass; exact while a code has at most 3 distinct reasons, and the seed gives each
-- code one).
SELECT legb_disconnect_code AS k, topK(1)(legb_disconnect_reason)[1] AS reason, count() AS total_calls,
       countIf(duration > 0) AS successful_calls, sum(duration) AS total_duration,
       sum(vendor_price) AS total_price, avgIf(pdd, pdd > 0) AS avg_pdd
FROM cdrs
WHERE vendor_acc_id = {a:UInt32} AND time_start BETWEEN {from:DateTime} AND {to:DateTime}
GROUP BY k WITH TOTALS
ORDER BY total_calls DESC, k
LIMIT 20
