//! Listing account-sides for rollups, and backfilling them, while the pipeline inserts.
//!
//! The views roll a CDR up when its `cdrs.inserted_at` (filled by the server) lies in its
//! account-side's `[writes_from, writes_until)` of `rollup_accounts`
//! (schema/012_live_rollups.sql); a backfill reads exactly the listed CDRs outside that range.
//! The two are complementary predicates on one column, so every CDR is counted once, late ones
//! (an old `time_start` inserted now) included. A (re)listing of some account-sides from day `D`:
//!
//! 1. **Stop** the views of the sides that are rolled up: `since` = never (the gateways read raw
//!    CDRs within `ROLLUP_LISTING_TTL_SECS`), `writes_until` = `u` = now + that TTL + the
//!    commit margin, so the views keep writing for as long as a gateway may still read.
//! 2. After `u` + the insert settle time (no insert started before `u` is still running), drop
//!    their rollup rows from `D` on (`mutations_sync = 2`: done when the statement returns).
//!    Rows before `D` stay: read again only when they were complete (the side was listed with
//!    `since` <= `D`), with the CDRs inserted while the views were stopped backfilled below.
//! 3. **Start** the views: `writes_from` = `w` = now + the commit margin. Every CDR inserted at
//!    or after `w` was inserted after this row committed, so its view sees it (on a cluster,
//!    `SYSTEM SYNC REPLICA` makes every replica see it first; a change that took longer than
//!    the margin is refused and redone). `since` = the minute `w` + the clock-skew margin: from
//!    there the views alone are complete (barring CDRs stamped further ahead than the margin).
//! 4. After `w` + the settle time, **backfill** from raw CDRs the sides' CDRs inserted before
//!    `w` with `time_start` >= `D`, plus those inserted in `[u, w)` before `D`, a month at a
//!    time, with `insert_deduplicate = 0` (a backfilled block may repeat an earlier one).
//! 5. `since` = `D` (or the older `since` kept in step 2), state `listed`.
//!
//! A run interrupted anywhere leaves its sides `stopping` or `backfilling`; the next run lists
//! them again from step 1 (their minutes before `D` are then not read again). Partitions the
//! views write are never replaced.
//!
//! Unlisting is the same step 1, then the side's rows are dropped and it is left `unlisted`.

use crate::config::Settings;
use anyhow::{Context, bail};
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// 2106-01-01 00:00:00 UTC, "never" in `since`, `writes_from` and `writes_until`: a minute
/// boundary below DateTime's maximum, so the gateway's rounding up to a minute stays in range.
pub const NEVER: u32 = 4_291_747_200;

/// A GROUP BY of a backfill spills to disk beyond this many bytes.
const GROUP_BY_SPILL_BYTES: &str = "2000000000";

/// The waits of the listing protocol, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// `ROLLUP_INSERT_SETTLE_SECS`.
    pub settle: u32,
    /// `ROLLUP_COMMIT_MARGIN_SECS`.
    pub margin: u32,
    /// `ROLLUP_CLOCK_SKEW_SECS`.
    pub skew: u32,
    /// `ROLLUP_LISTING_TTL_SECS`: how long a gateway may keep reading an old `since`.
    pub listing_ttl: u32,
}

impl Timing {
    pub fn from_settings(s: &Settings) -> Self {
        let secs = |v: u64| u32::try_from(v).unwrap_or(u32::MAX / 4).min(86_400);
        Self {
            settle: secs(s.rollup_insert_settle_secs),
            margin: secs(s.rollup_commit_margin_secs).max(1),
            skew: secs(s.rollup_clock_skew_secs),
            listing_ttl: secs(s.rollup_listing_ttl_secs),
        }
    }
}

/// One row of `rollup_accounts`: an account-side's listing.
#[derive(Row, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub side: u8,
    pub account_id: u32,
    pub since: u32,
    pub writes_from: u32,
    pub writes_until: u32,
    pub state: String,
    pub backfill_from: u32,
    pub gap_from: u32,
    pub resume_since: u32,
    pub backfilled_at: u32,
    pub changed_at: u32,
}

impl Listing {
    /// Whether the views roll this side up now or will (its insertion range is open).
    fn writing(&self) -> bool {
        self.writes_from < self.writes_until && self.writes_until == NEVER
    }

