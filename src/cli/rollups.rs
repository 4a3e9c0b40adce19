//! `cdrstats rollups rebuild | verify`: the tables derived from `cdrs` (the origination copy and
//! the rollups) treated as managed data.
//!
//! - `rebuild --from D --to D` recomputes every derived table one partition (a month, widened
//!   to whole months) at a time: the month is built aside in `<table>__rebuild` one day at a
//!   time (one day's GROUP BY, spilling to disk past [`GROUP_BY_SPILL_BYTES`]: bounded memory),
//!   then swapped in with `ALTER TABLE ... REPLACE PARTITION`, atomic per partition (docs:
//!   sql-reference/statements/alter/partition, "REPLACE PARTITION"). Re-running gives the same
//!   result (idempotent); an interrupted run of the same range skips the months it already
//!   swapped (resumable, progress in `rollup_rebuild_progress`).
//! - `verify --from D --to D` compares, per day and side, the sums of raw CDRs with those of
//!   every derived table (calls, answered, duration, and calls weighted by account and by minute,
//!   so rows counted under the wrong account or minute show too). Differences → exit 1.
//!
//! On a cluster (`cdrs` is Distributed) `verify` reads the Distributed tables, whose sums are
//! global, so it runs unchanged (checked against the local engine's single server only: no
//! cluster runs in this project's tests); `rebuild` refuses, see [`refuse_rebuild_on_cluster`].
//!
//! Caveat: CDRs inserted for a month *while that month is being rebuilt* reach the live table
//! through the views and are then replaced by the aside copy; rebuild months the pipeline no
//! longer writes (or `verify` the last days afterwards and rebuild again).

use crate::config::Settings;
use crate::db;
use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate};
use clickhouse::Row;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// A day's GROUP BY spills to disk beyond this many bytes, so a rebuild's memory stays bounded
/// whatever the day's volume.
const GROUP_BY_SPILL_BYTES: &str = "2000000000";

/// A table derived from `cdrs`: how to compute it for a set of CDRs. The materialized view in
/// `schema/` computes the same (a unit test compares the text); `rollup_minute` is fed by a view
/// of `rollup_minute_country` there, and from raw CDRs here (the same sums).
#[derive(Debug)]
pub struct Derived {
    pub table: &'static str,
    /// The time column, partitioned by month (`toYYYYMM`).
    pub time_column: &'static str,
    /// `SELECT ... FROM cdrs [ARRAY JOIN ...]`.
    head: &'static str,
    /// The view's own WHERE condition, if any.
    condition: Option<&'static str>,
    /// `GROUP BY ...` or empty.
    tail: &'static str,
    /// Per-day checksum expressions: side, calls, answered, duration, account, minute.
    check: [&'static str; 6],
}

const ROLLUP_CHECK: [&str; 6] = [
    "side",
    "total_calls",
    "answered",
    "duration_sum",
    "account_id",
    "minute",
];

/// Every derived table, in rebuild order.
pub static DERIVED: &[Derived] = &[
    Derived {
        table: "cdrs_by_customer",
        time_column: "time_start",
        // The view's SELECT as schema/020_breakdown.sql left it (MODIFY QUERY).
        head: "SELECT time_start, customer_acc_id, duration, src_country_id, dst_country_id,
       src_prefix_routing, dst_prefix_routing, auth_orig_ip, customer_price,
       dst_network_id, lega_disconnect_code, lega_disconnect_reason, pdd
FROM cdrs",
        condition: Some("is_last_cdr"),
        tail: "",
        check: [
            "toUInt8(1)",
            "toUInt64(1)",
            "toUInt64(duration > 0)",
            "if(duration > 0, toInt64(duration), 0)",
            "customer_acc_id",
            "toStartOfMinute(time_start)",
        ],
    },
    Derived {
        table: "rollup_minute_country",
        time_column: "minute",
        head: ROLLUP_COUNTRY_HEAD,
        condition: Some(LISTED),
        tail: "GROUP BY side, account_id, dst_country_id, src_country_id, minute",
        check: ROLLUP_CHECK,
    },
    Derived {
        table: "rollup_minute",
        time_column: "minute",
        head: "SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum,
       sum(toInt64(duration)) AS full_duration_sum,
       sum(toInt64(if(side = 0, vendor_duration, customer_duration))) AS billed_duration_sum,
       sum(toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000)) AS price_micros
FROM cdrs
ARRAY JOIN [0, 1] AS side",
        condition: Some(LISTED),
        tail: "GROUP BY side, account_id, minute",
        check: ROLLUP_CHECK,
    },
    Derived {
        table: "rollup_minute_dst_prefix",
        time_column: "minute",
        head: "SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       dst_prefix_routing,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum,
       sum(toInt64(duration)) AS full_duration_sum,
       sum(toInt64(if(side = 0, vendor_duration, customer_duration))) AS billed_duration_sum,
       sum(toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000)) AS price_micros
FROM cdrs
ARRAY JOIN [0, 1] AS side",
        condition: Some(LISTED),
        tail: "GROUP BY side, account_id, dst_prefix_routing, minute",
        check: ROLLUP_CHECK,
    },
];

