//! Health-checked ClickHouse replicas with failover: queries go to healthy replicas in turn; a
//! read that cannot reach its node (connect failure, or a cluster error local to that node, see
//! `errors.rs`) is retried once on another; a background task pings every replica.
//!
//! Failure detection tolerates one slow ping: a replica is marked down after
//! [`DOWN_AFTER`] failed pings in a row (or at once when a real query cannot connect), and up
//! again after one good ping. When every replica is marked down the gateway still tries one in
//! turn instead of refusing: a health check is a guess, a query is the truth.
//!
//! Every query gets its own fresh `query_id`: a server rejects a second running query with an id
//! already running (error 216), so reusing the client's request id would turn two concurrent
//! requests with the same `X-Request-Id`, or a failover retry, into errors.

use super::errors::classify;
use super::{is_connect_error, read_only_client};
use crate::config::Settings;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

/// How often every replica is pinged, and how long a ping may take.
const CHECK_EVERY: Duration = Duration::from_millis(400);
const PING_TIMEOUT: Duration = Duration::from_secs(1);
/// Failed pings in a row that mark a replica down.
pub const DOWN_AFTER: u32 = 2;

/// Consecutive failures of one replica; it counts as down from [`DOWN_AFTER`] on.
#[derive(Debug, Default)]
struct Health {
    failures: AtomicU32,
}

impl Health {
    fn is_up(&self) -> bool {
        self.failures.load(Ordering::Relaxed) < DOWN_AFTER
    }

    /// Records a ping; returns the new state when it changed.
    fn record_ping(&self, ok: bool) -> Option<bool> {
        let was_up = self.is_up();
        if ok {
            self.failures.store(0, Ordering::Relaxed);
        } else {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        let up = self.is_up();
        (up != was_up).then_some(up)
    }

    /// A real query could not connect: no need to wait for more pings.
    fn mark_down(&self) {
        self.failures.fetch_max(DOWN_AFTER, Ordering::Relaxed);
    }
}

struct Replica {
    url: String,
    /// Swappable so a re-read `CLICKHOUSE_PASSWORD_FILE` (SIGHUP) reaches the next query; the
    /// HTTP connection pool is shared across the swap.
    client: RwLock<clickhouse::Client>,
    health: Health,
}

impl Replica {
    fn client(&self) -> clickhouse::Client {
        self.client
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The configured replicas (`CLICKHOUSE_URL`, comma-separated).
pub struct Replicas {
    replicas: Vec<Replica>,
    next: AtomicUsize,
}

/// Why no replica answered.
#[derive(Debug)]
pub enum Failure {
    /// No replica is reachable.
    Down,
    /// A replica answered with an error (or the rows did not parse).
    Query(clickhouse::error::Error),
}

impl Replicas {
    /// Read-only clients for every replica, all assumed healthy until checks say otherwise.
    pub fn new(settings: &Settings) -> Arc<Self> {
        Self::with_clients(
            settings
                .clickhouse_urls
                .clone()
                .into_iter()
                .map(|url| (read_only_client(settings, &url), url))
                .collect(),
        )
    }

    /// Replicas over ready-made clients (`(client, url)`).
    pub fn with_clients(clients: Vec<(clickhouse::Client, String)>) -> Arc<Self> {
        let replicas = clients
            .into_iter()
            .map(|(client, url)| Replica {
                client: RwLock::new(client),
                url,
                health: Health::default(),
            })
            .collect();
        Arc::new(Self {
            replicas,
            next: AtomicUsize::new(0),
        })
    }

    /// Starts the background health checks; they stop when the replicas are dropped.
    pub fn spawn_health_checks(self: &Arc<Self>) {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECK_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { return };
                this.check_all().await;
            }
        });
    }

    async fn check_all(&self) {
        let checks = self.replicas.iter().map(|r| async move {
            let ok = tokio::time::timeout(PING_TIMEOUT, r.client().query("SELECT 1").execute())
                .await
                .is_ok_and(|res| res.is_ok());
            if let Some(up) = r.health.record_ping(ok) {
                tracing::warn!(url = %r.url, healthy = up, "replica health changed");
            }
        });
        futures_util::future::join_all(checks).await;
    }

