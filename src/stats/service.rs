//! Answers statistics requests fast and exactly:
//! - a response cache keyed by the normalized request and the customer, where N identical
//!   concurrent misses run one query (moka's `try_get_with` coalesces them);
//! - a cache of the integer sums of *settled* buckets (ended longer than the settle lag ago), so
//!   a repeated window asks ClickHouse only for the unsettled tail (and a partial first bucket)
//!   and stitches; totals are recomputed from the sums, so numbers stay identical. Settled is
//!   not forever: a CDR may arrive later than the settle lag, so cached sums (and settled
//!   responses) are trusted for `SETTLED_REVALIDATE_SECS` from when they were read, then read
//!   again — merging never extends that age, so a late CDR shows within that time on every
//!   gateway, whichever replica it reads;
//! - a retention check: a window older than `RAW_RETENTION_DAYS` that needs raw CDRs (or older
//!   than `ROLLUP_RETENTION_DAYS` on a rollup) answers 400 rather than zeros;
//! - the planner's choice of rollup or raw CDRs for whatever must still be read.

use super::document::{self, Document, bucket_count};
use super::filters::Endpoint;
use super::metrics::Sums;
use super::params::StatsRequest;
use super::plan::{self, Path, Scope, Window};
use super::query::Executor;
use super::time::Sampling;
use crate::config::Settings;
use crate::error::ApiError;
use actix_web::web::Bytes;
use moka::Expiry;
use moka::future::Cache;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Where an answer came from (sent as a transparency header).
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

/// A finished response body.
#[derive(Debug)]
pub struct Answer {
    /// The JSON body; shared, so a cache hit sends it without copying.
    pub body: Bytes,
    /// The document itself, for other representations (CSV).
    pub doc: Arc<Document>,
    pub etag: String,
    pub source: Source,
    ttl: Duration,
    /// Whether every bucket was settled (the answer cannot change any more).
    settled: bool,
    /// When the body was computed (for `Age` on stale answers).
    pub created: Instant,
}

/// What a request asks, minus its time window.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ScopeKey {
    endpoint: Endpoint,
    account: u32,
    sampling: Sampling,
    time_zone: Option<chrono_tz::Tz>,
    /// The validated filters in table order, in a canonical text form.
    filters: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ResponseKey {
    customer: u32,
    scope: ScopeKey,
    /// First bucket and first counted second.
    first: i64,
    from: i64,
    /// `None` when the window runs until now.
    to: Option<i64>,
}

/// Settled buckets `[start, start + sums.len() × step)`, empty ones included.
#[derive(Debug)]
struct Segment {
    start: i64,
    sums: Vec<Sums>,
    /// When the oldest of these sums was read from ClickHouse.
    read_at: Instant,
}

impl Segment {
    fn end(&self, step: i64) -> i64 {
        self.start + self.sums.len() as i64 * step
    }
}

struct PerEntryTtl;

impl Expiry<ResponseKey, Arc<Answer>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _: &ResponseKey,
        value: &Arc<Answer>,
        _: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The statistics service: caches plus planning.
pub struct Stats {
    responses: Cache<ResponseKey, Arc<Answer>>,
    /// Settled answers kept longer, served only while ClickHouse is unreachable.
    stale: Cache<ResponseKey, Arc<Answer>>,
    segments: Cache<ScopeKey, Arc<Segment>>,
    settle_lag: i64,
    settled_ttl: Duration,
    revalidate: Duration,
    /// Retention horizons in seconds (0 = unlimited).
    raw_retention: i64,
    rollup_retention: i64,
    live_ttl: Duration,
    max_buckets: u64,
}

/// One request to answer.
pub struct Ask<'a> {
    pub request: &'a StatsRequest,
    pub account: u32,
    pub customer: u32,
    pub now: i64,
    /// `Cache-Control: no-cache`: read nothing from the caches (results still refresh them).
    pub bypass: bool,
}

/// The store of settled answers kept to serve while ClickHouse is unavailable: for
/// `STALE_TTL_SECS`, at most `CACHE_MB`, each weighed by its body. Shared by the quality and
/// family services.
pub(crate) fn outage_store<K, V>(settings: &Settings, body_len: fn(&V) -> usize) -> Cache<K, Arc<V>>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(settings.cache_mb.saturating_mul(1 << 20))
        .weigher(move |_, v: &Arc<V>| u32::try_from(body_len(v) + 256).unwrap_or(u32::MAX))
        .time_to_live(Duration::from_secs(settings.stale_ttl_secs))
        .build()
}

