-- The accounts a customer owns, for the account picker of the dashboard.
SELECT id, toString(uuid) AS uuid, name
FROM accounts FINAL
WHERE contractor_id = {customer:UInt32}
ORDER BY id