/// The rollup views' condition: both sides, only the listed account-sides
/// (`schema/005_rollup_accounts.sql`).
const LISTED: &str = "(side = 0 OR is_last_cdr) AND (side, account_id) IN (SELECT side, account_id FROM rollup_accounts)";

/// Joins `r` (with `side`, `account_id`) to its account-side's listing `l` (`l.since` rounded
/// up to a minute, as the gateway reads it).
const LISTED_JOIN: &str = "INNER JOIN (SELECT side, account_id, \
     toDateTime(intDiv(toUInt32(since) + 59, 60) * 60, 'UTC') AS since \
     FROM rollup_accounts FINAL) AS l ON r.side = l.side AND r.account_id = l.account_id";

const ROLLUP_COUNTRY_HEAD: &str = "SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       dst_country_id,
       src_country_id,
       toStartOfMinute(time_start) AS minute,
       count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum,
       sum(toInt64(duration)) AS full_duration_sum,
       sum(toInt64(if(side = 0, vendor_duration, customer_duration))) AS billed_duration_sum,
       sum(toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000)) AS price_micros
FROM cdrs
ARRAY JOIN [0, 1] AS side";

/// The raw truth in the same checksum shape (both sides from one scan).
const RAW_CHECK: [&str; 6] = [
    "side",
    "toUInt64(1)",
    "toUInt64(duration > 0)",
    "if(duration > 0, toInt64(duration), 0)",
    "if(side = 0, vendor_acc_id, customer_acc_id)",
    "toStartOfMinute(time_start)",
];

impl Derived {
    /// The view's SELECT over every CDR, as in `schema/`.
    pub fn view_select(&self) -> String {
        let mut sql = self.head.to_owned();
        if let Some(c) = self.condition {
            sql.push_str("\nWHERE ");
            sql.push_str(c);
        }
        if !self.tail.is_empty() {
            sql.push('\n');
            sql.push_str(self.tail);
        }
        sql
    }

    /// The SELECT over one day of CDRs (`{from:DateTime}` inclusive, `{to:DateTime}` exclusive).
    fn day_select(&self) -> String {
        let day = "time_start >= {from:DateTime('UTC')} AND time_start < {to:DateTime('UTC')}";
        let condition = match self.condition {
            Some(c) => format!("({c}) AND {day}"),
            None => day.to_owned(),
        };
        format!("{}\nWHERE {condition}\n{}", self.head, self.tail)
    }

    /// Whether only listed account-sides are derived (the rollups), not every CDR.
    pub fn listed_only(&self) -> bool {
        self.condition == Some(LISTED)
    }

    fn aside(&self) -> String {
        format!("{}__rebuild", self.table)
    }
}

/// `cdrstats rollups ...`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum RollupsCommand {
    /// Recompute every derived table from raw CDRs, day by day (atomic per day, resumable).
    Rebuild(Range),
    /// Compare raw CDRs with every derived table per day; exit 1 listing the differing days.
    Verify(Range),
    /// List the account-sides busy enough to roll up (rollups from the next minute on; run
    /// `rebuild` afterwards for their past).
    Dense(DenseArgs),
}

/// Which account-sides `rollups dense` lists.
#[derive(Debug, Clone, clap::Args)]
pub struct DenseArgs {
    /// Average CDRs per minute (on the side counted) at or above which an account-side is listed.
    #[arg(long, default_value_t = 10.0)]
    pub min_per_minute: f64,
    /// Days of data the average is taken over, ending at the newest CDR.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
}