/// The answer kept for `key` while ClickHouse is unavailable (counted as a stale hit), or the
/// 503 itself when nothing was kept. Shared by the quality and family services.
pub(crate) async fn kept_for_outage<K, V>(
    kept: &Cache<K, Arc<V>>,
    key: &K,
    exec: &Executor<'_>,
    why: &'static str,
) -> Result<Arc<V>, ApiError>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let value = kept.get(key).await.ok_or(ApiError::Unavailable(why))?;
    exec.metrics
        .cache
        .with_label_values(&["stale", "hit"])
        .inc();
    Ok(value)
}

impl Stats {
    pub fn new(settings: &Settings) -> Self {
        let bytes = settings.cache_mb.saturating_mul(1 << 20);
        Self {
            responses: Cache::builder()
                .max_capacity(bytes)
                .weigher(|_, a: &Arc<Answer>| u32::try_from(a.body.len() + 256).unwrap_or(u32::MAX))
                .expire_after(PerEntryTtl)
                .build(),
            stale: outage_store(settings, |a: &Answer| a.body.len()),
            segments: Cache::builder()
                .max_capacity(bytes)
                .weigher(|_, s: &Arc<Segment>| {
                    u32::try_from(s.sums.len() * size_of::<Sums>() + 128).unwrap_or(u32::MAX)
                })
                .time_to_live(Duration::from_secs(settings.settled_revalidate_secs))
                .build(),
            settle_lag: settings.settle_lag_secs,
            // A settled response is a settled read too: it must not outlive revalidation.
            settled_ttl: Duration::from_secs(
                settings
                    .cache_settled_ttl_secs
                    .min(settings.settled_revalidate_secs),
            ),
            revalidate: Duration::from_secs(settings.settled_revalidate_secs),
            raw_retention: i64::from(settings.raw_retention_days) * 86_400,
            rollup_retention: i64::from(settings.rollup_retention_days) * 86_400,
            live_ttl: Duration::from_secs(settings.cache_live_ttl_secs),
            max_buckets: settings.max_buckets,
        }
    }

    /// Answers `ask`, from the caches where allowed; while ClickHouse is unreachable, a settled
    /// answer computed earlier is served instead of a 503.
    pub async fn answer(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_>,
    ) -> Result<Arc<Answer>, ApiError> {
        let key = self.key(ask)?;
        match self.answer_key(exec, ask, key.clone()).await {
            Err(ApiError::Unavailable(why)) => {
                let kept = kept_for_outage(&self.stale, &key, exec, why).await?;
                Ok(Arc::new(Answer {
                    body: kept.body.clone(),
                    doc: kept.doc.clone(),
                    etag: kept.etag.clone(),
                    source: Source::Stale,
                    ttl: kept.ttl,
                    settled: kept.settled,
                    created: kept.created,
                }))
            }
            Ok(answer) => {
                if answer.settled && answer.source != Source::Cache {
                    self.stale.insert(key, answer.clone()).await;
                }
                Ok(answer)
            }
            Err(e) => Err(e),
        }
    }

    /// The normalized cache key of `ask`, after the bucket-count check.
    fn key(&self, ask: &Ask<'_>) -> Result<ResponseKey, ApiError> {
        let req = ask.request;
        let (first, last, end) = bounds(req, ask.now);
        let buckets = bucket_count(first, last, req.sampling.seconds());
        if buckets > self.max_buckets {
            return Err(ApiError::TooManyBuckets {
                buckets,
                limit: self.max_buckets,
            });
        }
        Ok(ResponseKey {
            customer: ask.customer,
            scope: scope_key(req, ask.account),
            first,
            from: req.from.ceil(),
            to: req.to.map(|_| end),
        })
    }

