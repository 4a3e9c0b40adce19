//! Runs a [`Plan`] on ClickHouse and reads the typed rows.

use super::listing::Listing;
use super::metrics::Sums;
use super::plan::{self, Bind, Plan, ROLLUP_SINCE_LOOKUP};
use crate::db::{Failure, Replicas};
use crate::domain::Endpoint;
use crate::error::ApiError;
use crate::limits::{Class, Limits};
use crate::metrics::Metrics;
use crate::watermark::Watermark;
use clickhouse::Row;
use clickhouse::{RowOwned, RowRead};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One row of a part of the bucket queries (sql/part_raw.sql, sql/part_rollup.sql); the column
/// types are checked against the result header.
#[derive(Debug, Row, Deserialize)]
struct BucketRow {
    t: u32,
    #[serde(rename = "c")]
    total_calls: u64,
    #[serde(rename = "a")]
    answered: u64,
    #[serde(rename = "d")]
    duration_sum: i64,
}

impl BucketRow {
    fn into_sums(self) -> (i64, Sums) {
        (
            i64::from(self.t),
            Sums {
                total_calls: self.total_calls,
                answered: self.answered,
                duration_sum: self.duration_sum,
            },
        )
    }
}

/// Executes `plan` with `client` and returns (bucket start, sums) sorted by bucket.
pub async fn fetch_buckets(
    client: &clickhouse::Client,
    plan: &Plan,
) -> Result<Vec<(i64, Sums)>, clickhouse::error::Error> {
    let rows = fetch_rows::<BucketRow>(client, plan).await?;
    Ok(bucket_sums(rows))
}

/// The rows of a bucket query as (bucket start, sums), one per bucket, sorted by bucket.
fn bucket_sums(rows: Vec<BucketRow>) -> Vec<(i64, Sums)> {
    per_bucket(
        rows.into_iter().map(BucketRow::into_sums).collect(),
        |(t, _)| *t,
        |(_, sums), (_, more)| *sums += *more,
    )
}

/// `rows` added up per bucket and sorted by bucket. A series query is the union of its parts
/// (raw CDRs, a rollup), each grouped by bucket over its own time ranges, so a bucket spanning
/// the parts' ranges has a row from each: adding them here is exact (integer sums) and spares
/// the engine a second aggregation of the union.
pub fn per_bucket<R, K: Ord + Copy>(
    mut rows: Vec<R>,
    bucket: impl Fn(&R) -> K,
    add: impl Fn(&mut R, &R),
) -> Vec<R> {
    rows.sort_by_key(|r| bucket(r));
    let mut out: Vec<R> = Vec::with_capacity(rows.len());
    for row in rows {
        match out.last_mut() {
            Some(last) if bucket(last) == bucket(&row) => add(last, &row),
            _ => out.push(row),
        }
    }
    out
}

/// Executes `plan` with `client` and reads its rows as `R` (any typed result shape).
pub async fn fetch_rows<R>(
    client: &clickhouse::Client,
    plan: &Plan,
) -> Result<Vec<R>, clickhouse::error::Error>
where
    R: RowOwned + RowRead,
{
    let mut query = client.query(&plan.sql);
    for (name, value) in &plan.binds {
        query = match value {
            Bind::UInt8(v) => query.param(name, v),
            Bind::UInt32(v) => query.param(name, v),
            Bind::Int32(v) => query.param(name, v),
            Bind::Float64(v) => query.param(name, v),
            Bind::Text(v) => query.param(name, v),
        };
    }
    query.fetch_all::<R>().await
}

/// What the statistics queries of every request need, shared by the handlers as their own
/// `web::Data<Backend>`.
pub struct Backend {
    pub db: Arc<Replicas>,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    /// Which account-sides are rolled up from when, reused briefly.
    pub listing: Listing,
    /// The newest CDR per account, for the `x-cdrstats-watermark` header.
    pub watermark: Arc<Watermark>,
    /// Server-side `max_execution_time` and client deadline of a query.
    pub timeout_secs: u64,
    /// `CLICKHOUSE_SETTINGS`, sent with every query.
    pub extra_settings: Vec<(String, String)>,
}

impl Backend {
    /// Runs the queries of one request of traffic class `class`.
    pub fn executor(&self, request_id: String, class: Class) -> Executor<'_> {
        Executor {
            db: &self.db,
            limits: &self.limits,
            class,
            metrics: &self.metrics,
            request_id,
            timeout_secs: self.timeout_secs,
            extra_settings: &self.extra_settings,
            listing: &self.listing,
        }
    }
}

/// Runs plans for one request: server-side time limit, client deadline, the class's query
/// slots, replica failover and metrics. Each ClickHouse query gets its own `query_id` (see
/// `db::Replicas`); the request id travels as `log_comment`, so `system.query_log` finds every
/// query of a request, and the gateway logs both ids side by side.
pub struct Executor<'a> {
    pub db: &'a Replicas,
    pub limits: &'a Limits,
    pub class: Class,
    pub metrics: &'a Metrics,
    /// The request's id (`X-Request-Id`), never used as a ClickHouse query id.
    pub request_id: String,
    pub timeout_secs: u64,
    /// `CLICKHOUSE_SETTINGS`, sent with every query.
    pub extra_settings: &'a [(String, String)],
    /// Which account-sides are rolled up from when, reused briefly.
    pub listing: &'a Listing,
}

/// Settings `CLICKHOUSE_SETTINGS` may not override: read-only mode and the per-attempt query id
/// (set on every gateway client by `db`), and the request id tag.
const FIXED: [&str; 3] = ["readonly", "query_id", "log_comment"];

