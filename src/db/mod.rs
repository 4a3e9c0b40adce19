//! The ClickHouse side: one `clickhouse::Client` per configured replica, built once, and the
//! mapping of driver errors onto API errors.

use crate::config::Settings;
use crate::error::ApiError;
use ApiError::Unavailable;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

mod replicas;
pub use replicas::{Failure, Replicas};

/// A connect that takes longer than this means the replica is down: fail fast instead of hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Idle keep-alive connections are dropped before ClickHouse's own 3 s timeout closes them.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// ClickHouse error codes the gateway treats specially.
mod codes {
    pub const TIMEOUT_EXCEEDED: &str = "Code: 159.";
    pub const QUERY_WAS_CANCELLED: &str = "Code: 394.";
    pub const TOO_MANY_SIMULTANEOUS_QUERIES: &str = "Code: 202.";
}

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

/// Clients for every replica in `CLICKHOUSE_URL`, bound to `CLICKHOUSE_DATABASE`.
pub fn replica_clients(settings: &Settings) -> Vec<clickhouse::Client> {
    settings
        .clickhouse_urls()
        .iter()
        .map(|url| client(settings, url, Some(&settings.clickhouse_database)))
        .collect()
}

/// True when the error means "could not reach the server" (safe to retry elsewhere).
pub fn is_connect_error(err: &clickhouse::error::Error) -> bool {
    matches!(err, clickhouse::error::Error::Network(_))
}

/// Maps a driver error onto the API's error; the full text is kept only for the log.
pub fn to_api_error(err: clickhouse::error::Error) -> ApiError {
    match &err {
        clickhouse::error::Error::Network(_) => Unavailable("statistics backend unavailable"),
        clickhouse::error::Error::TimedOut => ApiError::Timeout,
        clickhouse::error::Error::BadResponse(text)
            if text.contains(codes::TIMEOUT_EXCEEDED)
                || text.contains(codes::QUERY_WAS_CANCELLED) =>
        {
            ApiError::Timeout
        }
        clickhouse::error::Error::BadResponse(text)
            if text.contains(codes::TOO_MANY_SIMULTANEOUS_QUERIES) =>
        {
            Unavailable("statistics backend overloaded")
        }
        _ => ApiError::Internal(anyhow::Error::new(err).context("clickhouse query")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timeouts_become_504_and_others_500() {
        let timeout = clickhouse::error::Error::BadResponse(
            "Code: 159. DB::Exception: Timeout exceeded: elapsed 10.1 seconds".into(),
        );
        assert!(matches!(to_api_error(timeout), ApiError::Timeout));
        let syntax =
            clickhouse::error::Error::BadResponse("Code: 62. DB::Exception: Syntax error".into());
        assert!(matches!(to_api_error(syntax), ApiError::Internal(_)));
    }
}
