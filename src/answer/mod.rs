//! The one answer path of every statistics endpoint. A response family (quality, statistics,
//! active calls, outgoing calls, …) says only what differs — how its request parses, its cache
//! key, how it computes its document and how that document looks as rows and CSV — and
//! [`Service`] does the rest the same way for all:
//! - a response cache with a per-entry lifetime (settled answers long, live ones briefly), where
//!   N identical concurrent misses run one computation (moka's `try_get_with` coalesces them);
//! - `Cache-Control: no-cache` computes afresh (the result still refreshes the cache);
//! - settled answers are kept for `STALE_TTL_SECS` and served, marked stale, while ClickHouse is
//!   unavailable; a hit or miss is counted per family.
//!
//! [`handler::handle`] is the one HTTP pipeline around it.

pub mod handler;

use crate::domain::Endpoint;
use crate::error::ApiError;
use crate::stats::plan::Path;
use crate::stats::query::Executor;
use actix_web::web::Bytes;
use moka::Expiry;
use moka::future::Cache;
use serde::Serialize;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Where an answer came from (sent as the `x-cdrstats-source` header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The response cache.
    Cache,
    /// A settled answer kept for outages, served because ClickHouse is unreachable.
    Stale,
    /// Cached settled buckets plus a query for the rest.
    Incremental,
    Rollup,
    Raw,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cache => "cache",
            Self::Stale => "stale",
            Self::Incremental => "incremental",
            Self::Rollup => "rollup",
            Self::Raw => "raw",
        }
    }
}

/// A computed answer's source: the path its plan read.
impl From<Path> for Source {
    fn from(path: Path) -> Self {
        match path {
            Path::Rollup => Self::Rollup,
            Path::Raw => Self::Raw,
        }
    }
}

/// One request to answer: the validated request and who asks.
pub struct Ask<'a, R> {
    pub request: &'a R,
    pub account: u32,
    pub customer: u32,
    pub now: i64,
    /// `Cache-Control: no-cache`: read nothing from the caches (results still refresh them).
    pub bypass: bool,
}

/// The cache key of a family whose validated request is its own canonical form: who asks, for
/// which account, and the request's `Debug` text (an open window stays open here, so repeated
/// "until now" requests share an entry for the live TTL).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestKey {
    customer: u32,
    account: u32,
    request: String,
}

impl RequestKey {
    pub fn of<R: std::fmt::Debug>(ask: &Ask<'_, R>) -> Self {
        Self {
            customer: ask.customer,
            account: ask.account,
            request: format!("{:?}", ask.request),
        }
    }
}

/// The bucket limit, checked before any query: too many buckets is a 400, not a slow query.
pub fn check_bucket_limit(buckets: u64, limit: u64) -> Result<(), ApiError> {
    if buckets > limit {
        return Err(ApiError::TooManyBuckets { buckets, limit });
    }
    Ok(())
}

/// What a family computed for one request.
pub struct Computed<D> {
    pub doc: D,
    /// `Rollup`, `Raw` or `Incremental`.
    pub source: Source,
    /// Every bucket ended more than `SETTLE_LAG_SECS` ago: cached long, kept for outages.
    pub settled: bool,
}

/// A response family: everything about an endpoint's answer that is not the same for all.
#[allow(async_fn_in_trait)] // handlers run on actix's per-thread runtime: no `Send` needed
pub trait Family: Sized + 'static {
    type Request;
    /// The document, serialized as the JSON body.
    type Document: Serialize + 'static;
    type Key: Hash + Eq + Clone + Send + Sync + 'static;
    /// The label of this family's response cache in the `cache` metric.
    const CACHE_LABEL: &'static str;

    fn parse(&self, endpoint: Endpoint, query: &str) -> Result<Self::Request, ApiError>;
    /// The `account-id` asked for.
    fn account(request: &Self::Request) -> Uuid;
    /// `from-time`, when the endpoint has one (a window starting after now is answered `[]`).
    fn from_secs(request: &Self::Request) -> Option<i64>;
    /// The name a CSV download gets: `<endpoint>-<account-id>.csv` unless a family says more.
    fn filename(endpoint: Endpoint, request: &Self::Request) -> String {
        format!("{}-{}.csv", endpoint.name(), Self::account(request))
    }
    /// The CSV header alone (the answer to a window that cannot hold data yet).
    fn csv_header(request: &Self::Request) -> String;
    /// The cache key, after the size checks that must refuse a request before any query.
    fn key(&self, ask: &Ask<'_, Self::Request>) -> Result<Self::Key, ApiError>;
    /// Plans, runs and shapes the answer.
    async fn compute(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_, Self::Request>,
    ) -> Result<Computed<Self::Document>, ApiError>;
    /// Rows (buckets or calls) in the document, for the access log.
    fn rows(doc: &Self::Document) -> usize;
    /// `format=rows`.
    fn to_rows_json(doc: &Self::Document) -> Result<Vec<u8>, ApiError>;
    /// `format=csv`.
    fn to_csv(doc: &Self::Document) -> Vec<u8>;
    /// Whether the document was cut at a size limit (`x-cdrstats-truncated: true`).
    fn truncated(_doc: &Self::Document) -> bool {
        false
    }
}