    /// Listed, or on the way to it (an interrupted run leaves `stopping` / `backfilling`).
    pub fn is_listed(&self) -> bool {
        matches!(self.state.as_str(), "listed" | "backfilling" | "stopping")
    }

    fn new(side: u8, account_id: u32) -> Self {
        Self {
            side,
            account_id,
            since: NEVER,
            writes_from: NEVER,
            writes_until: NEVER,
            state: "unlisted".into(),
            backfill_from: NEVER,
            gap_from: NEVER,
            resume_since: NEVER,
            backfilled_at: 0,
            changed_at: 0,
        }
    }
}

const COLUMNS: &str = "side, account_id, toUInt32(since) AS since, \
     toUInt32(writes_from) AS writes_from, toUInt32(writes_until) AS writes_until, state, \
     toUInt32(backfill_from) AS backfill_from, toUInt32(gap_from) AS gap_from, \
     toUInt32(resume_since) AS resume_since, toUInt32(backfilled_at) AS backfilled_at, \
     toUInt32(changed_at) AS changed_at";

/// Every account-side's current listing row.
pub async fn read_all(client: &clickhouse::Client) -> anyhow::Result<Vec<Listing>> {
    client
        .query(&format!(
            "SELECT {COLUMNS} FROM rollup_accounts FINAL ORDER BY side, account_id"
        ))
        .fetch_all::<Listing>()
        .await
        .context("reading rollup_accounts")
}

async fn write(client: &clickhouse::Client, rows: &[Listing]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut insert = client
        .insert::<Listing>("rollup_accounts")
        .await
        .context("writing rollup_accounts")?;
    for row in rows {
        insert.write(row).await?;
    }
    insert.end().await.context("writing rollup_accounts")
}

/// The server's clock, unix seconds: every instant of the protocol is on this one clock.
pub async fn server_now(client: &clickhouse::Client) -> anyhow::Result<u32> {
    client
        .query("SELECT toUInt32(now())")
        .fetch_one()
        .await
        .context("reading the server's clock")
}

/// The first whole second at least `margin` seconds after the server's clock now: a change
/// committed before it was committed at least `margin` seconds after this call (the clock read
/// in whole seconds could leave as little as a millisecond).
async fn margin_after_now(client: &clickhouse::Client, margin: u32) -> anyhow::Result<u32> {
    let now_ms: u64 = client
        .query("SELECT toUInt64(toUnixTimestamp64Milli(now64(3)))")
        .fetch_one()
        .await
        .context("reading the server's clock")?;
    Ok(u32::try_from((now_ms + u64::from(margin) * 1000).div_ceil(1000)).unwrap_or(u32::MAX))
}

/// Sleeps until the server's clock reads at least `t`.
async fn wait_until(client: &clickhouse::Client, t: u32) -> anyhow::Result<()> {
    loop {
        let now = server_now(client).await?;
        if now >= t {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(
            (u64::from(t - now) * 1000).clamp(100, 1000),
        ))
        .await;
    }
}

/// On a cluster, waits until every replica of `rollup_accounts` holds what was written
/// (docs: sql-reference/statements/system, "SYSTEM SYNC REPLICA"); `urls` are the replicas
/// the deployment lists. A single server needs nothing.
async fn sync_replicas(settings: &Settings, cluster: bool) -> anyhow::Result<()> {
    if !cluster {
        return Ok(());
    }
    for url in settings.clickhouse_urls.clone() {
        crate::db::client(settings, &url, Some(&settings.clickhouse_database))
            .query("SYSTEM SYNC REPLICA rollup_accounts")
            .execute()
            .await
            .with_context(|| format!("SYSTEM SYNC REPLICA rollup_accounts on {url}"))?;
    }
    Ok(())
}

/// What a (re)listing did.
#[derive(Debug, Default)]
pub struct Listed {
    pub sides: usize,
    /// CDRs rolled up by the backfill (the rest came from the views).
    pub cdrs: u64,
    pub seconds: f64,
}

