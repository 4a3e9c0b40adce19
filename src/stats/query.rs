//! Runs a [`Plan`] on ClickHouse and reads the typed rows.

use super::metrics::Sums;
use super::plan::{Bind, Plan};
use clickhouse::Row;
use serde::Deserialize;

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
