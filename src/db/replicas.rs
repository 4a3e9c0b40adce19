//! Health-checked ClickHouse replicas with failover: queries go to healthy replicas in turn; a
//! read that cannot connect is retried once on another; a background task re-checks every
//! replica twice a second, so a dead one is avoided within 1 s and a revived one used again
//! within 2 s, without a restart.

use super::{client, is_connect_error};
use crate::config::Settings;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

/// How often every replica is pinged, and how long a ping may take.
const CHECK_EVERY: Duration = Duration::from_millis(400);
const PING_TIMEOUT: Duration = Duration::from_millis(300);

struct Replica {
    url: String,
    /// Swappable so a re-read `CLICKHOUSE_PASSWORD_FILE` (SIGHUP) reaches the next query; the
    /// HTTP connection pool is shared across the swap.
    client: RwLock<clickhouse::Client>,
    healthy: AtomicBool,
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
    /// No replica is healthy or reachable.
    Down,
    /// A replica answered with an error (or the rows did not parse).
    Query(clickhouse::error::Error),
}

impl Replicas {
    /// Clients for every replica, all assumed healthy until a check says otherwise.
    pub fn new(settings: &Settings) -> Arc<Self> {
        let replicas = settings
            .clickhouse_urls()
            .into_iter()
            .map(|url| Replica {
                client: RwLock::new(client(settings, &url, Some(&settings.clickhouse_database))),
                url,
                healthy: AtomicBool::new(true),
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
            let was = r.healthy.swap(ok, Ordering::Relaxed);
            if was != ok {
                tracing::warn!(url = %r.url, healthy = ok, "replica health changed");
            }
        });
        futures_util::future::join_all(checks).await;
    }

    /// Healthy replicas, starting at the next one in turn.
    fn candidates(&self) -> Vec<&Replica> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| &self.replicas[(start + i) % n])
            .filter(|r| r.healthy.load(Ordering::Relaxed))
            .collect()
    }

    /// Runs a read on a healthy replica; on a connect failure marks it down and retries once on
    /// another.
    pub async fn read<T, F, Fut>(&self, query: F) -> Result<T, Failure>
    where
        F: Fn(clickhouse::Client) -> Fut,
        Fut: Future<Output = Result<T, clickhouse::error::Error>>,
    {
        for replica in self.candidates().into_iter().take(2) {
            match query(replica.client()).await {
                Err(e) if is_connect_error(&e) => {
                    tracing::warn!(url = %replica.url, error = %e, "replica unreachable");
                    replica.healthy.store(false, Ordering::Relaxed);
                }
                Err(e) => return Err(Failure::Query(e)),
                Ok(v) => return Ok(v),
            }
        }
        Err(Failure::Down)
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

    /// `SELECT 1` on any healthy replica.
    pub async fn ping(&self) -> Result<(), Failure> {
        self.read(|c| async move { c.query("SELECT 1").execute().await })
            .await
    }
}

impl Failure {
    /// The API's view of the failure.
    pub fn into_api(self) -> crate::error::ApiError {
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
