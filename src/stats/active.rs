//! `termination-active-calls` / `origination-active-calls`: calls in progress per minute, one
//! bucket per minute of the window (0 when no snapshot was taken).

use super::filters::Filter;
use super::params::{RawParams, Value};
use super::plan::{self, Bind, Plan, Window};
use super::table::{Cell, Tabular};
use super::time::{Instant, Sampling};
use crate::domain::Endpoint;
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::document::bucket_count;
use super::query::Executor;
use super::table::{csv_header, to_csv, to_rows_json};
use crate::answer::{Ask, Computed, Family, RequestKey, Source, check_bucket_limit};
use crate::config::Settings;
use crate::error::ApiError;

/// The active-calls endpoints' family.
pub struct ActiveCalls {
    settle_lag: i64,
    max_buckets: u64,
    /// `ACTIVE_CALLS_RETENTION_DAYS` in seconds: the snapshots' TTL.
    retention: i64,
}

impl ActiveCalls {
    pub fn new(settings: &Settings) -> Self {
        Self {
            settle_lag: settings.settle_lag_secs,
            max_buckets: settings.max_buckets,
            retention: i64::from(settings.active_calls_retention_days) * 86_400,
        }
    }
}

impl Family for ActiveCalls {
    type Request = ActiveRequest;
    type Document = ActiveDocument;
    type Key = RequestKey;
    const CACHE_LABEL: &'static str = "family";

    fn parse(&self, endpoint: Endpoint, query: &str) -> Result<ActiveRequest, ApiError> {
        ActiveRequest::parse(endpoint, query)
    }

    fn account(request: &ActiveRequest) -> Uuid {
        request.account
    }

    fn from_secs(request: &ActiveRequest) -> Option<i64> {
        Some(request.from.secs)
    }

    fn csv_header(_: &ActiveRequest) -> String {
        csv_header::<ActiveDocument>()
    }

    fn key(&self, ask: &Ask<'_, ActiveRequest>) -> Result<RequestKey, ApiError> {
        let (first, last) = ask.request.buckets(ask.now);
        let buckets = bucket_count(first, last, MINUTE);
        check_bucket_limit(buckets, self.max_buckets)?;
        Ok(RequestKey::of(ask))
    }

    async fn compute(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_, ActiveRequest>,
    ) -> Result<Computed<ActiveDocument>, ApiError> {
        let r = ask.request;
        let window = r.window(ask.now);
        check_retention(window, ask.now, self.retention)?;
        let rows = exec
            .rows::<MinuteRow>(&plan(r, ask.account, window))
            .await?;
        let (first, last) = r.buckets(ask.now);
        Ok(Computed {
            doc: build(&rows, first, last),
            source: Source::Raw,
            settled: window.to < ask.now - self.settle_lag,
        })
    }

    fn rows(doc: &ActiveDocument) -> usize {
        doc.rows
    }

    fn to_rows_json(doc: &ActiveDocument) -> Result<Vec<u8>, ApiError> {
        Ok(to_rows_json(doc))
    }

    fn to_csv(doc: &ActiveDocument) -> Vec<u8> {
        to_csv(doc)
    }
}

const ACTIVE_CALLS: &str = include_str!("../../sql/active_calls.sql");

const REQUIRED: [&str; 2] = ["account-id", "from-time"];
const SCALARS: [&str; 3] = ["account-id", "from-time", "to-time"];
const MINUTE: i64 = 60;

/// A validated request to an active-calls endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveRequest {
    pub endpoint: Endpoint,
    pub account: Uuid,
    pub from: Instant,
    pub to: Option<Instant>,
    pub filters: Vec<(&'static Filter, Value)>,
}

impl ActiveRequest {
    /// Parses the query string; errors in the contract's order (arrays, missing, values).
    pub fn parse(endpoint: Endpoint, query: &str) -> Result<Self, ApiError> {
        let raw = RawParams::collect(endpoint, query, &SCALARS)?;
        raw.require(&REQUIRED)?;
        let account = raw.account()?;
        let (from, to) = raw.window()?;
        Ok(Self {
            endpoint,
            account,
            from,
            to,
            filters: raw.filters()?,
        })
    }

    /// The snapshot window `[from, end]` answered at `now`.
    pub fn window(&self, now: i64) -> Window {
        Window {
            from: self.from.ceil(),
            to: self.to.map_or(now, |t| t.floor().min(now)),
        }
    }

    /// First and last minute bucket.
    pub fn buckets(&self, now: i64) -> (i64, i64) {
        (
            Sampling::Minute.floor(self.from.secs),
            Sampling::Minute.floor(self.window(now).to),
        )
    }
}