/// An inclusive range of UTC days.
#[derive(Debug, Clone, clap::Args)]
pub struct Range {
    /// First day, YYYY-MM-DD (UTC).
    #[arg(long)]
    pub from: NaiveDate,
    /// Last day, YYYY-MM-DD (UTC), inclusive.
    #[arg(long)]
    pub to: NaiveDate,
}

impl Range {
    /// The partitions (months) the range touches, each as the list of its days.
    fn months(&self) -> anyhow::Result<Vec<Vec<NaiveDate>>> {
        let mut months: Vec<Vec<NaiveDate>> = Vec::new();
        for day in self.days()? {
            let first = day.with_day(1).unwrap_or(day);
            if months.last().and_then(|m| m.first()) != Some(&first) {
                months.push(
                    first
                        .iter_days()
                        .take_while(|d| d.month() == first.month())
                        .collect(),
                );
            }
        }
        Ok(months)
    }

    fn days(&self) -> anyhow::Result<Vec<NaiveDate>> {
        if self.to < self.from {
            bail!("--to {} is before --from {}", self.to, self.from);
        }
        Ok(self
            .from
            .iter_days()
            .take_while(|d| *d <= self.to)
            .collect())
    }
}

/// True when `cdrs` is a Distributed table: the database was migrated with
/// `migrate --cluster` (schema/cluster/).
pub async fn is_cluster(client: &clickhouse::Client) -> anyhow::Result<bool> {
    let engine = client
        .query(
            "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'cdrs'",
        )
        .fetch_optional::<String>()
        .await
        .context("reading the engine of cdrs")?;
    Ok(engine.as_deref() == Some("Distributed"))
}

/// `rebuild` refuses a cluster. It swaps partitions of single-server tables; on a cluster a
/// derived row lives on its account's shard and draws on CDRs of every shard (origination rows
/// follow the customer, raw CDRs the vendor), so no shard can rebuild its partition alone and
/// REPLACE PARTITION does not apply to the Distributed tables.
pub fn refuse_rebuild_on_cluster(cluster: bool) -> anyhow::Result<()> {
    if cluster {
        bail!(
            "cdrs is a Distributed table (a cluster migrated with `migrate --cluster`): \
             `rollups rebuild` works on a single server only and changed nothing. Rebuild on a \
             cluster as schema/cluster/README.md (\"Rebuilding derived tables\") describes, then \
             run `cdrstats rollups verify`, which works on a cluster"
        );
    }
    Ok(())
}

/// Runs a `rollups` subcommand; `Ok(text)` is the report to print.
pub async fn run(settings: &Settings, command: &RollupsCommand) -> anyhow::Result<String> {
    let url = settings.clickhouse_urls[0].clone();
    let client = db::client(settings, &url, Some(&settings.clickhouse_database));
    match command {
        RollupsCommand::Rebuild(range) => {
            refuse_rebuild_on_cluster(is_cluster(&client).await?)?;
            rebuild(&client, range).await
        }
        RollupsCommand::Dense(args) => dense(&client, args).await,
        RollupsCommand::Verify(range) => {
            let report = verify(&client, range).await?;
            if report.differing.is_empty() {
                Ok(report.text)
            } else {
                println!("{}", report.text);
                bail!("{} day(s) differ", report.differing.len())
            }
        }
    }
}

const PROGRESS_TABLE: &str = "CREATE TABLE IF NOT EXISTS rollup_rebuild_progress \
     (run String, tbl String, day Date, rows UInt64, done_at DateTime('UTC') DEFAULT now()) \
     ENGINE = ReplacingMergeTree ORDER BY (run, tbl, day)";

#[derive(Row, Deserialize)]
struct Done {
    tbl: String,
    day: String,
}

/// The partition id of the month holding `day` (`toYYYYMM`).
fn partition_id(day: NaiveDate) -> String {
    day.format("%Y%m").to_string()
}

/// `YYYYMMDD` of a day, as verify's per-day keys.
fn day_id(day: NaiveDate) -> u32 {
    day.year().unsigned_abs() * 10_000 + day.month() * 100 + day.day()
}

fn day_bounds(day: NaiveDate) -> (String, String) {
    let next = day.succ_opt().unwrap_or(day);
    (format!("{day} 00:00:00"), format!("{next} 00:00:00"))
}

