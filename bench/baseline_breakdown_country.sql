-- (G) by=dst-country, the straightforward way: one GROUP BY over the hot account's raw CDRs of
-- the window with the sums the endpoint answers from (ACD, ASR follow from them), the top 20 keys
-- by calls, and totals over every key (the endpoint's `other` is totals minus the top 20).
SELECT dst_country_id AS k, count() AS total_calls, countIf(duration > 0) AS successful_calls,
       sum(duration) AS total_duration, sum(vendor_price) AS total_price, avgIf(pdd, pdd > 0) AS avg_pdd
FROM cdrs
WHERE vendor_acc_id = {a:UInt32} AND time_start BETWEEN {from:DateTime} AND {to:DateTime}
GROUP BY k WITH TOTALS
ORDER BY total_calls DESC, k
LIMIT 20
