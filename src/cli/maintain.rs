//! `cdrstats rollups maintain`: keeps the rollup listing current without an operator. One
//! process per deployment (beside the gateways, which stay read-only); every
//! `ROLLUP_MAINTAIN_INTERVAL_SECS` it
//!
//! 1. takes the lease (below), or skips the round when another process holds it;
//! 2. lists the account-sides averaging at least `ROLLUP_DENSE_PER_MINUTE` CDRs a minute over
//!    the last `ROLLUP_DENSE_DAYS` days, and backfills them (src/cli/listing.rs);
//! 3. lists again the account-sides an interrupted run left half-listed (`stopping`,
//!    `backfilling`) and finishes the unlistings it left (`unlisting`);
//! 4. unlists the listed account-sides that fell below `ROLLUP_UNLIST_PER_MINUTE` (lower than
//!    the listing threshold, so a side near it does not flap): gateways stop reading, the views
//!    stop, the rows are dropped.
//!
//! Every step is idempotent: a round interrupted anywhere is completed by the next, in this
//! process or another.
//!
//! Two processes: the lease is one row of `rollup_lease` (ReplacingMergeTree, the newest
//! `taken` wins). A process takes it when it is free, expired or its own, reads it back after
//! a pause, and works only when the row read back names it; while it works it renews the
//! lease every 100 s (it lasts 300 s), so a long backfill keeps it and a process that died
//! hands over within 300 s. Two processes that both found it free both read back the same
//! newest row, so one works. `rollups dense` and `rebuild` take the same lease.

use crate::cli::listing;
use crate::config::Settings;
use anyhow::Context;
use clickhouse::Row;
use serde::Deserialize;
use std::time::Duration;

/// Pause between writing the lease and reading it back: every contender's row is visible by then.
const LEASE_SETTLE: Duration = Duration::from_secs(1);

/// This process's name in the lease: host and process id, plus a random part.
pub fn holder() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}

#[derive(Row, Deserialize)]
struct Lease {
    holder: String,
    expires: u32,
}

/// Takes or renews the lease for `secs`; `Ok(false)` when another process holds it.
pub async fn take_lease(client: &clickhouse::Client, me: &str, secs: u32) -> anyhow::Result<bool> {
    let read = || async {
        client
            .query(
                "SELECT holder, toUInt32(expires) AS expires FROM rollup_lease FINAL \
                 WHERE name = 'maintain'",
            )
            .fetch_optional::<Lease>()
            .await
            .context("reading rollup_lease")
    };
    let now = listing::server_now(client).await?;
    if let Some(lease) = read().await?
        && lease.holder != me
        && lease.expires > now
    {
        return Ok(false);
    }
    client
        .query(
            "INSERT INTO rollup_lease (name, holder, expires) \
             SELECT 'maintain', {holder:String}, now() + {secs:UInt32}",
        )
        .param("holder", me)
        .param("secs", secs)
        .execute()
        .await
        .context("writing rollup_lease")?;
    tokio::time::sleep(LEASE_SETTLE).await;
    Ok(read().await?.is_some_and(|l| l.holder == me))
}

/// Gives the lease up (a `--once` round, a process stopping): the next process need not wait.
pub async fn release_lease(client: &clickhouse::Client, me: &str) -> anyhow::Result<()> {
    client
        .query(
            "INSERT INTO rollup_lease (name, holder, expires) \
             SELECT 'maintain', holder, toDateTime(0, 'UTC') FROM rollup_lease FINAL \
             WHERE name = 'maintain' AND holder = {holder:String}",
        )
        .param("holder", me)
        .execute()
        .await
        .context("releasing rollup_lease")
}

/// Seconds a lease lasts unless renewed; a holder renews it every third of that while it works.
const LEASE_SECS: u32 = 300;

/// Runs `work` while renewing `me`'s lease in the background (a backfill can outlast any fixed
/// lease); the renewal stops with the work.
async fn renewing<T>(
    client: &clickhouse::Client,
    me: &str,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let renew = {
        let client = client.clone();
        let me = me.to_owned();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(u64::from(LEASE_SECS / 3))).await;
                if let Err(e) = take_lease(&client, &me, LEASE_SECS).await {
                    tracing::warn!(error = %e, "renewing the rollup lease");
                }
            }
        })
    };
    let result = work.await;
    renew.abort();
    result
}

/// Runs `work` (a manual `dense` or `rebuild`) under the lease, so that it never interleaves
/// with a `maintain` round or another command re-listing the same account-sides.
pub async fn exclusively<T>(
    client: &clickhouse::Client,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let me = holder();
    if !take_lease(client, &me, LEASE_SECS).await? {
        anyhow::bail!(
            "another process (`rollups maintain`, or another command) holds the rollup lease \
             (rollup_lease): nothing changed; run again when it is done"
        );
    }
    let result = renewing(client, &me, work).await;
    release_lease(client, &me).await?;
    result
}

