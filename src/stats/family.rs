//! The rest of the endpoint family (SPEC §6): one request type per response shape, one place
//! that parses, plans, runs and caches them. The quality endpoints keep their own service
//! (incremental settled buckets); these answers are cached whole, with the same TTL rules
//! (settled windows long, live windows briefly) and coalescing of identical misses.

use super::active::{self, ActiveDocument, ActiveRequest, MinuteRow};
use super::document::bucket_count;
use super::filters::{Endpoint, Shape};
use super::outgoing::{self, ActiveCall, OutgoingDocument, OutgoingRequest};
use super::plan::Path;
use super::query::Executor;
use super::service::{Source, kept_for_outage, outage_store, weak_etag};
use super::table::{csv_header, to_csv, to_rows_json};
use super::totals::{self, TotalsDocument, TotalsRequest, TotalsRow};
use crate::config::Settings;
use crate::error::ApiError;
use actix_web::web::Bytes;
use moka::Expiry;
use moka::future::Cache;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A validated request to one of the §6 endpoints.
#[derive(Clone, Debug, PartialEq)]
pub enum FamilyRequest {
    Totals(TotalsRequest),
    Active(ActiveRequest),
    Outgoing(OutgoingRequest),
}

impl FamilyRequest {
    /// Parses the query string of `endpoint` (not a quality endpoint: those have their own).
    pub fn parse(endpoint: Endpoint, query: &str) -> Result<Self, ApiError> {
        match endpoint.shape() {
            Shape::Statistics => TotalsRequest::parse(endpoint, query).map(Self::Totals),
            Shape::ActiveCalls => ActiveRequest::parse(endpoint, query).map(Self::Active),
            Shape::OutgoingActiveCalls => OutgoingRequest::parse(query).map(Self::Outgoing),
            Shape::Quality => Err(ApiError::NotFound),
        }
    }

    /// The `account-id` asked for.
    pub fn account(&self) -> Uuid {
        match self {
            Self::Totals(r) => r.account,
            Self::Active(r) => r.account,
            Self::Outgoing(r) => r.account,
        }
    }

    /// `from-time`, when the endpoint has one.
    pub fn from_secs(&self) -> Option<i64> {
        match self {
            Self::Totals(r) => Some(r.from.secs),
            Self::Active(r) => Some(r.from.secs),
            Self::Outgoing(_) => None,
        }
    }

    /// The end of the asked window at `now` (`None`: no window, always live).
    fn end(&self, now: i64) -> Option<i64> {
        match self {
            Self::Totals(r) => Some(r.window(now).to),
            Self::Active(r) => Some(r.window(now).to),
            Self::Outgoing(_) => None,
        }
    }

    /// The CSV header of this shape (the answer to a window that cannot hold data yet).
    pub fn csv_header(&self) -> String {
        match self {
            Self::Totals(_) => csv_header::<TotalsDocument>(),
            Self::Active(_) => csv_header::<ActiveDocument>(),
            Self::Outgoing(_) => outgoing::csv_header(),
        }
    }
}

/// A §6 document, kept beside its JSON body for the other representations.
#[derive(Debug)]
pub enum FamilyDocument {
    Totals(Box<TotalsDocument>),
    Active(ActiveDocument),
    Outgoing(OutgoingDocument),
}

impl FamilyDocument {
    /// Rows (buckets or calls) in the document.
    pub fn rows(&self) -> usize {
        match self {
            Self::Totals(d) => d.rows,
            Self::Active(d) => d.rows,
            Self::Outgoing(d) => d.rows,
        }
    }

    /// `format=rows` (SPEC §7).
    pub fn to_rows_json(&self) -> Result<Vec<u8>, ApiError> {
        Ok(match self {
            Self::Totals(d) => to_rows_json(d.as_ref()),
            Self::Active(d) => to_rows_json(d),
            Self::Outgoing(d) => d.to_rows_json().map_err(anyhow::Error::from)?,
        })
    }

    /// `format=csv` (SPEC §7).
    pub fn to_csv(&self) -> Vec<u8> {
        match self {
            Self::Totals(d) => to_csv(d.as_ref()),
            Self::Active(d) => to_csv(d),
            Self::Outgoing(d) => d.to_csv(),
        }
    }
}

