//! Runs a [`Plan`] on ClickHouse and reads the typed rows.

use super::metrics::Sums;
use super::plan::{Bind, Path, Plan};
use crate::db::to_api_error;
use crate::error::ApiError;
use crate::metrics::Metrics;
use clickhouse::Row;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// One row of the bucket queries; the column types are checked against the result header.
#[derive(Debug, Row, Deserialize)]
struct BucketRow {
    t: u32,
    total_calls: u64,
    answered: u64,
    duration_sum: i64,
}

/// Executes `plan` with `client` and returns (bucket start, sums) sorted by bucket.
pub async fn fetch_buckets(
    client: &clickhouse::Client,
    plan: &Plan,
) -> Result<Vec<(i64, Sums)>, clickhouse::error::Error> {
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
    let rows = query.fetch_all::<BucketRow>().await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                i64::from(r.t),
                Sums {
                    total_calls: r.total_calls,
                    answered: r.answered,
                    duration_sum: r.duration_sum,
                },
            )
        })
        .collect())
}

/// Runs plans for one request: its query id, server-side time limit, client deadline and
/// metrics.
pub struct Executor<'a> {
    pub client: clickhouse::Client,
    pub timeout_secs: u64,
    pub metrics: &'a Metrics,
}

impl<'a> Executor<'a> {
    /// A client whose queries carry `query_id` and `max_execution_time`.
    pub fn new(
        client: &clickhouse::Client,
        query_id: &str,
        timeout_secs: u64,
        metrics: &'a Metrics,
    ) -> Self {
        Self {
            client: client
                .clone()
                .with_setting("query_id", query_id)
                .with_setting("max_execution_time", timeout_secs.to_string()),
            timeout_secs,
            metrics,
        }
    }

    /// Runs `plan`; the server stops at max_execution_time, the client deadline is a safety net.
    pub async fn run(&self, plan: &Plan) -> Result<Vec<(i64, Sums)>, ApiError> {
        let path = match plan.path {
            Path::Rollup => "rollup",
            Path::Raw => "raw",
        };
        self.metrics.queries.with_label_values(&[path]).inc();
        let started = Instant::now();
        let deadline = Duration::from_secs(self.timeout_secs + 1);
        let result = tokio::time::timeout(deadline, fetch_buckets(&self.client, plan))
            .await
            .map_err(|_| ApiError::Timeout)
            .and_then(|r| r.map_err(to_api_error));
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
