-- The price sums of the three rollup views fed by cdrs, computed without formatting every price
-- as text (what each view did per CDR and side: about 0.1 s per 2M CDRs of the insert each).
--
-- A price in millionths is the decimal the switch wrote (the Float64's shortest decimal form)
-- rounded half away from zero to 6 places. The views now round the price scaled in floating
-- point unless it lies within 0.001 of a tie, is 10^6 or more, or is not finite; there the text
-- form decides, as before. Both give the same integer for every Float64: below 10^6 a Float64
-- and its shortest decimal differ by at most 1.2e-10, scaled by 10^6 less than 0.001 with the
-- product's own rounding error, so away from a tie they round alike (an integration test
-- compares both forms on the engine over millions of prices, exact ties included).
--
-- A price that is not a finite number below 10^9 in magnitude now counts 0 instead of failing:
-- its text form ('nan', 'inf', '1e+30') cannot be read as a Decimal, and the view's error failed
-- the pipeline's whole insert (the CDRs reached cdrs, the rollups missed them, every retry
-- failed again). The raw queries of the statistics and breakdown endpoints count it 0 too.
--
-- Live-safe: ALTER TABLE ... MODIFY QUERY replaces a view's SELECT in place, without
-- interrupting the inserts (https://clickhouse.com/docs/sql-reference/statements/alter/view);
-- nothing is dropped, and rows already rolled up hold the same sums.
ALTER TABLE rollup_minute_country_mv MODIFY QUERY
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       dst_country_id,
       src_country_id,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum,
       sum(toInt64(duration)) AS full_duration_sum,
       sum(toInt64(if(side = 0, vendor_duration, customer_duration))) AS billed_duration_sum,
       sum(if(abs(if(side = 0, vendor_price, customer_price)) < 1000000 AND abs(if(side = 0, vendor_price, customer_price) * 1000000 - floor(if(side = 0, vendor_price, customer_price) * 1000000) - 0.5) > 0.001, toInt64(round(if(side = 0, vendor_price, customer_price) * 1000000)), if(abs(if(side = 0, vendor_price, customer_price)) < 1000000000, toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000), 0))) AS price_micros
FROM cdrs
ARRAY JOIN [0, 1] AS side
INNER JOIN (SELECT side AS listed_side, account_id AS listed_account, writes_from, writes_until FROM rollup_accounts FINAL WHERE writes_from < writes_until) AS l ON l.listed_side = side AND l.listed_account = account_id
WHERE (side = 0 OR is_last_cdr) AND inserted_at >= l.writes_from AND inserted_at < l.writes_until
GROUP BY side, account_id, dst_country_id, src_country_id, minute;

ALTER TABLE rollup_minute_destination_mv MODIFY QUERY
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       dst_prefix_routing,
       dst_country_id,
       dst_network_id,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum,
       sum(toInt64(duration)) AS full_duration_sum,
       sum(toInt64(if(side = 0, vendor_duration, customer_duration))) AS billed_duration_sum,
       sum(if(abs(if(side = 0, vendor_price, customer_price)) < 1000000 AND abs(if(side = 0, vendor_price, customer_price) * 1000000 - floor(if(side = 0, vendor_price, customer_price) * 1000000) - 0.5) > 0.001, toInt64(round(if(side = 0, vendor_price, customer_price) * 1000000)), if(abs(if(side = 0, vendor_price, customer_price)) < 1000000000, toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000), 0))) AS price_micros,
       sumIf(toInt64(floor(toFloat64(pdd) * 1000 + 0.5)), pdd > 0) AS pdd_ms_sum,
       countIf(pdd > 0) AS pdd_count
FROM cdrs
ARRAY JOIN [0, 1] AS side
INNER JOIN (SELECT side AS listed_side, account_id AS listed_account, writes_from, writes_until FROM rollup_accounts FINAL WHERE writes_from < writes_until) AS l ON l.listed_side = side AND l.listed_account = account_id
WHERE (side = 0 OR is_last_cdr) AND inserted_at >= l.writes_from AND inserted_at < l.writes_until
GROUP BY side, account_id, dst_prefix_routing, dst_country_id, dst_network_id, minute;

ALTER TABLE rollup_minute_disconnect_mv MODIFY QUERY
SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       if(side = 0, legb_disconnect_code, lega_disconnect_code) AS disconnect_code,
       CAST(if(side = 0, legb_disconnect_reason, lega_disconnect_reason) AS String) AS disconnect_reason,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum,
       sum(toInt64(duration)) AS full_duration_sum,
       sum(toInt64(if(side = 0, vendor_duration, customer_duration))) AS billed_duration_sum,
       sum(if(abs(if(side = 0, vendor_price, customer_price)) < 1000000 AND abs(if(side = 0, vendor_price, customer_price) * 1000000 - floor(if(side = 0, vendor_price, customer_price) * 1000000) - 0.5) > 0.001, toInt64(round(if(side = 0, vendor_price, customer_price) * 1000000)), if(abs(if(side = 0, vendor_price, customer_price)) < 1000000000, toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000), 0))) AS price_micros,
       sumIf(toInt64(floor(toFloat64(pdd) * 1000 + 0.5)), pdd > 0) AS pdd_ms_sum,
       countIf(pdd > 0) AS pdd_count
FROM cdrs
ARRAY JOIN [0, 1] AS side
INNER JOIN (SELECT side AS listed_side, account_id AS listed_account, writes_from, writes_until FROM rollup_accounts FINAL WHERE writes_from < writes_until) AS l ON l.listed_side = side AND l.listed_account = account_id
WHERE (side = 0 OR is_last_cdr) AND inserted_at >= l.writes_from AND inserted_at < l.writes_until
GROUP BY side, account_id, disconnect_code, disconnect_reason, minute;