/// What one round did.
#[derive(Debug, Default)]
pub struct Round {
    pub leased: bool,
    pub listed: usize,
    pub unlisted: usize,
    pub backfilled_cdrs: u64,
}

/// Account-sides with at least `per_minute` CDRs a minute on average over the last `days` of
/// data (or all of it, when shorter).
pub async fn busy_sides(
    client: &clickhouse::Client,
    per_minute: f64,
    days: u32,
) -> anyhow::Result<Vec<(u8, u32)>> {
    client
        .query(
            "SELECT side, account_id FROM \
             (SELECT side, if(side = 0, vendor_acc_id, customer_acc_id) AS account_id, \
                     count() AS calls \
              FROM cdrs ARRAY JOIN [0, 1] AS side \
              WHERE (side = 0 OR is_last_cdr) \
                AND time_start > (SELECT max(time_start) FROM cdrs) - {secs:UInt32} \
              GROUP BY side, account_id \
              HAVING calls >= {min:Float64} / 60 * least({secs:UInt32}, \
                 dateDiff('second', (SELECT min(time_start) FROM cdrs), \
                          (SELECT max(time_start) FROM cdrs)) + 1)) \
             ORDER BY side, account_id",
        )
        .param("secs", days.saturating_mul(86_400))
        .param("min", per_minute)
        .fetch_all::<(u8, u32)>()
        .await
        .context("finding busy account-sides")
}

/// One round (see the module comment).
pub async fn round(
    settings: &Settings,
    client: &clickhouse::Client,
    me: &str,
) -> anyhow::Result<Round> {
    if !take_lease(client, me, LEASE_SECS).await? {
        return Ok(Round::default());
    }
    renewing(client, me, round_leased(settings, client)).await
}

/// A round once the lease is held (renewed in the background meanwhile).
async fn round_leased(settings: &Settings, client: &clickhouse::Client) -> anyhow::Result<Round> {
    let mut done = Round {
        leased: true,
        ..Round::default()
    };
    let days = settings.rollup_dense_days.max(1);
    let current = listing::read_all(client).await?;
    let dense = busy_sides(client, settings.rollup_dense_per_minute, days).await?;
    let mut list: Vec<(u8, u32)> = dense
        .iter()
        .copied()
        .filter(|(side, account)| {
            !current
                .iter()
                .any(|l| l.side == *side && l.account_id == *account && l.state == "listed")
                && !current
                    .iter()
                    .any(|l| l.side == *side && l.account_id == *account && l.state == "unlisting")
        })
        .collect();
    // Half-listed by an interrupted run, dense or not: listed again (an unlisting follows
    // below when they are not busy any more).
    for l in current
        .iter()
        .filter(|l| matches!(l.state.as_str(), "stopping" | "backfilling"))
    {
        if !list.contains(&(l.side, l.account_id)) {
            list.push((l.side, l.account_id));
        }
    }
    if !list.is_empty() {
        let from = crate::cli::listing::backfill_start(settings, client).await?;
        let listed = listing::relist(settings, client, false, &list, from).await?;
        done.listed = listed.sides;
        done.backfilled_cdrs = listed.cdrs;
    }
    let keep = busy_sides(client, settings.rollup_unlist_per_minute, days).await?;
    let current = listing::read_all(client).await?;
    let unlist: Vec<(u8, u32)> = current
        .iter()
        .filter(|l| {
            l.state == "unlisting"
                || (l.state == "listed" && !keep.contains(&(l.side, l.account_id)))
        })
        .map(|l| (l.side, l.account_id))
        .collect();
    done.unlisted = listing::unlist(settings, client, false, &unlist).await?;
    Ok(done)
}

/// Runs rounds forever (or one, with `once`), logging what each did.
pub async fn run(
    settings: &Settings,
    client: &clickhouse::Client,
    once: bool,
) -> anyhow::Result<String> {
    let me = holder();
    loop {
        let done = round(settings, client, &me).await;
        if once {
            release_lease(client, &me).await?;
        }
        let done = done?;
        let line = if done.leased {
            format!(
                "maintain: listed {} account-side(s) ({} CDRs backfilled), unlisted {}",
                done.listed, done.backfilled_cdrs, done.unlisted
            )
        } else {
            "maintain: another process holds the lease; nothing done".to_owned()
        };
        if once {
            return Ok(line);
        }
        tracing::info!(
            listed = done.listed,
            unlisted = done.unlisted,
            leased = done.leased,
            "{line}"
        );
        tokio::time::sleep(Duration::from_secs(
            settings.rollup_maintain_interval_secs.max(1),
        ))
        .await;
    }
}