    /// Healthy replicas starting at the next one in turn; when none is healthy, the next one in
    /// turn anyway.
    fn candidates(&self) -> Vec<&Replica> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let in_turn = (0..n).map(|i| &self.replicas[(start + i) % n]);
        let healthy: Vec<&Replica> = in_turn.clone().filter(|r| r.health.is_up()).collect();
        if healthy.is_empty() {
            in_turn.take(1).collect()
        } else {
            healthy
        }
    }

    /// Runs a read on a replica with a fresh `query_id`; when the node could not be reached
    /// (see `errors.rs`), retries once on another.
    pub async fn read<T, F, Fut>(&self, query: F) -> Result<T, Failure>
    where
        F: Fn(clickhouse::Client) -> Fut,
        Fut: Future<Output = Result<T, clickhouse::error::Error>>,
    {
        self.read_with_id(|client, _| query(client)).await
    }

    /// [`Replicas::read`], also handing the closure each attempt's query id (for its logs).
    pub async fn read_with_id<T, F, Fut>(&self, query: F) -> Result<T, Failure>
    where
        F: Fn(clickhouse::Client, &str) -> Fut,
        Fut: Future<Output = Result<T, clickhouse::error::Error>>,
    {
        let mut last = None;
        for replica in self.candidates().into_iter().take(2) {
            let query_id = uuid::Uuid::new_v4().to_string();
            let client = replica.client().with_setting("query_id", &query_id);
            match query(client, &query_id).await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    tracing::warn!(url = %replica.url, query_id, error = %e, "clickhouse query failed");
                    if is_connect_error(&e) {
                        replica.health.mark_down();
                    }
                    if !classify(&e).retry_elsewhere {
                        return Err(Failure::Query(e));
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.map_or(Failure::Down, Failure::Query))
    }

    /// Uses `password` for every query from now on (a rotated ClickHouse password).
    pub fn set_password(&self, password: &str) {
        for replica in &self.replicas {
            let mut client = replica
                .client
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            *client = client.clone().with_password(password);
        }
    }

    /// `SELECT 1` on a replica.
    pub async fn ping(&self) -> Result<(), Failure> {
        self.read(|c| async move { c.query("SELECT 1").execute().await })
            .await
    }
}

impl Failure {
    /// The API's view of the failure, through the one error table.
    pub fn into_api(self) -> crate::error::ApiError {
        self.to_api()
    }

    /// [`Failure::into_api`] for a failure shared among coalesced callers (moka hands each an
    /// `Arc`): the same table, so an unreachable server is a 503 whoever asked first.
    pub fn to_api(&self) -> crate::error::ApiError {
        match self {
            Self::Down => crate::error::ApiError::Unavailable("statistics backend unavailable"),
            Self::Query(e) => super::to_api_error(e),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Down => f.write_str("no ClickHouse replica reachable"),
            Self::Query(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slow_ping_does_not_mark_a_replica_down() {
        let h = Health::default();
        assert_eq!(h.record_ping(false), None);
        assert!(h.is_up(), "one failed ping is tolerated");
        assert_eq!(h.record_ping(true), None);
        assert_eq!(h.record_ping(false), None);
        assert_eq!(
            h.record_ping(false),
            Some(false),
            "two in a row mark it down"
        );
        assert_eq!(
            h.record_ping(true),
            Some(true),
            "one good ping brings it back"
        );
        h.mark_down();
        assert!(!h.is_up());
    }

    fn replicas(n: usize) -> Arc<Replicas> {
        Replicas::with_clients(
            (0..n)
                .map(|i| (clickhouse::Client::default(), format!("http://r{i}")))
                .collect(),
        )
    }

    #[test]
    fn with_every_replica_down_one_is_still_tried_in_turn() {
        let r = replicas(2);
        for replica in &r.replicas {
            replica.health.mark_down();
        }
        let first: Vec<&str> = r.candidates().iter().map(|c| c.url.as_str()).collect();
        let second: Vec<&str> = r.candidates().iter().map(|c| c.url.as_str()).collect();
        assert_eq!(first.len(), 1);
        assert_eq!(second.len(), 1);
        assert_ne!(first, second, "the next call tries the other one");
    }

    #[test]
    fn healthy_replicas_are_preferred() {
        let r = replicas(3);
        r.replicas[1].health.mark_down();
        for _ in 0..3 {
            let urls: Vec<&str> = r.candidates().iter().map(|c| c.url.as_str()).collect();
            assert_eq!(urls.len(), 2);
            assert!(!urls.contains(&"http://r1"));
        }
    }

    #[tokio::test]
    async fn every_attempt_has_its_own_query_id() {
        // Nothing listens on these ports: both attempts fail to connect, each with its own id.
        let r = Replicas::with_clients(vec![
            (
                clickhouse::Client::default().with_url("http://127.0.0.1:9"),
                "a".into(),
            ),
            (
                clickhouse::Client::default().with_url("http://127.0.0.1:9"),
                "b".into(),
            ),
        ]);
        let seen = std::sync::Mutex::new(Vec::new());
        let result = r
            .read_with_id(|c, id| {
                seen.lock().expect("lock").push(id.to_owned());
                async move { c.query("SELECT 1").execute().await }
            })
            .await;
        assert!(result.is_err());
        let seen = seen.into_inner().expect("lock");
        assert_eq!(seen.len(), 2, "a connect failure is retried once");
        assert_ne!(seen[0], seen[1]);
    }
}