    async fn answer_key(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_>,
        key: ResponseKey,
    ) -> Result<Arc<Answer>, ApiError> {
        if ask.bypass {
            let answer = Arc::new(self.compute(exec, ask, false).await?);
            self.responses.insert(key, answer.clone()).await;
            return Ok(answer);
        }
        let computed = AtomicBool::new(false);
        let answer = self
            .responses
            .try_get_with(key, async {
                computed.store(true, Ordering::Relaxed);
                self.compute(exec, ask, true).await.map(Arc::new)
            })
            .await
            .map_err(ApiError::from_shared)?;
        let hit = !computed.load(Ordering::Relaxed);
        let result = if hit { "hit" } else { "miss" };
        exec.metrics
            .cache
            .with_label_values(&["response", result])
            .inc();
        if !hit {
            Ok(answer)
        } else {
            Ok(Arc::new(Answer {
                body: answer.body.clone(),
                doc: answer.doc.clone(),
                etag: answer.etag.clone(),
                source: Source::Cache,
                ttl: answer.ttl,
                settled: answer.settled,
                created: answer.created,
            }))
        }
    }

    async fn compute(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_>,
        use_segments: bool,
    ) -> Result<Answer, ApiError> {
        let req = ask.request;
        let grid = req.grid();
        let step = req.sampling.seconds();
        // Settled-bucket arithmetic assumes equal widths: local hours/days skip it.
        let use_segments = use_segments && grid.is_fixed();
        let (first, last, end) = bounds(req, ask.now);
        let from = req.from.ceil();
        // Whole buckets inside the window that are settled: [full_start, settled_end).
        let full_start = if grid.floor(from) == from {
            from
        } else {
            grid.next(grid.floor(from))
        };
        let settled_end = grid
            .floor(ask.now - self.settle_lag)
            .min(grid.floor(end + 1));
        let scope_key = scope_key(req, ask.account);

        let segment = match use_segments && full_start < settled_end {
            true => self.segments.get(&scope_key).await,
            false => None,
        }
        .filter(|s| s.start <= full_start && s.end(step) > full_start)
        .filter(|s| s.read_at.elapsed() < self.revalidate);
        if use_segments && full_start < settled_end {
            let result = if segment.is_some() { "hit" } else { "miss" };
            exec.metrics
                .cache
                .with_label_values(&["buckets", result])
                .inc();
        }

        let mut windows = Vec::new();
        let mut rows = Vec::new();
        let store_from = match &segment {
            Some(seg) => {
                let cached_end = seg.end(step).min(settled_end);
                if from < full_start {
                    windows.push(Window {
                        from,
                        to: full_start - 1,
                    });
                }
                if cached_end <= end {
                    windows.push(Window {
                        from: cached_end,
                        to: end,
                    });
                }
                let skip = ((full_start - seg.start) / step) as usize;
                let take = ((cached_end - full_start) / step) as usize;
                rows.extend(
                    seg.sums[skip..skip + take]
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (full_start + i as i64 * step, *s)),
                );
                cached_end
            }
            None => {
                if from <= end {
                    windows.push(Window { from, to: end });
                }
                full_start
            }
        };

        let mut path = Path::Raw;
        if !windows.is_empty() {
            let scope = Scope {
                endpoint: req.endpoint,
                account: ask.account,
                grid,
                filters: &req.filters,
            };
            let plan = plan::plan(scope, &windows, true);
            self.check_retention(&plan, ask.now)?;
            check_fallback_retention(exec, &plan, ask.now, self.raw_retention).await?;
            path = plan.path;
            rows.extend(exec.run(&plan).await?);
            rows.sort_unstable_by_key(|(t, _)| *t);
        }
        if grid.is_fixed() && store_from < settled_end {
            self.remember(scope_key, store_from, settled_end, step, &rows)
                .await;
        }