/// A finished answer: the JSON body, kept beside its document for the other representations.
pub struct Answer<D> {
    /// Shared, so a cache hit sends it without copying.
    pub body: Bytes,
    pub etag: String,
    pub doc: D,
    /// Where it was computed.
    source: Source,
    ttl: Duration,
    settled: bool,
    /// When the body was computed (for `Age` on stale answers).
    pub created: Instant,
}

/// An answer and where this request got it from.
pub struct Served<D> {
    pub answer: Arc<Answer<D>>,
    pub source: Source,
}

/// Cache lifetimes and sizes, the same for every family.
#[derive(Clone, Copy, Debug)]
pub struct CachePolicy {
    pub settled_ttl: Duration,
    pub live_ttl: Duration,
    pub stale_ttl: Duration,
    /// Bytes each of the response and the outage cache may hold.
    pub bytes: u64,
}

impl CachePolicy {
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        Self {
            // A settled answer is re-read after SETTLED_REVALIDATE_SECS, so a CDR arriving later
            // than the settle lag still shows.
            settled_ttl: Duration::from_secs(
                settings
                    .cache_settled_ttl_secs
                    .min(settings.settled_revalidate_secs),
            ),
            live_ttl: Duration::from_secs(settings.cache_live_ttl_secs),
            stale_ttl: Duration::from_secs(settings.stale_ttl_secs),
            bytes: settings.cache_mb.saturating_mul(1 << 20),
        }
    }
}

struct PerEntryTtl;

impl<K, D> Expiry<K, Arc<Answer<D>>> for PerEntryTtl {
    fn expire_after_create(&self, _: &K, value: &Arc<Answer<D>>, _: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

fn weight<D>(answer: &Arc<Answer<D>>) -> u32 {
    u32::try_from(answer.body.len() + 256).unwrap_or(u32::MAX)
}

/// A family's caches around its computation.
pub struct Service<F: Family> {
    pub family: F,
    responses: Cache<F::Key, Arc<Answer<F::Document>>>,
    /// Settled answers kept longer, served only while ClickHouse is unavailable.
    stale: Cache<F::Key, Arc<Answer<F::Document>>>,
    policy: CachePolicy,
}

impl<F: Family> Service<F>
where
    F::Document: Send + Sync,
{
    pub fn new(family: F, policy: CachePolicy) -> Self {
        Self {
            family,
            responses: Cache::builder()
                .max_capacity(policy.bytes)
                .weigher(|_, a| weight(a))
                .expire_after(PerEntryTtl)
                .build(),
            stale: Cache::builder()
                .max_capacity(policy.bytes)
                .weigher(|_, a| weight(a))
                .time_to_live(policy.stale_ttl)
                .build(),
            policy,
        }
    }

    /// Answers `ask` from the cache where allowed, else computes it; while ClickHouse is
    /// unavailable, a settled answer computed earlier is served instead of a 503.
    pub async fn answer(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_, F::Request>,
    ) -> Result<Served<F::Document>, ApiError> {
        let key = self.family.key(ask)?;
        match self.answer_key(exec, ask, key.clone()).await {
            Err(ApiError::Unavailable(why)) => {
                let kept = self
                    .stale
                    .get(&key)
                    .await
                    .ok_or(ApiError::Unavailable(why))?;
                exec.metrics
                    .cache
                    .with_label_values(&["stale", "hit"])
                    .inc();
                Ok(Served {
                    answer: kept,
                    source: Source::Stale,
                })
            }
            Ok(served) => {
                if served.answer.settled && served.source != Source::Cache {
                    self.stale.insert(key, served.answer.clone()).await;
                }
                Ok(served)
            }
            Err(e) => Err(e),
        }
    }

    async fn answer_key(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_, F::Request>,
        key: F::Key,
    ) -> Result<Served<F::Document>, ApiError> {
        if ask.bypass {
            let answer = Arc::new(self.compute(exec, ask).await?);
            self.responses.insert(key, answer.clone()).await;
            let source = answer.source;
            return Ok(Served { answer, source });
        }
        let computed = AtomicBool::new(false);
        let answer = self
            .responses
            .try_get_with(key, async {
                computed.store(true, Ordering::Relaxed);
                self.compute(exec, ask).await.map(Arc::new)
            })
            .await
            .map_err(Arc::unwrap_or_clone)?;
        let hit = !computed.load(Ordering::Relaxed);
        exec.metrics
            .cache
            .with_label_values(&[F::CACHE_LABEL, if hit { "hit" } else { "miss" }])
            .inc();
        let source = if hit { Source::Cache } else { answer.source };
        Ok(Served { answer, source })
    }

    async fn compute(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_, F::Request>,
    ) -> Result<Answer<F::Document>, ApiError> {
        let computed = self.family.compute(exec, ask).await?;
        let body = Bytes::from(serde_json::to_vec(&computed.doc).map_err(anyhow::Error::from)?);
        Ok(Answer {
            etag: crate::response::weak_etag(&body),
            body,
            doc: computed.doc,
            source: computed.source,
            ttl: if computed.settled {
                self.policy.settled_ttl
            } else {
                self.policy.live_ttl
            },
            settled: computed.settled,
            created: Instant::now(),
        })
    }
}
