-- The account behind an API account-id, for the ownership check.
SELECT id, contractor_id
FROM accounts FINAL
WHERE uuid = {uuid:UUID}
LIMIT 1
