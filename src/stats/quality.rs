//! The quality endpoints' family (`{termination,origination}-statistics-quality`): gap-filled
//! buckets of calls, ACD, ASR and CPS. Besides the response cache every family has, it keeps
//! the integer sums of *settled* buckets (ended longer than the settle lag ago), so a repeated
//! window asks ClickHouse only for the unsettled tail (and a partial first bucket) and
//! stitches; totals are recomputed from the sums, so numbers stay identical. Settled is not
//! forever: a CDR may arrive later than the settle lag, so cached sums are trusted for
//! `SETTLED_REVALIDATE_SECS` from when they were read, then read again — merging never extends
//! that age, so a late CDR shows within that time on every gateway, whichever replica it reads.

use super::document::{self, Document, bucket_count};
use super::metrics::Sums;
use super::params::StatsRequest;
use super::plan::{self, Path, Scope, Window};
use super::query::Executor;
use super::retention::Retention;
use super::table::{csv_header, to_csv, to_rows_json};
use super::time::Sampling;
use crate::answer::{Ask, Computed, Family, Source, check_bucket_limit};
use crate::config::Settings;
use crate::domain::Endpoint;
use crate::error::ApiError;
use moka::future::Cache;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

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
pub struct ResponseKey {
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

/// The quality family: its settled-bucket sums and the rules that plan a request.
pub struct Quality {
    segments: Cache<ScopeKey, Arc<Segment>>,
    settle_lag: i64,
    revalidate: Duration,
    retention: Retention,
    max_buckets: u64,
}

impl Quality {
    pub fn new(settings: &Settings) -> Self {
        Self {
            segments: Cache::builder()
                .max_capacity(settings.cache_mb.saturating_mul(1 << 20))
                .weigher(|_, s: &Arc<Segment>| {
                    u32::try_from(s.sums.len() * size_of::<Sums>() + 128).unwrap_or(u32::MAX)
                })
                .time_to_live(Duration::from_secs(settings.settled_revalidate_secs))
                .build(),
            settle_lag: settings.settle_lag_secs,
            revalidate: Duration::from_secs(settings.settled_revalidate_secs),
            retention: Retention::from_settings(settings),
            max_buckets: settings.max_buckets,
        }
    }
}

impl Family for Quality {
    type Request = StatsRequest;
    type Document = Document;
    type Key = ResponseKey;
    const CACHE_LABEL: &'static str = "response";

    fn parse(&self, endpoint: Endpoint, query: &str) -> Result<StatsRequest, ApiError> {
        StatsRequest::parse(endpoint, query)
    }

    fn account(request: &StatsRequest) -> Uuid {
        request.account
    }

    fn from_secs(request: &StatsRequest) -> Option<i64> {
        Some(request.from.secs)
    }

    /// `termination-7c61877c-…-20260415T184548Z-minute.csv`
    fn filename(endpoint: Endpoint, request: &StatsRequest) -> String {
        let from = super::time::rfc3339(request.from.secs).replace(['-', ':'], "");
        format!(
            "{}-{}-{from}-{}.csv",
            endpoint.name(),
            request.account,
            request.sampling.as_str()
        )
    }

    fn csv_header(_: &StatsRequest) -> String {
        csv_header::<Document>()
    }

    /// The normalized cache key, after the bucket-count check.
    fn key(&self, ask: &Ask<'_, StatsRequest>) -> Result<ResponseKey, ApiError> {
        let req = ask.request;
        let (first, last, end) = bounds(req, ask.now);
        let buckets = bucket_count(first, last, req.sampling.seconds());
        check_bucket_limit(buckets, self.max_buckets)?;
        Ok(ResponseKey {
            customer: ask.customer,
            scope: scope_key(req, ask.account),
            first,
            from: req.from.ceil(),
            to: req.to.map(|_| end),
        })
    }

    /// A request that bypasses the caches reads no cached settled sums either.
    async fn compute(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_, StatsRequest>,
    ) -> Result<Computed<Document>, ApiError> {
        self.compute_with(exec, ask, !ask.bypass).await
    }

    fn rows(doc: &Document) -> usize {
        doc.rows
    }

    fn to_rows_json(doc: &Document) -> Result<Vec<u8>, ApiError> {
        Ok(to_rows_json(doc))
    }

    fn to_csv(doc: &Document) -> Vec<u8> {
        to_csv(doc)
    }
}

impl Quality {
    async fn compute_with(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_, StatsRequest>,
        use_segments: bool,
    ) -> Result<Computed<Document>, ApiError> {
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
            let since = exec.rollup_since(req.endpoint, ask.account).await?;
            let plan = plan::plan(scope, &windows, since);
            self.retention.check(&plan, ask.now)?;
            path = plan.path;
            rows.extend(exec.run(&plan).await?);
            rows.sort_unstable_by_key(|(t, _)| *t);
        }
        if grid.is_fixed() && store_from < settled_end {
            self.remember(scope_key, store_from, settled_end, step, &rows)
                .await;
        }

        Ok(Computed {
            doc: document::build(&rows, first, last, grid),
            source: if segment.is_some() {
                Source::Incremental
            } else {
                path.into()
            },
            settled: end < ask.now - self.settle_lag,
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
