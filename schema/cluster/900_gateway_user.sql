-- The gateway's ClickHouse identity: read-only, bounded. readonly = 2 forbids every write but
-- lets the gateway send its per-query settings (max_execution_time, query_id,
-- cancel_http_readonly_queries_on_client_close); the constraints cap what it may set.
CREATE SETTINGS PROFILE IF NOT EXISTS cdrstats_gateway_profile ON CLUSTER '{cluster}'
SETTINGS
    readonly = 2,
    max_execution_time = 30 MAX 30,
    max_memory_usage = 2000000000 MAX 4000000000,
    max_threads = 4 MAX 8,
    max_result_rows = 100000,
    result_overflow_mode = 'throw',
    cancel_http_readonly_queries_on_client_close = 1;

-- Per hour: plenty for a cached gateway fleet, a hard stop for a runaway one.
CREATE QUOTA IF NOT EXISTS cdrstats_gateway_quota ON CLUSTER '{cluster}'
FOR INTERVAL 1 hour MAX queries = 2000000, errors = 100000, execution_time = 36000, read_rows = 2000000000000
TO cdrstats_gateway;

CREATE USER IF NOT EXISTS cdrstats_gateway ON CLUSTER '{cluster}'
IDENTIFIED WITH sha256_password BY 'change-me'
SETTINGS PROFILE 'cdrstats_gateway_profile';

GRANT ON CLUSTER '{cluster}' SELECT ON cdrstats.* TO cdrstats_gateway;
