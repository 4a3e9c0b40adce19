-- (H) by=dst-prefix: as (G), keyed by the routing prefix.
SELECT dst_prefix_routing AS k, count() AS total_calls, countIf(duration > 0) AS successful_calls,
       sum(duration) AS total_duration, sum(vendor_price) AS total_price, avgIf(pdd, pdd > 0) AS avg_pdd
FROM cdrs
WHERE vendor_acc_id = {a:UInt32} AND time_start BETWEEN {from:DateTime} AND {to:DateTime}
GROUP BY k WITH TOTALS
ORDER BY total_calls DESC, k
LIMIT 20
