-- Billing accounts. Small and rarely changed; the gateway caches lookups
-- (AUTH_CACHE_TTL_SECS). ReplacingMergeTree so that an update is an insert of the new row with
-- the same id; readers use FINAL. Ordered by uuid because the API looks accounts up by uuid.
CREATE TABLE IF NOT EXISTS accounts
(
    id            UInt32,
    uuid          UUID,
    contractor_id UInt32,
    name          String
)
ENGINE = ReplacingMergeTree
ORDER BY (uuid, id);