/// A finished answer: the JSON body and the document for the other representations.
#[derive(Debug)]
pub struct Reply {
    pub body: Bytes,
    pub etag: String,
    pub doc: FamilyDocument,
    /// `outgoing-active-calls` cut the list at `MAX_ACTIVE_CALLS`.
    pub truncated: bool,
    /// Where it was computed: `Rollup` when the plan read a rollup, else `Raw`.
    source: Source,
    ttl: Duration,
    /// Every bucket ended more than `SETTLE_LAG_SECS` ago: kept to answer during an outage.
    settled: bool,
    /// When the body was computed (for `Age` on stale answers).
    pub created: Instant,
}

/// One request to answer.
pub struct FamilyAsk<'a> {
    pub request: &'a FamilyRequest,
    pub account: u32,
    pub customer: u32,
    pub now: i64,
    /// `Cache-Control: no-cache`: compute afresh (the result still refreshes the cache).
    pub bypass: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    customer: u32,
    account: u32,
    /// The validated request in canonical (Debug) form; an open window stays open here, so
    /// repeated "until now" requests share an entry for the live TTL.
    request: String,
}

struct PerEntryTtl;

impl Expiry<Key, Arc<Reply>> for PerEntryTtl {
    fn expire_after_create(&self, _: &Key, value: &Arc<Reply>, _: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Plans, runs and caches the §6 endpoints.
pub struct Family {
    cache: Cache<Key, Arc<Reply>>,
    /// Settled replies kept for `STALE_TTL_SECS`, answered when ClickHouse is unavailable (as
    /// for the quality endpoints: a past window's numbers do not change but for late CDRs).
    stale: Cache<Key, Arc<Reply>>,
    settle_lag: i64,
    settled_ttl: Duration,
    live_ttl: Duration,
    max_buckets: u64,
    max_active_calls: u32,
    /// `RAW_RETENTION_DAYS` and `ROLLUP_RETENTION_DAYS` in seconds (0 = forever): statistics
    /// read raw CDRs and rollups, and refuse windows needing what either has deleted.
    raw_retention: i64,
    rollup_retention: i64,
    /// `ACTIVE_CALLS_RETENTION_DAYS` in seconds: the snapshots' TTL.
    active_retention: i64,
    termination_duration: &'static str,
    origination_duration: &'static str,
}

impl Family {
    /// Settings were checked at start-up, so the duration columns are valid names.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        use super::filters::Side;
        Ok(Self {
            cache: Cache::builder()
                .max_capacity(settings.cache_mb.saturating_mul(1 << 20))
                .weigher(|_, r: &Arc<Reply>| u32::try_from(r.body.len() + 256).unwrap_or(u32::MAX))
                .expire_after(PerEntryTtl)
                .build(),
            stale: outage_store(settings, |r: &Reply| r.body.len()),
            settle_lag: settings.settle_lag_secs,
            // A settled answer is re-read after SETTLED_REVALIDATE_SECS, so a CDR arriving later
            // than the settle lag still shows (as for the quality endpoints).
            settled_ttl: Duration::from_secs(
                settings
                    .cache_settled_ttl_secs
                    .min(settings.settled_revalidate_secs),
            ),
            live_ttl: Duration::from_secs(settings.cache_live_ttl_secs),
            max_buckets: settings.max_buckets,
            max_active_calls: settings.max_active_calls,
            raw_retention: i64::from(settings.raw_retention_days) * 86_400,
            rollup_retention: i64::from(settings.rollup_retention_days) * 86_400,
            active_retention: i64::from(settings.active_calls_retention_days) * 86_400,
            termination_duration: settings.duration_column(Side::Termination)?,
            origination_duration: settings.duration_column(Side::Origination)?,
        })
    }

    /// Answers `ask` from the cache when allowed, else from ClickHouse (identical concurrent
    /// misses run one query); when ClickHouse is unavailable, from a kept settled reply.
    pub async fn answer(
        &self,
        exec: &Executor<'_>,
        ask: &FamilyAsk<'_>,
    ) -> Result<(Arc<Reply>, Source), ApiError> {
        self.check_size(ask)?;
        let key = Key {
            customer: ask.customer,
            account: ask.account,
            request: format!("{:?}", ask.request),
        };
        match self.answer_key(exec, ask, key.clone()).await {
            Err(ApiError::Unavailable(why)) => {
                let kept = kept_for_outage(&self.stale, &key, exec, why).await?;
                Ok((kept, Source::Stale))
            }
            Ok((reply, source)) => {
                if reply.settled && source != Source::Cache {
                    self.stale.insert(key, reply.clone()).await;
                }
                Ok((reply, source))
            }
            Err(e) => Err(e),
        }
    }

    async fn answer_key(
        &self,
        exec: &Executor<'_>,
        ask: &FamilyAsk<'_>,
        key: Key,
    ) -> Result<(Arc<Reply>, Source), ApiError> {
        if ask.bypass {
            let reply = Arc::new(self.compute(exec, ask).await?);
            self.cache.insert(key, reply.clone()).await;
            let source = reply.source;
            return Ok((reply, source));
        }
        let computed = AtomicBool::new(false);
        let reply = self
            .cache
            .try_get_with(key, async {
                computed.store(true, Ordering::Relaxed);
                self.compute(exec, ask).await.map(Arc::new)
            })
            .await
            .map_err(ApiError::from_shared)?;
        let hit = !computed.load(Ordering::Relaxed);
        exec.metrics
            .cache
            .with_label_values(&["family", if hit { "hit" } else { "miss" }])
            .inc();
        let source = if hit { Source::Cache } else { reply.source };
        Ok((reply, source))
    }

    /// The bucket limit, before any query.
    fn check_size(&self, ask: &FamilyAsk<'_>) -> Result<(), ApiError> {
        let buckets = match ask.request {
            FamilyRequest::Totals(r) => r.bucket_count(ask.now),
            FamilyRequest::Active(r) => {
                let (first, last) = r.buckets(ask.now);
                bucket_count(first, last, 60)
            }
            FamilyRequest::Outgoing(_) => 0,
        };
        if buckets > self.max_buckets {
            return Err(ApiError::TooManyBuckets {
                buckets,
                limit: self.max_buckets,
            });
        }
        Ok(())
    }

    async fn compute(&self, exec: &Executor<'_>, ask: &FamilyAsk<'_>) -> Result<Reply, ApiError> {
        let mut source = Source::Raw;
        let (body, doc, truncated) = match ask.request {
            FamilyRequest::Totals(r) => {
                let column = match r.endpoint.side() {
                    super::filters::Side::Termination => self.termination_duration,
                    super::filters::Side::Origination => self.origination_duration,
                };
                let plan = totals::plan(r, ask.account, r.window(ask.now), column, true);
                super::service::check_retention(
                    &plan,
                    ask.now,
                    self.raw_retention,
                    self.rollup_retention,
                )?;
                super::service::check_fallback_retention(exec, &plan, ask.now, self.raw_retention)
                    .await?;
                let rows = exec.rows::<TotalsRow>(&plan).await?;
                if plan.path == Path::Rollup {
                    source = Source::Rollup;
                }
                let doc = totals::build(&rows, r.time_zone);
                (json(&doc)?, FamilyDocument::Totals(Box::new(doc)), false)
            }
            FamilyRequest::Active(r) => {
                active::check_retention(r.window(ask.now), ask.now, self.active_retention)?;
                let plan = active::plan(r, ask.account, r.window(ask.now));
                let rows = exec.rows::<MinuteRow>(&plan).await?;
                let (first, last) = r.buckets(ask.now);
                let doc = active::build(&rows, first, last);
                (json(&doc)?, FamilyDocument::Active(doc), false)
            }
            FamilyRequest::Outgoing(r) => {
                let cap = self.max_active_calls;
                let plan = outgoing::plan(r, ask.customer, ask.account, cap);
                let calls = exec.rows::<ActiveCall>(&plan).await?;
                let doc = outgoing::build(calls, cap);
                let truncated = doc.truncated;
                (json(&doc)?, FamilyDocument::Outgoing(doc), truncated)
            }
        };
        let settled = ask
            .request
            .end(ask.now)
            .is_some_and(|end| end < ask.now - self.settle_lag);
        Ok(Reply {
            etag: weak_etag(&body),
            body,
            doc,
            truncated,
            source,
            ttl: if settled {
                self.settled_ttl
            } else {
                self.live_ttl
            },
            settled,
            created: Instant::now(),
        })
    }
}

fn json<T: Serialize>(doc: &T) -> Result<Bytes, ApiError> {
    Ok(Bytes::from(
        serde_json::to_vec(doc).map_err(anyhow::Error::from)?,
    ))
}
