-- Accounts and API credentials: tiny, read on every request (cached by the gateway), so every
-- shard keeps a full replicated copy under one ZooKeeper path and reads it locally.
CREATE TABLE IF NOT EXISTS accounts ON CLUSTER '{cluster}'
(
    id            UInt32,
    uuid          UUID,
    contractor_id UInt32,
    name          String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/accounts', '{replica}')
ORDER BY (uuid, id);

CREATE TABLE IF NOT EXISTS api_access ON CLUSTER '{cluster}'
(
    id          UInt32,
    customer_id UInt32,
    login       String,
    account_ids Array(UInt32),
    allowed_ips Array(String)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/api_access', '{replica}')
ORDER BY id;