async fn rebuild(client: &clickhouse::Client, range: &Range) -> anyhow::Result<String> {
    let months = range.months()?;
    let run_key = format!("{}..{}", range.from, range.to);
    client
        .query(PROGRESS_TABLE)
        .execute()
        .await
        .context("creating rollup_rebuild_progress")?;
    let done: Vec<(String, NaiveDate)> = client
        .query(
            "SELECT tbl, toString(day) AS day FROM rollup_rebuild_progress FINAL \
             WHERE run = {run:String}",
        )
        .param("run", &run_key)
        .fetch_all::<Done>()
        .await
        .context("reading rebuild progress")?
        .into_iter()
        .filter_map(|d| Some((d.tbl, d.day.parse().ok()?)))
        .collect();
    if !done.is_empty() {
        eprintln!(
            "resuming {run_key}: {} of {} table-months already swapped",
            done.len(),
            months.len() * DERIVED.len()
        );
    }
    for derived in DERIVED {
        // Same columns, engine, partitioning and order: REPLACE PARTITION requires it.
        let aside = derived.aside();
        client
            .query(&format!(
                "CREATE TABLE IF NOT EXISTS {aside} AS {}",
                derived.table
            ))
            .execute()
            .await
            .with_context(|| format!("creating {aside}"))?;
    }

    let days_total: usize = months.iter().map(Vec::len).sum();
    let bar = ProgressBar::new((days_total * DERIVED.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} table-days ({msg}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut rows_total = 0u64;
    for month in &months {
        let first = month[0];
        for derived in DERIVED {
            if done.iter().any(|(t, d)| t == derived.table && *d == first) {
                bar.inc(month.len() as u64);
                continue;
            }
            let rows = rebuild_partition(client, derived, month, &bar)
                .await
                .with_context(|| format!("rebuilding {} for {first}", derived.table))?;
            rows_total += rows;
            client
                .query(
                    "INSERT INTO rollup_rebuild_progress (run, tbl, day, rows) \
                     SELECT {run:String}, {tbl:String}, {day:Date}, {rows:UInt64}",
                )
                .param("run", &run_key)
                .param("tbl", derived.table)
                .param("day", first.to_string())
                .param("rows", rows)
                .execute()
                .await
                .context("recording rebuild progress")?;
        }
    }
    bar.finish_and_clear();
    // A finished run forgets its progress: running it again rebuilds again (idempotent).
    client
        .query("ALTER TABLE rollup_rebuild_progress DELETE WHERE run = {run:String}")
        .param("run", &run_key)
        .execute()
        .await
        .context("clearing rebuild progress")?;
    // The listed account-sides whose rollups now hold every month rebuilt up to their
    // `since` are complete from the first rebuilt day on.
    if let (Some(first), Some(last)) = (
        months.first().and_then(|m| m.first()),
        months.last().and_then(|m| m.last()),
    ) {
        let (from, _) = day_bounds(*first);
        let (_, end) = day_bounds(*last);
        client
            .query(
                "INSERT INTO rollup_accounts (side, account_id, since) \
                 SELECT side, account_id, {from:DateTime('UTC')} FROM rollup_accounts FINAL \
                 WHERE since > {from:DateTime('UTC')} AND since <= {end:DateTime('UTC')}",
            )
            .param("from", &from)
            .param("end", &end)
            .execute()
            .await
            .context("moving rollup_accounts.since back to the rebuilt range")?;
    }
    for derived in DERIVED {
        client
            .query(&format!("DROP TABLE IF EXISTS {}", derived.aside()))
            .execute()
            .await
            .with_context(|| format!("dropping {}", derived.aside()))?;
    }
    let (first, last) = (
        months.first().and_then(|m| m.first()),
        months.last().and_then(|m| m.last()),
    );
    Ok(format!(
        "rebuilt {} table(s) for {} month(s) ({} .. {}): {rows_total} rows written in {:.1} s",
        DERIVED.len(),
        months.len(),
        first.map(ToString::to_string).unwrap_or_default(),
        last.map(ToString::to_string).unwrap_or_default(),
        started.elapsed().as_secs_f64()
    ))
}

/// Lists the account-sides averaging at least `min_per_minute` CDRs over the last `days` of
/// data (or all of it, when shorter) that are not listed yet, with `since` = the next minute: the views roll them up from
/// then on, and the gateway reads their rollups from then on.
async fn dense(client: &clickhouse::Client, args: &DenseArgs) -> anyhow::Result<String> {
    if !(args.min_per_minute.is_finite() && args.min_per_minute > 0.0) || args.days == 0 {
        bail!("--min-per-minute must be positive and --days at least 1");
    }
    let listed_before: u64 = client
        .query("SELECT count() FROM rollup_accounts FINAL")
        .fetch_one()
        .await
        .context("counting rollup_accounts")?;
    client
        .query(
            "INSERT INTO rollup_accounts (side, account_id, since) \
             SELECT side, account_id, toStartOfMinute(now()) + 60 FROM \
             (SELECT side, if(side = 0, vendor_acc_id, customer_acc_id) AS account_id, \
                     count() AS calls \
              FROM cdrs ARRAY JOIN [0, 1] AS side \
              WHERE (side = 0 OR is_last_cdr) \
                AND time_start > (SELECT max(time_start) FROM cdrs) - {secs:UInt32} \
              GROUP BY side, account_id \
              HAVING calls >= {min:Float64} / 60 * least({secs:UInt32}, \
                 dateDiff('second', (SELECT min(time_start) FROM cdrs), \
                          (SELECT max(time_start) FROM cdrs)) + 1)) \
             WHERE (side, account_id) NOT IN (SELECT side, account_id FROM rollup_accounts)",
        )
        .param("secs", args.days * 86_400)
        .param("min", args.min_per_minute)
        .execute()
        .await
        .context("listing dense account-sides")?;
    let listed: u64 = client
        .query("SELECT count() FROM rollup_accounts FINAL")
        .fetch_one()
        .await
        .context("counting rollup_accounts")?;
    Ok(format!(
        "listed {} account-side(s) averaging >= {} CDRs/minute over {} day(s) ({listed} listed \
         in all); run `cdrstats rollups rebuild` to roll up their past",
        listed - listed_before,
        args.min_per_minute,
        args.days
    ))
}

/// Builds one month (partition) of `derived` aside, a day at a time, and swaps it in; returns
/// the rows built.
async fn rebuild_partition(
    client: &clickhouse::Client,
    derived: &Derived,
    month: &[NaiveDate],
    bar: &ProgressBar,
) -> anyhow::Result<u64> {
    let aside = derived.aside();
    client
        .query(&format!("TRUNCATE TABLE {aside}"))
        .execute()
        .await?;
    for day in month {
        bar.set_message(format!("{} {day}", derived.table));
        let (from, to) = day_bounds(*day);
        client
            .query(&format!("INSERT INTO {aside} {}", derived.day_select()))
            .param("from", &from)
            .param("to", &to)
            .with_setting("max_bytes_before_external_group_by", GROUP_BY_SPILL_BYTES)
            .execute()
            .await?;
        bar.inc(1);
    }
    let day = month[0];
    let rows: u64 = client
        .query(&format!("SELECT count() FROM {aside}"))
        .fetch_one()
        .await?;
    // The partition id is our own YYYYMM of a parsed date, never request text.
    let partition = partition_id(day);
    let swap = if rows > 0 {
        format!(
            "ALTER TABLE {} REPLACE PARTITION ID '{partition}' FROM {aside}",
            derived.table
        )
    } else {
        // Nothing raw that month: the derived month must be empty too.
        format!(
            "ALTER TABLE {} DROP PARTITION ID '{partition}'",
            derived.table
        )
    };
    client.query(&swap).execute().await?;
    Ok(rows)
}

/// Sums of one day and side.
#[derive(Row, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
struct DaySums {
    day: u32,
    side: u8,
    s_calls: u64,
    s_answered: u64,
    s_duration: i64,
    s_account: u64,
    s_minute: u64,
}

/// What `verify` found.
pub struct VerifyReport {
    pub text: String,
    /// The days (YYYYMMDD) where some derived table differs from raw CDRs.
    pub differing: Vec<u32>,
}

/// `SELECT day, side, sums FROM source` in the checksum shape, one row per (day, side).
/// `condition`, if any, is ANDed to the time bounds. The query is flat (no subquery), so on a
/// cluster each shard aggregates its own rows and sends one row per day and side.
fn check_query(
    source: &str,
    time: &str,
    e: &[&str; 6],
    weighted: bool,
    condition: Option<&str>,
) -> String {
    // Rollup rows carry counts; raw rows count 1 each. Weighting by the row's calls makes the
    // account and minute checksums comparable between the two.
    let w = if weighted { e[1] } else { "1" };
    format!(
        "SELECT toYYYYMMDD({time}) AS day, toUInt8({}) AS side, \
         toUInt64(sum({})) AS s_calls, toUInt64(sum({})) AS s_answered, \
         toInt64(sum({})) AS s_duration, \
         toUInt64(sum(toUInt64({}) * {w})) AS s_account, \
         toUInt64(sum(toUInt64(toUnixTimestamp({})) % 1000003 * {w})) AS s_minute \
         FROM {source} \
         WHERE {time} >= {{from:DateTime('UTC')}} AND {time} < {{to:DateTime('UTC')}}{} \
         GROUP BY day, side ORDER BY day, side",
        e[0],
        e[1],
        e[2],
        e[3],
        e[4],
        e[5],
        condition.map(|c| format!(" AND ({c})")).unwrap_or_default()
    )
}

/// A verification row, keyed by its day and side.
trait PerDaySide: clickhouse::RowOwned + clickhouse::RowRead {
    fn key(&self) -> (u32, u8);
}

impl PerDaySide for DaySums {
    fn key(&self) -> (u32, u8) {
        (self.day, self.side)
    }
}

impl PerDaySide for FamilySums {
    fn key(&self) -> (u32, u8) {
        (self.day, self.side)
    }
}

/// Runs a per-day, per-side sum query over `range` (whole UTC days).
async fn per_day_side<R: PerDaySide>(
    client: &clickhouse::Client,
    sql: &str,
    range: &Range,
) -> anyhow::Result<BTreeMap<(u32, u8), R>> {
    let (from, _) = day_bounds(range.from);
    let (_, to) = day_bounds(range.to);
    Ok(client
        .query(sql)
        .param("from", &from)
        .param("to", &to)
        .fetch_all::<R>()
        .await?
        .into_iter()
        .map(|s| (s.key(), s))
        .collect())
}

/// The statistics sums of raw CDRs (each CDR's `duration`, billed duration, price in millionths
/// rounded as the views round it), in [`family_query`]'s order.
const RAW_FAMILY: [&str; 3] = [
    "toInt64(duration)",
    "toInt64(if(side = 0, vendor_duration, customer_duration))",
    "toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000)",
];

/// The same sums of a rollup.
const ROLLUP_FAMILY: [&str; 3] = ["full_duration_sum", "billed_duration_sum", "price_micros"];

/// Per-day, per-side duration and price sums of the statistics endpoints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Row, Deserialize)]
struct FamilySums {
    day: u32,
    side: u8,
    s_full: i64,
    s_billed: i64,
    s_price: i64,
}

fn family_query(source: &str, time: &str, e: &[&str; 3]) -> String {
    format!(
        "SELECT toYYYYMMDD({time}) AS day, toUInt8(side) AS side, \
         toInt64(sum({})) AS s_full, toInt64(sum({})) AS s_billed, toInt64(sum({})) AS s_price \
         FROM {source} \
         WHERE {time} >= {{from:DateTime('UTC')}} AND {time} < {{to:DateTime('UTC')}} \
         GROUP BY day, side ORDER BY day, side",
        e[0], e[1], e[2]
    )
}

async fn verify(client: &clickhouse::Client, range: &Range) -> anyhow::Result<VerifyReport> {
    let days = range.days()?;
    let started = Instant::now();
    // Both sides from one scan, as the views do: every CDR for the origination copy, the
    // listed account-sides from their `since` on for the rollups (only that is ever read).
    let raw_source = "(SELECT side, vendor_acc_id, customer_acc_id, duration, time_start, \
                      vendor_duration, customer_duration, vendor_price, customer_price \
                      FROM cdrs ARRAY JOIN [0, 1] AS side WHERE side = 0 OR is_last_cdr)";
    // The same rows as `raw_source`, as one flat query so that on a cluster each shard
    // aggregates its own CDRs.
    let raw_sql = check_query(
        "cdrs ARRAY JOIN [0, 1] AS side",
        "time_start",
        &RAW_CHECK,
        false,
        Some("side = 0 OR is_last_cdr"),
    );
    let raw = per_day_side::<DaySums>(client, &raw_sql, range)
        .await
        .context("summing raw cdrs")?;
    let listed_raw = format!(
        "(SELECT r.side AS side, r.vendor_acc_id AS vendor_acc_id, \
         r.customer_acc_id AS customer_acc_id, r.duration AS duration, \
         r.time_start AS time_start, r.vendor_duration AS vendor_duration, \
         r.customer_duration AS customer_duration, r.vendor_price AS vendor_price, \
         r.customer_price AS customer_price FROM (SELECT *, if(side = 0, vendor_acc_id, \
         customer_acc_id) AS account_id FROM {raw_source}) AS r {LISTED_JOIN} \
         WHERE r.time_start >= l.since)"
    );
    let listed_raw_sql = check_query(&listed_raw, "time_start", &RAW_CHECK, false, None);
    let listed = per_day_side::<DaySums>(client, &listed_raw_sql, range)
        .await
        .context("summing raw cdrs of the listed accounts")?;
    let mut differing = std::collections::BTreeSet::new();
    let mut lines = Vec::new();
    for derived in DERIVED {
        let weighted = derived.check[1] != "toUInt64(1)";
        let (source, raw) = if derived.listed_only() {
            (
                format!(
                    "(SELECT r.side AS side, r.account_id AS account_id, \
                     r.total_calls AS total_calls, r.answered AS answered, \
                     r.duration_sum AS duration_sum, r.minute AS minute \
                     FROM {} AS r {LISTED_JOIN} WHERE r.minute >= l.since)",
                    derived.table
                ),
                &listed,
            )
        } else {
            (derived.table.to_owned(), &raw)
        };
        let sql = check_query(&source, derived.time_column, &derived.check, weighted, None);
        let got = per_day_side::<DaySums>(client, &sql, range)
            .await
            .with_context(|| format!("summing {}", derived.table))?;
        for day in &days {
            let id = day_id(*day);
            for side in [0u8, 1] {
                // cdrs_by_customer holds only the origination side.
                if derived.table == "cdrs_by_customer" && side == 0 {
                    continue;
                }
                let want = raw.get(&(id, side)).copied().unwrap_or(DaySums {
                    day: id,
                    side,
                    ..DaySums::default()
                });
                let have = got.get(&(id, side)).copied().unwrap_or(DaySums {
                    day: id,
                    side,
                    ..DaySums::default()
                });
                if want != have {
                    differing.insert(id);
                    lines.push(format!(
                        "{day} side {side} {}: raw calls {} answered {} duration {}, \
                         derived calls {} answered {} duration {}{}",
                        derived.table,
                        want.s_calls,
                        want.s_answered,
                        want.s_duration,
                        have.s_calls,
                        have.s_answered,
                        have.s_duration,
                        if (want.s_calls, want.s_answered, want.s_duration)
                            == (have.s_calls, have.s_answered, have.s_duration)
                        {
                            " (same totals, different accounts or minutes)"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
    }
    // The statistics sums of the rollups (schema/011_family_rollups.sql), what the gateway
    // reads of them: the listed account-sides from their `since` on.
    let want = per_day_side::<FamilySums>(
        client,
        &family_query(&listed_raw, "time_start", &RAW_FAMILY),
        range,
    )
    .await
    .context("summing durations and prices of raw cdrs of the listed accounts")?;
    for derived in DERIVED.iter().filter(|d| d.listed_only()) {
        let source = format!(
            "(SELECT r.side AS side, r.full_duration_sum AS full_duration_sum, \
             r.billed_duration_sum AS billed_duration_sum, r.price_micros AS price_micros, \
             r.minute AS minute FROM {} AS r {LISTED_JOIN} WHERE r.minute >= l.since)",
            derived.table
        );
        let have = per_day_side::<FamilySums>(
            client,
            &family_query(&source, "minute", &ROLLUP_FAMILY),
            range,
        )
        .await
        .with_context(|| format!("summing durations and prices of {}", derived.table))?;
        for day in &days {
            let id = day_id(*day);
            for side in [0u8, 1] {
                let zero = FamilySums {
                    day: id,
                    side,
                    ..FamilySums::default()
                };
                let w = want.get(&(id, side)).copied().unwrap_or(zero);
                let h = have.get(&(id, side)).copied().unwrap_or(zero);
                if w != h {
                    differing.insert(id);
                    lines.push(format!(
                        "{day} side {side} {}: raw duration {} billed {} price micros {}, \
                         derived duration {} billed {} price micros {}",
                        derived.table,
                        w.s_full,
                        w.s_billed,
                        w.s_price,
                        h.s_full,
                        h.s_billed,
                        h.s_price
                    ));
                }
            }
        }
    }
    let text = if differing.is_empty() {
        format!(
            "verified {} day(s) ({} .. {}): raw CDRs and {} derived table(s) agree ({:.1} s)",
            days.len(),
            range.from,
            range.to,
            DERIVED.len(),
            started.elapsed().as_secs_f64()
        )
    } else {
        format!(
            "{} of {} day(s) differ; run `cdrstats rollups rebuild` for them:\n{}",
            differing.len(),
            days.len(),
            lines.join("\n")
        )
    };
    Ok(VerifyReport {
        text,
        differing: differing.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn rebuild_computes_what_the_views_compute() {
        let schema = normalized(concat!(
            include_str!("../../schema/001_cdrs.sql"),
            include_str!("../../schema/004_rollups.sql"),
            include_str!("../../schema/005_rollup_accounts.sql"),
            include_str!("../../schema/011_family_rollups.sql"),
            include_str!("../../schema/020_breakdown.sql")
        ));
        for derived in DERIVED {
            let view = format!(
                "MATERIALIZED VIEW IF NOT EXISTS {}_mv TO {} AS {};",
                derived.table,
                derived.table,
                normalized(&derived.view_select())
            );
            // A view whose query a later migration replaced in place.
            let modified = format!(
                "ALTER TABLE {}_mv MODIFY QUERY {};",
                derived.table,
                normalized(&derived.view_select())
            );
            if schema.contains(&modified) {
                continue;
            }
            if derived.table == "rollup_minute" {
                // Fed from rollup_minute_country in the schema (same sums, fewer rows).
                assert!(schema.contains("TO rollup_minute AS SELECT side, account_id, minute"));
                continue;
            }
            assert!(schema.contains(&view), "{view}");
        }
    }

    #[test]
    fn a_day_select_keeps_the_view_condition_and_bounds_the_day() {
        let sql = DERIVED[1].day_select();
        assert!(sql.contains("WHERE ((side = 0 OR is_last_cdr) AND (side, account_id) IN (SELECT side, account_id FROM rollup_accounts)) AND time_start >= {from:DateTime('UTC')} AND time_start < {to:DateTime('UTC')}"), "{sql}");
        assert!(sql.ends_with("GROUP BY side, account_id, dst_country_id, src_country_id, minute"));
        assert!(!sql.contains('?'));
        let day = NaiveDate::from_ymd_opt(2026, 2, 28).expect("date");
        assert_eq!(
            day_bounds(day),
            ("2026-02-28 00:00:00".into(), "2026-03-01 00:00:00".into())
        );
        assert_eq!(partition_id(day), "202602");
        assert_eq!(day_id(day), 20_260_228);
    }

    /// Judged without a server: the local engine cannot create a Distributed table (it has no
    /// cluster), so the refusal is checked on the decision itself.
    #[test]
    fn rebuild_refuses_a_cluster_and_says_what_to_do_judged_offline_as_the_local_engine_has_no_cluster()
     {
        assert!(refuse_rebuild_on_cluster(false).is_ok());
        let message = refuse_rebuild_on_cluster(true)
            .expect_err("a cluster is refused")
            .to_string();
        assert!(message.contains("single server only"), "{message}");
        assert!(message.contains("schema/cluster/README.md"), "{message}");
        assert!(message.contains("rollups verify"), "{message}");
        let readme = include_str!("../../schema/cluster/README.md");
        assert!(
            readme.contains("Rebuilding derived tables"),
            "the README section it points to"
        );
    }

    #[test]
    fn ranges_are_inclusive_and_ordered() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        let r = Range {
            from: d("2026-11-26"),
            to: d("2026-11-27"),
        };
        assert_eq!(r.days().expect("days").len(), 2);
        let months = Range {
            from: d("2026-11-30"),
            to: d("2026-12-01"),
        }
        .months()
        .expect("months");
        assert_eq!(months.len(), 2);
        assert_eq!((months[0].len(), months[1].len()), (30, 31));
        assert_eq!(months[1][0], d("2026-12-01"));
        let bad = Range {
            from: d("2026-11-27"),
            to: d("2026-11-26"),
        };
        assert!(bad.days().is_err());
    }
}
