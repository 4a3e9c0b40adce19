-- The API credentials named by a token's integer `sub`.
SELECT customer_id, account_ids, allowed_ips
FROM api_access FINAL
WHERE id = {id:UInt32}
LIMIT 1
