//! The ClickHouse side: one `clickhouse::Client` per configured replica, built once, and the
//! mapping of ClickHouse errors onto API errors (`errors.rs`, one table).

use crate::config::Settings;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

mod errors;
mod replicas;
pub use errors::{Answer, RULES, Rule, Verdict, classify, server_code, to_api_error};
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
        .with_password(&settings.clickhouse_password);
    match database {
        Some(db) => client.with_database(db),
        None => client,
    }
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