        let doc = document::build(&rows, first, last, grid);
        let body = Bytes::from(serde_json::to_vec(&doc).map_err(anyhow::Error::from)?);
        let settled = end < ask.now - self.settle_lag;
        Ok(Answer {
            etag: weak_etag(&body),
            body,
            doc: Arc::new(doc),
            source: match (segment.is_some(), path) {
                (true, _) => Source::Incremental,
                (false, Path::Rollup) => Source::Rollup,
                (false, Path::Raw) => Source::Raw,
            },
            ttl: if settled {
                self.settled_ttl
            } else {
                self.live_ttl
            },
            settled,
            created: Instant::now(),
        })
    }

    /// Records the sums of settled buckets `[from, to)` (absent rows are empty buckets),
    /// merging with what is known when the ranges touch.
    async fn remember(&self, key: ScopeKey, from: i64, to: i64, step: i64, rows: &[(i64, Sums)]) {
        let mut known: BTreeMap<i64, Sums> = BTreeMap::new();
        let mut read_at = Instant::now();
        if let Some(old) = self.segments.get(&key).await
            && old.start <= to
            && old.end(step) >= from
            && old.read_at.elapsed() < self.revalidate
        {
            read_at = old.read_at;
            known.extend(
                old.sums
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (old.start + i as i64 * step, *s)),
            );
        }
        let found: BTreeMap<i64, Sums> = rows
            .iter()
            .copied()
            .filter(|(t, _)| (from..to).contains(t))
            .collect();
        let mut t = from;
        while t < to {
            known.insert(t, found.get(&t).copied().unwrap_or_default());
            t += step;
        }
        // Keep the newest buckets within the response limit.
        let keep = usize::try_from(self.max_buckets).unwrap_or(usize::MAX);
        let sums: Vec<(i64, Sums)> = known.into_iter().collect();
        let tail = &sums[sums.len().saturating_sub(keep)..];
        if let Some((start, _)) = tail.first() {
            let segment = Segment {
                start: *start,
                sums: tail.iter().map(|(_, s)| *s).collect(),
                read_at,
            };
            self.segments.insert(key, Arc::new(segment)).await;
        }
    }
}

impl Stats {
    fn check_retention(&self, plan: &plan::Plan, now: i64) -> Result<(), ApiError> {
        check_retention(plan, now, self.raw_retention, self.rollup_retention)
    }
}

/// A plan reading raw CDRs (or a rollup) older than their retention (seconds, 0 = forever) would
/// answer zeros for data that was deleted: refuse it with a clear 400 instead.
pub(crate) fn check_retention(
    plan: &plan::Plan,
    now: i64,
    raw_retention: i64,
    rollup_retention: i64,
) -> Result<(), ApiError> {
    let expired = |from: Option<i64>, keep: i64| keep > 0 && from.is_some_and(|f| f < now - keep);
    if expired(plan.raw_from, raw_retention) {
        return Err(raw_expired(raw_retention));
    }
    if expired(plan.rollup_from, rollup_retention) {
        return Err(ApiError::BadRequest(format!(
            "statistics are kept {} days: from-time is older than that",
            rollup_retention / 86_400
        )));
    }
    Ok(())
}

/// Whole minutes older than raw retention are read from raw CDRs when the account-side's
/// rollups start later (or not at all): looked up only then (old windows are rare), the same
/// 400 as [`check_retention`].
pub(crate) async fn check_fallback_retention(
    exec: &Executor<'_>,
    plan: &plan::Plan,
    now: i64,
    raw_retention: i64,
) -> Result<(), ApiError> {
    let Some(from) = plan.rollup_from else {
        return Ok(());
    };
    if raw_retention == 0 || from >= now - raw_retention {
        return Ok(());
    }
    if exec.rollup_since(plan.side, plan.account).await? > from {
        return Err(raw_expired(raw_retention));
    }
    Ok(())
}

/// The 400 for a window that needs raw CDRs deleted by `RAW_RETENTION_DAYS`.
fn raw_expired(raw_retention: i64) -> ApiError {
    ApiError::BadRequest(format!(
        "raw CDRs are kept {} days: this window needs them before that (whole minutes \
         of accounts with rollups, without duration, price, auth-orig-ip or src-prefix \
         filters, are served longer)",
        raw_retention / 86_400
    ))
}

/// First bucket, last bucket and end second of a request answered at `now`.
fn bounds(req: &StatsRequest, now: i64) -> (i64, i64, i64) {
    let end = req.to.map_or(now, |t| t.floor().min(now));
    let grid = req.grid();
    (grid.floor(req.from.secs), grid.floor(end), end)
}

fn scope_key(req: &StatsRequest, account: u32) -> ScopeKey {
    let filters = req
        .filters
        .iter()
        .map(|(f, v)| format!("{}={v:?}", f.param))
        .collect::<Vec<_>>()
        .join("&");
    ScopeKey {
        endpoint: req.endpoint,
        account,
        sampling: req.sampling,
        time_zone: req.time_zone,
        filters,
    }
}

/// `W/"<128-bit digest hex>"` of the body.
pub fn weak_etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}
