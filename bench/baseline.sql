SELECT toUnixTimestamp(toStartOfMinute(time_start)) AS t, count(), avgIf(duration, duration > 0), countIf(duration > 0) / count(), count() / 60
FROM cdrs
WHERE vendor_acc_id = {a:UInt32} AND time_start BETWEEN {from:DateTime} AND {to:DateTime} {filter}
GROUP BY t WITH TOTALS
ORDER BY t WITH FILL FROM toUnixTimestamp(toStartOfMinute({from:DateTime})) TO toUnixTimestamp(toStartOfMinute({to:DateTime})) + 60 STEP 60