/// A window starting before the oldest snapshot still kept (`keep_secs`, 0 = forever) would
/// answer zeros for snapshots the TTL deleted: a clear 400 instead, as for raw CDRs.
pub fn check_retention(window: Window, now: i64, keep_secs: i64) -> Result<(), ApiError> {
    if keep_secs > 0 && window.from < now - keep_secs {
        return Err(ApiError::BadRequest(format!(
            "active-call snapshots are kept {} days: from-time is older than that",
            keep_secs / 86_400
        )));
    }
    Ok(())
}

/// The SQL for `request` over `window` for `account`.
pub fn plan(request: &ActiveRequest, account: u32, window: Window) -> Plan {
    let mut binds = vec![("account".to_owned(), Bind::UInt32(account))];
    // Both range lists bind the same window under their own names.
    let calls = plan::ranges(
        "snapshot_timestamp",
        &plan::bind_windows("r", &[window], &mut binds),
    );
    let snapshots = plan::ranges(
        "snapshot_timestamp",
        &plan::bind_windows("s", &[window], &mut binds),
    );
    let conditions = plan::filter_conditions(&request.filters, &mut binds);
    let sql = ACTIVE_CALLS
        .replacen("%RANGES%", &calls, 1)
        .replacen("%RANGES%", &snapshots, 1)
        .replace("%ACCOUNT_COLUMN%", request.endpoint.account_column())
        .replace("%CONDITIONS%", conditions.trim_end());
    Plan::raw_only(sql, binds)
}

/// Calls of one minute as ClickHouse returns them.
#[derive(Clone, Debug, Row, Deserialize)]
pub struct MinuteRow {
    pub t: u32,
    pub calls: u64,
}

/// The response body of an active-calls endpoint (no totals: a sum of concurrent calls means
/// nothing).
#[derive(Debug, Serialize, PartialEq)]
pub struct ActiveDocument {
    pub data: ActiveColumns,
    pub rows: usize,
}

/// `t` and `calls`, index-aligned by minute.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct ActiveColumns {
    pub t: Vec<i64>,
    pub calls: Vec<u64>,
}

/// Minutes `first..=last` with the counts found in `rows` (sorted); minutes without a row are 0.
pub fn build(rows: &[MinuteRow], first: i64, last: i64) -> ActiveDocument {
    let mut data = ActiveColumns::default();
    let mut rows = rows.iter().peekable();
    let mut t = first;
    while t <= last {
        while rows.next_if(|r| i64::from(r.t) < t).is_some() {}
        let calls = rows.next_if(|r| i64::from(r.t) == t).map_or(0, |r| r.calls);
        data.t.push(t);
        data.calls.push(calls);
        t += MINUTE;
    }
    ActiveDocument {
        rows: data.t.len(),
        data,
    }
}

impl Tabular for ActiveDocument {
    const COLUMNS: &'static [&'static str] = &["calls"];

    fn zone(&self) -> Option<chrono_tz::Tz> {
        None
    }

    fn buckets(&self) -> usize {
        self.rows
    }

    fn bucket(&self, i: usize) -> (i64, Vec<Cell<'_>>) {
        let calls = i64::try_from(self.data.calls[i]).unwrap_or(i64::MAX);
        (self.data.t[i], vec![Cell::Int(calls)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_older_than_the_snapshots_ttl_is_refused() {
        let now = 1_800_000_000;
        let week = 7 * 86_400;
        let window = |from| Window { from, to: now };
        assert!(check_retention(window(now - week), now, week).is_ok());
        let err = check_retention(window(now - week - 1), now, week).expect_err("refused");
        assert!(
            matches!(&err, ApiError::BadRequest(m) if m.contains("kept 7 days")),
            "{err:?}"
        );
        assert!(check_retention(window(0), now, 0).is_ok());
    }

    #[test]
    fn minutes_without_a_snapshot_are_zero() {
        let rows = [MinuteRow { t: 120, calls: 7 }];
        let doc = build(&rows, 60, 180);
        assert_eq!(
            serde_json::to_string(&doc).expect("json"),
            r#"{"data":{"t":[60,120,180],"calls":[0,7,0]},"rows":3}"#
        );
    }

    #[test]
    fn filters_and_window_are_bound_not_spliced() {
        let q = "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2026-04-15&dst-prefix-routing-contains=%27x&vendor-price-gt=1";
        let req = ActiveRequest::parse(Endpoint::TerminationActiveCalls, q).expect("valid");
        let p = plan(&req, 7, req.window(1_776_300_000));
        assert!(p.sql.contains("WHERE vendor_acc_id = {account:UInt32}"));
        assert!(
            p.sql
                .contains("positionCaseInsensitiveUTF8(dst_prefix_routing, {f_dst_prefix_routing_contains:String}) > 0")
        );
        assert!(p.sql.contains("vendor_price > {f_vendor_price_gt:Float64}"));
        assert!(!p.sql.contains('%') && !p.sql.contains('?') && !p.sql.contains("'x"));
        assert!(p.binds.iter().any(|(n, _)| n == "s0_from"));
    }
}
