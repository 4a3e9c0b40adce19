-- Access for the gateway and the CDR pipeline. Objects are created before anything names them:
-- profiles, then the user, then its quota and grant (a server refuses a quota or grant for a
-- user that does not exist yet).
--
-- The gateway's identity: read-only, bounded. readonly = 2 forbids every write but lets the
-- gateway send its per-query settings (max_execution_time, query_id, log_comment; it sends
-- readonly = 2 itself, which an unchanged value allows); readonly = 1 would refuse them all.
-- Read-only queries are the ones cancel_http_readonly_queries_on_client_close cancels when the
-- gateway drops the connection. max_execution_time is capped at 30 s: QUERY_TIMEOUT_SECS must
-- not exceed it (`cdrstats check` verifies). optimize_skip_unused_shards lets a one-account
-- query read only the shard that holds the account (sharding keys in 001_cdrs.sql,
-- 003_rollups.sql).
CREATE SETTINGS PROFILE IF NOT EXISTS cdrstats_gateway_profile ON CLUSTER '{cluster}'
SETTINGS
    readonly = 2,
    max_execution_time = 30 MAX 30,
    max_memory_usage = 2000000000 MAX 4000000000,
    max_threads = 4 MAX 8,
    max_result_rows = 100000,
    result_overflow_mode = 'throw',
    cancel_http_readonly_queries_on_client_close = 1,
    optimize_skip_unused_shards = 1;

-- For the CDR pipeline's user (not created here): inserts into cdrs_local are deduplicated on
-- retry, views of a deduplicated block do not fire again, and the views' writes into the
-- Distributed rollups happen inside the insert instead of in the background.
CREATE SETTINGS PROFILE IF NOT EXISTS cdrstats_pipeline_profile ON CLUSTER '{cluster}'
SETTINGS
    insert_deduplicate = 1,
    deduplicate_blocks_in_dependent_materialized_views = 1,
    distributed_foreground_insert = 1;

-- HOST NONE: the user cannot log in until the operator sets a password and the gateways'
-- addresses: ALTER USER cdrstats_gateway IDENTIFIED WITH sha256_password BY '...' HOST IP '...'
CREATE USER IF NOT EXISTS cdrstats_gateway ON CLUSTER '{cluster}'
IDENTIFIED WITH sha256_password BY 'set-by-the-operator'
HOST NONE
SETTINGS PROFILE 'cdrstats_gateway_profile';

-- Per hour: plenty for a cached gateway fleet, a hard stop for a runaway one (error 201, which
-- the gateway answers with 503 and stale settled answers).
CREATE QUOTA IF NOT EXISTS cdrstats_gateway_quota ON CLUSTER '{cluster}'
FOR INTERVAL 1 hour MAX queries = 2000000, errors = 100000, execution_time = 36000, read_rows = 2000000000000
TO cdrstats_gateway;

GRANT ON CLUSTER '{cluster}' SELECT ON {target_database}.* TO cdrstats_gateway;