/// The settings of one statistics query, on top of the client's `readonly` and `query_id`.
pub fn query_settings(
    request_id: &str,
    timeout_secs: u64,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let mut settings = vec![("max_execution_time".to_owned(), timeout_secs.to_string())];
    settings.extend(
        extra
            .iter()
            .filter(|(name, _)| !FIXED.contains(&name.as_str()))
            .cloned(),
    );
    settings.push(("log_comment".to_owned(), request_id.to_owned()));
    settings
}

impl Executor<'_> {
    /// Runs the bucket query `plan`: (bucket start, sums), one per bucket, sorted. The server
    /// stops it at `max_execution_time`, and real ClickHouse also when our connection drops
    /// (deadline passed, client gone); the client deadline is a safety net.
    pub async fn run(&self, plan: &Plan) -> Result<Vec<(i64, Sums)>, ApiError> {
        Ok(bucket_sums(self.rows::<BucketRow>(plan).await?))
    }

    /// Runs `plan` like [`Self::run`] and reads its rows as `R`.
    pub async fn rows<R>(&self, plan: &Plan) -> Result<Vec<R>, ApiError>
    where
        R: RowOwned + RowRead,
    {
        let _slot = self.limits.query_slot(self.class).await?;
        let path = plan.path.as_str();
        self.metrics.queries.with_label_values(&[path]).inc();
        let started = Instant::now();
        let deadline = Duration::from_secs(self.timeout_secs + 1);
        let settings = query_settings(&self.request_id, self.timeout_secs, self.extra_settings);
        let attempt = |client: clickhouse::Client, query_id: &str| {
            tracing::debug!(request_id = %self.request_id, query_id, path, "statistics query");
            let client = settings
                .iter()
                .fold(client, |c, (name, value)| c.with_setting(name, value));
            async move { fetch_rows::<R>(&client, plan).await }
        };
        let result = tokio::time::timeout(deadline, self.db.read_with_id(attempt))
            .await
            .map_err(|_| ApiError::Timeout)
            .and_then(|r| r.map_err(Failure::into_api));
        self.metrics
            .query_seconds
            .with_label_values(&[path])
            .observe(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            let kind = match e {
                ApiError::Timeout => "timeout",
                ApiError::Unavailable(_) => "unavailable",
                _ => "other",
            };
            self.metrics.query_errors.with_label_values(&[kind]).inc();
        }
        result
    }
}

/// The unix second from which `account`'s rollups of `side` are complete (2106 when the
/// account-side is not rolled up), read from `rollup_accounts`.
pub async fn look_up_since(
    client: &clickhouse::Client,
    side: u8,
    account: u32,
) -> Result<i64, clickhouse::error::Error> {
    client
        .query(ROLLUP_SINCE_LOOKUP)
        .param("side", side)
        .param("account", account)
        .fetch_one::<i64>()
        .await
}

impl Executor<'_> {
    /// The unix second from which `account`'s rollups of `endpoint`'s side are complete (2106
    /// when the account-side is not rolled up), from the listing (`stats::listing`).
    pub async fn rollup_since(&self, endpoint: Endpoint, account: u32) -> Result<i64, ApiError> {
        let side = plan::side(endpoint);
        self.listing
            .since(side, account, self.look_up_since(side, account))
            .await
    }

    async fn look_up_since(&self, side: u8, account: u32) -> Result<i64, ApiError> {
        let _slot = self.limits.query_slot(self.class).await?;
        let settings = query_settings(&self.request_id, self.timeout_secs, self.extra_settings);
        let attempt = |client: clickhouse::Client, _query_id: &str| {
            let client = settings
                .iter()
                .fold(client, |c, (name, value)| c.with_setting(name, value));
            async move { look_up_since(&client, side, account).await }
        };
        tokio::time::timeout(
            Duration::from_secs(self.timeout_secs + 1),
            self.db.read_with_id(attempt),
        )
        .await
        .map_err(|_| ApiError::Timeout)
        .and_then(|r| r.map_err(Failure::into_api))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums(total_calls: u64, answered: u64, duration_sum: i64) -> Sums {
        Sums::of(total_calls, answered, duration_sum)
    }

    #[test]
    fn the_parts_rows_of_a_bucket_are_added_up_and_buckets_sorted() {
        // An hour bucket with a raw edge and rollup minutes, as the union returns them.
        let rows = vec![
            BucketRow {
                t: 7200,
                total_calls: 4,
                answered: 3,
                duration_sum: 30,
            },
            BucketRow {
                t: 3600,
                total_calls: 2,
                answered: 1,
                duration_sum: 9,
            },
            BucketRow {
                t: 7200,
                total_calls: 5,
                answered: 0,
                duration_sum: 0,
            },
        ];
        assert_eq!(
            bucket_sums(rows),
            vec![(3600, sums(2, 1, 9)), (7200, sums(9, 3, 30))]
        );
    }

    #[test]
    fn the_request_id_is_a_log_comment_and_operators_may_tune_the_rest() {
        let extra = [
            ("max_execution_time".to_owned(), "2".to_owned()),
            ("readonly".to_owned(), "0".to_owned()),
            ("query_id".to_owned(), "fixed".to_owned()),
        ];
        let settings = query_settings("req-1", 10, &extra);
        let get = |name: &str| {
            settings
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("log_comment"), Some("req-1"));
        assert_eq!(get("max_execution_time"), Some("2"), "the last value wins");
        assert_eq!(
            get("query_id"),
            None,
            "query ids are per attempt, set by db::Replicas"
        );
        assert_eq!(
            get("readonly"),
            None,
            "read-only mode is not for operators to lift"
        );
    }
}
