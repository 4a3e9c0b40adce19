-- API credentials of a customer: the token's integer `sub` is an id here. An empty
-- account_ids means "every account of the customer"; an empty allowed_ips means "any address".
-- ReplacingMergeTree: an update is an insert with the same id; readers use FINAL.
CREATE TABLE IF NOT EXISTS api_access
(
    id          UInt32,
    customer_id UInt32,
    login       String,
    account_ids Array(UInt32),
    allowed_ips Array(String)
)
ENGINE = ReplacingMergeTree
ORDER BY id;
