-- Raw CDRs of one account over some time ranges: `cdrs` for termination, `cdrs_by_customer`
-- (last CDRs only) for origination. The percent-delimited markers are replaced by fragments of
-- the gateway's static filter table; every value is a typed server-side parameter. The bucket
-- expression gives each row's bucket start (see plan.rs).
SELECT toUInt32(%BUCKET%) AS t,
       count() AS c,
       countIf(duration > 0) AS a,
       sumIf(toInt64(duration), duration > 0) AS d
FROM %RAW_TABLE%
WHERE %ACCOUNT_COLUMN% = {account:UInt32}
  AND (%RANGES%)
  %CONDITIONS%
GROUP BY t
