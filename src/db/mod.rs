//! The ClickHouse side: one `clickhouse::Client` per configured replica, built once, and the
//! mapping of ClickHouse errors onto API errors (`errors.rs`, one table).

use crate::config::Settings;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

mod errors;
mod replicas;
pub use errors::{Outcome, RULES, Rule, Verdict, classify, server_code, to_api_error};
pub use replicas::{Failure, Replicas};

/// A connect that takes longer than this means the replica is down: fail fast instead of hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Idle keep-alive connections are dropped before ClickHouse's own 3 s timeout closes them.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Builds a client for `url` with the configured credentials and database.
pub fn client(settings: &Settings, url: &str, database: Option<&str>) -> clickhouse::Client {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    connector.set_nodelay(true);
    connector.set_keepalive(Some(Duration::from_secs(60)));
    let http = HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(connector);
    let client = clickhouse::Client::with_http_client(http)
        .with_url(url)
        .with_user(&settings.clickhouse_user)
        .with_password(settings.clickhouse_password.expose());
    match database {
        Some(db) => client.with_database(db),
        None => client,
    }
}

/// The settings a CDR pipeline should insert into `cdrs` with (`cdrstats seed` does; on a
/// cluster they are in `cdrstats_pipeline_profile`, schema/cluster/901_pipeline_insert_speed.sql):
/// - `optimize_on_insert = 0`: the rollup views already group each block by the rollup key, so
///   the SummingMergeTree pass on insert re-sorts and sums rows that are already unique. Rows of
///   one key from different inserts are summed by merges, and every read sums anyway.
/// - `parallel_view_processing = 1`: the views of one block (origination copy, two rollups and
///   the rollup of a rollup) run on separate threads instead of one after the other.
///
/// Measured by `make bench-storage` (bench/results/storage-2026-11-27-1155.md, 2M realistic
/// CDRs, 2 cores): 0.09 of a bare table's insert rate without them, 0.25-0.28 with them.
pub const PIPELINE_INSERT_SETTINGS: &[(&str, &str)] = &[
    ("optimize_on_insert", "0"),
    ("parallel_view_processing", "1"),
];

/// `client` with the pipeline's insert settings.
pub fn pipeline_client(client: &clickhouse::Client) -> clickhouse::Client {
    PIPELINE_INSERT_SETTINGS
        .iter()
        .fold(client.clone(), |c, (name, value)| {
            c.with_setting(*name, *value)
        })
}

/// A client for the gateway's own reads: every query runs read-only. `readonly = 2` forbids
/// writes but still lets the gateway send its per-query settings (`readonly = 1` would refuse
/// them); a user whose profile already has `readonly = 2` accepts it, since an unchanged value is
/// not checked (ClickHouse `SettingsConstraints::checkImpl`). Read-only queries are also the only
/// ones `cancel_http_readonly_queries_on_client_close` cancels when our connection drops
/// (deadline passed, client gone), so a timed-out request frees the server at once.
pub fn read_only_client(settings: &Settings, url: &str) -> clickhouse::Client {
    client(settings, url, Some(&settings.clickhouse_database))
        .with_setting("readonly", READONLY)
        .with_setting("cancel_http_readonly_queries_on_client_close", "1")
}

/// The `readonly` level of the gateway's queries; `cdrstats check` verifies the user allows it.
pub const READONLY: &str = "2";

/// True when the error means "could not reach the server" (safe to retry elsewhere).
pub fn is_connect_error(err: &clickhouse::error::Error) -> bool {
    matches!(err, clickhouse::error::Error::Network(_))
}