/// Lists `sides` from day start `from` (unix seconds), backfilling their CDRs from raw CDRs,
/// following the protocol in the module comment. Sides already listed are listed again: their
/// rollups from `from` on are recomputed.
pub async fn relist(
    settings: &Settings,
    client: &clickhouse::Client,
    cluster: bool,
    sides: &[(u8, u32)],
    from: u32,
) -> anyhow::Result<Listed> {
    let started = std::time::Instant::now();
    if sides.is_empty() {
        return Ok(Listed::default());
    }
    let timing = Timing::from_settings(settings);
    let current = read_all(client).await?;
    let find = |side: u8, account: u32| {
        current
            .iter()
            .find(|l| l.side == side && l.account_id == account)
            .cloned()
    };

    // 1. Stop the views of the sides rolled up now.
    let now = server_now(client).await?;
    let u = now + timing.listing_ttl + timing.margin;
    let mut stop_until = 0;
    let mut rows = Vec::new();
    for &(side, account) in sides {
        let old = find(side, account).unwrap_or_else(|| Listing::new(side, account));
        // Minutes before `from` stay complete only when the side was fully listed by then.
        let keep = old.state == "listed" && old.writing() && old.since <= from;
        let mut row = old.clone();
        row.since = NEVER;
        row.state = "stopping".into();
        row.resume_since = if keep { old.since } else { from };
        row.changed_at = now;
        if old.writing() {
            row.writes_until = u;
            stop_until = stop_until.max(u);
        } else if old.writes_until != NEVER {
            // Stopped by an interrupted run: its views write until then.
            stop_until = stop_until.max(old.writes_until);
        }
        row.gap_from = if keep { u } else { NEVER };
        rows.push(row);
    }
    write(client, &rows).await?;
    sync_replicas(settings, cluster).await?;

    // 2. Drop their rows from `from` on once no view writes them.
    if stop_until > 0 {
        wait_until(client, stop_until + timing.settle).await?;
    }
    for side in [0u8, 1] {
        let accounts: Vec<u32> = sides.iter().filter(|s| s.0 == side).map(|s| s.1).collect();
        if accounts.is_empty() {
            continue;
        }
        for rollup in crate::cli::derived::rollups() {
            let (table, time) = (rollup.table, rollup.time_column);
            let condition = format!(
                "side = {{side:UInt8}} AND has({{accounts:Array(UInt32)}}, account_id) \
                 AND {time} >= toDateTime({{from:UInt32}}, 'UTC')"
            );
            let present: u64 = client
                .query(&format!("SELECT count() FROM {table} WHERE {condition}"))
                .param("side", side)
                .param("accounts", &accounts)
                .param("from", from)
                .fetch_one()
                .await
                .with_context(|| format!("counting the re-listed rows of {table}"))?;
            if present == 0 {
                continue;
            }
            client
                .query(&format!(
                    "ALTER TABLE {table} DELETE WHERE {condition} SETTINGS mutations_sync = 2"
                ))
                .param("side", side)
                .param("accounts", &accounts)
                .param("from", from)
                .execute()
                .await
                .with_context(|| format!("dropping the re-listed rows of {table}"))?;
        }
    }

    // 3. Start the views.
    let now = server_now(client).await?;
    let w = margin_after_now(client, timing.margin).await?;
    let since_views = (w + timing.skew).div_ceil(60) * 60;
    for row in &mut rows {
        row.writes_from = w;
        row.writes_until = NEVER;
        row.since = since_views.max(row.resume_since);
        row.state = "backfilling".into();
        row.backfill_from = from;
        if row.gap_from == NEVER {
            row.gap_from = w;
        }
        row.changed_at = now;
    }
    write(client, &rows).await?;
    sync_replicas(settings, cluster).await?;
    let after = server_now(client).await?;
    if after >= w {
        bail!(
            "the listing took {} s to commit and reach every replica, more than \
             ROLLUP_COMMIT_MARGIN_SECS ({} s): run the command again (the account-sides are \
             answered from raw CDRs meanwhile)",
            after - now,
            timing.margin
        );
    }

    // 4. Backfill what the views did not write, once every insert before `w` committed.
    wait_until(client, w + timing.settle).await?;
    // Months before `from` hold only the CDRs inserted while kept sides' views were stopped.
    let any_gap = rows.iter().any(|r| r.gap_from < w);
    let rows_written = backfill(client, w, from, any_gap).await?;

    // 5. Read the rollups from `from` (or the older, still complete `since`).
    let now = server_now(client).await?;
    let current = read_all(client).await?;
    let done: Vec<Listing> = current
        .into_iter()
        .filter(|l| l.state == "backfilling" && l.writes_from == w)
        .map(|mut l| {
            l.since = l.resume_since;
            l.state = "listed".into();
            l.backfilled_at = now;
            l.changed_at = now;
            l
        })
        .collect();
    write(client, &done).await?;
    sync_replicas(settings, cluster).await?;
    Ok(Listed {
        sides: done.len(),
        cdrs: rows_written,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The backfill of the sides this run started writing at `w`: for every rollup table, the
/// CDRs the views did not roll up, a month at a time, from the month of `from` (or of the
/// oldest CDR, when `before_from`: a kept side's stopped gap may hold older minutes).
async fn backfill(
    client: &clickhouse::Client,
    w: u32,
    from: u32,
    before_from: bool,
) -> anyhow::Result<u64> {
    #[derive(Row, Deserialize)]
    struct Span {
        first: u32,
        last: u32,
    }
    let span: Span = client
        .query(
            "SELECT toUInt32(min(time_start)) AS first, toUInt32(max(time_start)) AS last \
             FROM cdrs",
        )
        .fetch_one()
        .await
        .context("reading the span of cdrs")?;
    let mut month = month_start(if before_from {
        span.first.min(from)
    } else {
        from
    });
    let end = span.last.max(from);
    let mut rows = 0;
    while month <= end {
        let next = next_month(month);
        rows += count_backfilled(client, w, month, next).await?;
        for table in crate::cli::derived::backfilled().map(|d| d.table) {
            let sql = crate::cli::derived::backfill_select(table)
                .with_context(|| format!("no backfill for {table}"))?;
            client
                .query(&format!("INSERT INTO {table} {sql}"))
                .param("w", w)
                .param("month_from", month)
                .param("month_to", next)
                .with_setting("insert_deduplicate", "0")
                .with_setting("max_bytes_before_external_group_by", GROUP_BY_SPILL_BYTES)
                // The ordered backfills sort a month of rollup rows.
                .with_setting("max_bytes_before_external_sort", GROUP_BY_SPILL_BYTES)
                .execute()
                .await
                .with_context(|| format!("backfilling {table}"))?;
        }
        month = next;
    }
    Ok(rows)
}

/// The CDRs a backfill of `month` covers (what it rolled up), for its report.
async fn count_backfilled(
    client: &clickhouse::Client,
    w: u32,
    month: u32,
    next: u32,
) -> anyhow::Result<u64> {
    client
        .query(&crate::cli::derived::backfill_count())
        .param("w", w)
        .param("month_from", month)
        .param("month_to", next)
        .fetch_one()
        .await
        .context("counting the backfilled CDRs")
}

/// The first second of the month holding `t`.
fn month_start(t: u32) -> u32 {
    use chrono::Datelike;
    let day = chrono::DateTime::from_timestamp(i64::from(t), 0)
        .unwrap_or_default()
        .date_naive();
    let first = day.with_day(1).unwrap_or(day);
    u32::try_from(
        first
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp(),
    )
    .unwrap_or(0)
}

/// The first second of the month after the one starting at `month`.
fn next_month(month: u32) -> u32 {
    month_start(month + 32 * 86_400)
}

/// Unlists `sides`: gateways stop reading first, the views stop writing once no gateway can
/// read any more, then the rows are dropped and the sides left `unlisted`.
pub async fn unlist(
    settings: &Settings,
    client: &clickhouse::Client,
    cluster: bool,
    sides: &[(u8, u32)],
) -> anyhow::Result<usize> {
    if sides.is_empty() {
        return Ok(0);
    }
    let timing = Timing::from_settings(settings);
    let current = read_all(client).await?;
    let now = server_now(client).await?;
    let u = now + timing.listing_ttl + timing.margin;
    let mut rows: Vec<Listing> = current
        .into_iter()
        .filter(|l| sides.contains(&(l.side, l.account_id)))
        .map(|mut l| {
            l.since = NEVER;
            l.state = "unlisting".into();
            if l.writing() {
                l.writes_until = u;
            }
            l.changed_at = now;
            l
        })
        .collect();
    let until = rows
        .iter()
        .map(|l| l.writes_until)
        .filter(|t| *t != NEVER)
        .max()
        .unwrap_or(0);
    write(client, &rows).await?;
    sync_replicas(settings, cluster).await?;
    wait_until(client, until + timing.settle).await?;
    for side in [0u8, 1] {
        let accounts: Vec<u32> = rows
            .iter()
            .filter(|l| l.side == side)
            .map(|l| l.account_id)
            .collect();
        if accounts.is_empty() {
            continue;
        }
        for table in crate::cli::derived::rollups().map(|d| d.table) {
            client
                .query(&format!(
                    "ALTER TABLE {table} DELETE WHERE side = {{side:UInt8}} \
                     AND has({{accounts:Array(UInt32)}}, account_id) \
                     SETTINGS mutations_sync = 2"
                ))
                .param("side", side)
                .param("accounts", &accounts)
                .execute()
                .await
                .with_context(|| format!("dropping the unlisted rows of {table}"))?;
        }
    }
    let now = server_now(client).await?;
    for row in &mut rows {
        row.state = "unlisted".into();
        row.writes_from = NEVER;
        row.writes_until = NEVER;
        row.changed_at = now;
    }
    write(client, &rows).await?;
    sync_replicas(settings, cluster).await?;
    Ok(rows.len())
}

/// Unix seconds of a day's first second.
pub fn day_start(day: chrono::NaiveDate) -> u32 {
    u32::try_from(
        day.and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp(),
    )
    .unwrap_or(0)
}

/// The first day whose raw CDRs are all still kept (`RAW_RETENTION_DAYS`), if limited.
pub fn first_kept_day(settings: &Settings, today: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
    (settings.raw_retention_days > 0)
        .then(|| today - chrono::Days::new(u64::from(settings.raw_retention_days) - 1))
}

/// Today by the server's clock.
pub async fn today(client: &clickhouse::Client) -> anyhow::Result<chrono::NaiveDate> {
    let now = server_now(client).await?;
    Ok(chrono::DateTime::from_timestamp(i64::from(now), 0)
        .unwrap_or_default()
        .date_naive())
}

/// Where a new listing's backfill starts: the day of the oldest raw CDR, or the first day raw
/// retention still keeps whole, whichever is later.
pub async fn backfill_start(
    settings: &Settings,
    client: &clickhouse::Client,
) -> anyhow::Result<u32> {
    let oldest: u32 = client
        .query("SELECT toUInt32(toStartOfDay(min(time_start))) FROM cdrs")
        .fetch_one()
        .await
        .context("reading the oldest CDR")?;
    let kept = first_kept_day(settings, today(client).await?).map_or(0, day_start);
    Ok(oldest.max(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_is_a_minute_that_rounds_up_within_datetime() {
        assert_eq!(NEVER % 60, 0);
        assert!(u64::from(NEVER) + 59 <= u64::from(u32::MAX));
        assert_eq!(
            chrono::DateTime::from_timestamp(i64::from(NEVER), 0)
                .expect("time")
                .to_rfc3339(),
            "2106-01-01T00:00:00+00:00"
        );
    }

    /// Every rollup read from raw CDRs has a backfill, and a rollup fed by another's view
    /// names one that is backfilled.
    #[test]
    fn every_rollup_is_backfilled_directly_or_through_the_view_feeding_it() {
        use crate::cli::derived::{DERIVED, backfill_select, backfilled, rollups};
        for rollup in rollups() {
            assert!(backfill_select(rollup.table).is_some(), "{}", rollup.table);
            if let Some(feeder) = rollup.fed_by {
                assert!(backfilled().any(|d| d.table == feeder), "{}", rollup.table);
            }
        }
        let tables: Vec<&str> = backfilled().map(|d| d.table).collect();
        assert_eq!(
            tables,
            [
                "rollup_minute_country",
                "rollup_minute_destination",
                "rollup_minute_disconnect"
            ]
        );
        assert_eq!(rollups().count(), DERIVED.len() - 1);
    }

    #[test]
    fn months_step_across_years() {
        let dec = 1_796_083_200; // 2026-12-01
        assert_eq!(month_start(dec + 86_400 * 20), dec);
        assert_eq!(next_month(dec), 1_798_761_600); // 2027-01-01
    }
}
