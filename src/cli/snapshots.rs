//! `cdrstats seed`, second half: `active_calls` snapshots consistent with the seeded CDRs,
//! derived from them by one `INSERT … SELECT` on the server (no second model of the traffic
//! to keep in step with the CDR generator; see `sql/seed_active_calls.sql`).

use crate::stats::time::clickhouse_datetime;
use anyhow::Context;

const SEED_ACTIVE_CALLS: &str = include_str!("../../sql/seed_active_calls.sql");

/// The table keeps snapshots this long (its TTL); older ones would be dropped on insert.
const RETENTION_SECS: i64 = 7 * 86_400;

/// Writes one snapshot a minute over `[start, end]` (at most the retention) of the answered
/// calls in `cdrs`, prints what it did, and returns the number of rows `active_calls` holds.
pub async fn derive(client: &clickhouse::Client, start: i64, end: i64) -> anyhow::Result<u64> {
    let started = std::time::Instant::now();
    let from = start.max(end - RETENTION_SECS + 3_600);
    client
        .query(SEED_ACTIVE_CALLS)
        .param("from", clickhouse_datetime(from))
        .param("end", clickhouse_datetime(end))
        .execute()
        .await
        .context("deriving active_calls snapshots from cdrs")?;
    let rows: u64 = client
        .query("SELECT count() FROM active_calls")
        .fetch_one()
        .await
        .context("counting active_calls")?;
    println!(
        "active_calls: {rows} snapshot rows derived from the seeded calls in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(rows)
}
