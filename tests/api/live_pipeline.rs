//! The admin commands against a database that keeps receiving CDRs: a task inserts small
//! batches with `time_start` = now on both sides (as the switch's pipeline does, with its insert
//! settings) while a command runs; then the stream stops and every endpoint's answer, fresh
//! (`Cache-Control: no-cache`), and `rollups verify` are compared with straightforward SQL over
//! the raw CDRs.

use crate::helpers::*;
use cdrstats::cli::rollups::{self, Range, RollupsCommand};
use cdrstats::config::Settings;
use clickhouse::Row;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// A running stream of CDRs; [`Stream::stop`] ends it and returns the CDRs inserted.
pub struct Stream {
    stop: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<u64>,
}

/// Short waits for the listing protocol, the same for the gateway and the admin commands.
pub const FAST: &[(&str, &str)] = &[
    ("ROLLUP_LISTING_TTL_SECS", "1"),
    ("ROLLUP_INSERT_SETTLE_SECS", "1"),
    ("ROLLUP_COMMIT_MARGIN_SECS", "1"),
    ("ROLLUP_REBUILD_QUIET_SECS", "0"),
];

/// CDRs per batch and the pause between batches: about 400 CDRs a second on both sides.
const BATCH: u64 = 20;
const PAUSE: Duration = Duration::from_millis(50);

/// Starts inserting batches of ACCOUNT's CDRs stamped with the current second: every CDR on
/// the termination side (`vendor_acc_id`), one in three not the last of its call (so
/// origination, `customer_acc_id`, counts fewer), durations varying. Each batch carries its own
/// `insert_deduplication_token`, as the pipeline's retries do.
pub fn start_stream(app: &TestApp) -> Stream {
    let stop = Arc::new(AtomicBool::new(false));
    let ch = cdrstats::db::pipeline_client(&app.ch);
    let flag = stop.clone();
    let serial = Arc::new(AtomicU64::new(0));
    let handle = tokio::spawn(async move {
        let mut inserted = 0;
        while !flag.load(Ordering::Relaxed) {
            let batch_id = serial.fetch_add(1, Ordering::Relaxed);
            let now = chrono::Utc::now().timestamp();
            let mut insert = ch
                .clone()
                .with_setting("insert_deduplication_token", format!("stream-{batch_id}"))
                .insert::<Cdr>("cdrs")
                .await
                .expect("insert");
            for i in 0..BATCH {
                let n = batch_id * BATCH + i;
                // The last two of each batch are late: a call of yesterday reported now.
                let t = if i + 2 >= BATCH {
                    late_minute() + i64::try_from(n % 60).expect("small")
                } else {
                    now
                };
                let mut row = cdr(t, i32::try_from(n % 7).expect("small") * 13);
                row.is_last_cdr = !n.is_multiple_of(3);
                row.dst_country_id = u32::try_from(40 + n % 5).expect("small");
                row.dst_prefix_routing = format!("44{}", n % 4);
                row.vendor_price = 0.001 * (n % 11) as f64;
                row.customer_price = 0.002 * (n % 13) as f64;
                insert.write(&row).await.expect("write");
            }
            insert.end().await.expect("end");
            inserted += BATCH;
            tokio::time::sleep(PAUSE).await;
        }
        inserted
    });
    Stream { stop, handle }
}

/// The minute the stream's late CDRs start in: an hour start a day ago (settled, and in the
/// current month but on the first of a month).
/// Fixed once per test run, so that a test crossing an hour compares the minute it wrote.
pub fn late_minute() -> i64 {
    static LATE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *LATE.get_or_init(|| (chrono::Utc::now().timestamp() - 86_400) / 3600 * 3600)
}

/// Compares the late CDRs' minute like the stream's window, and `verify` of its day.
pub async fn assert_late_cdrs_match_raw(app: &TestApp, settings: &Settings) {
    let late = late_minute();
    assert_endpoints_match_raw(app, late, late + 59).await;
    verify(settings, late, late)
        .await
        .expect("verify agrees on the late CDRs' day");
}

impl Stream {
    pub async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.await.expect("stream task")
    }
}

/// Sums of one minute, computed by the test from raw `cdrs`.
#[derive(Row, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
struct Minute {
    t: u32,
    calls: u64,
    answered: u64,
    dur_sum: i64,
}

/// The straightforward SQL: per minute, the account's CDRs on `side` (termination: every CDR by
/// `vendor_acc_id`; origination: last CDRs by `customer_acc_id`).
async fn raw_minutes(app: &TestApp, side: u8, from: i64, to: i64) -> Vec<Minute> {
    app.ch
        .query(
            "SELECT toUInt32(toStartOfMinute(time_start)) AS t, count() AS calls, \
             countIf(duration > 0) AS answered, sumIf(toInt64(duration), duration > 0) AS dur_sum \
             FROM cdrs \
             WHERE if({side:UInt8} = 0, vendor_acc_id, customer_acc_id) = {account:UInt32} \
               AND ({side:UInt8} = 0 OR is_last_cdr) \
               AND time_start >= {from:UInt32} AND time_start <= {to:UInt32} \
             GROUP BY t ORDER BY t",
        )
        .param("side", side)
        .param("account", ACCOUNT)
        .param("from", from)
        .param("to", to)
        .fetch_all()
        .await
        .expect("raw minutes")
}

/// Compares the quality and statistics endpoints of both sides over `[from, to]` at minute
/// sampling with the raw SQL; returns the sources that answered the quality requests.
pub async fn assert_endpoints_match_raw(app: &TestApp, from: i64, to: i64) -> Vec<String> {
    let mut sources = Vec::new();
    for (side, quality, statistics) in [
        (
            0u8,
            TERMINATION,
            "/api/rest/customer/v1/termination-statistics",
        ),
        (
            1,
            ORIGINATION,
            "/api/rest/customer/v1/origination-statistics",
        ),
    ] {
        let raw = raw_minutes(app, side, from, to).await;
        let calls: u64 = raw.iter().map(|m| m.calls).sum();
        let answered: u64 = raw.iter().map(|m| m.answered).sum();
        let duration: i64 = raw.iter().map(|m| m.dur_sum).sum();
        assert!(calls > 0, "the stream inserted CDRs for side {side}");
        let query = window_query(from, to, "minute", "");
        let (body, source) = fresh(app, quality, &query).await;
        sources.push(source);
        let by_minute: std::collections::HashMap<i64, u64> =
            raw.iter().map(|m| (i64::from(m.t), m.calls)).collect();
        let got_t = body["data"]["t"].as_array().expect("t");
        let got_calls = body["data"]["total_calls"].as_array().expect("calls");
        for (t, c) in got_t.iter().zip(got_calls) {
            let t = t.as_i64().expect("t");
            assert_eq!(
                c.as_u64(),
                Some(by_minute.get(&t).copied().unwrap_or(0)),
                "side {side} minute {t} ({})",
                iso(t)
            );
        }
        assert_eq!(body["totals"]["total_calls"], calls, "side {side} quality");
        assert_eq!(
            body["totals"]["acd"],
            expected_ratio(i128::from(duration), i128::from(answered)),
            "side {side} quality acd"
        );
        let (body, _) = fresh(app, statistics, &query).await;
        let want_t: Vec<u32> = raw.iter().map(|m| m.t).collect();
        assert_eq!(body["data"]["t"], serde_json::json!(want_t), "side {side}");
        assert_eq!(
            body["data"]["total_calls"],
            serde_json::json!(raw.iter().map(|m| m.calls).collect::<Vec<_>>()),
            "side {side} statistics"
        );
        assert_eq!(
            body["totals"]["total_calls"], calls,
            "side {side} statistics"
        );
        assert_eq!(body["totals"]["successful_calls"], answered, "side {side}");
    }
    sources
}

/// Settings naming the test's own database, for the operator commands.
pub async fn settings_of(app: &TestApp, extra: &[(&str, &str)]) -> Settings {
    let database: String = app
        .ch
        .query("SELECT currentDatabase()")
        .fetch_one()
        .await
        .expect("database");
    let mut vars = vec![
        ("CLICKHOUSE_URL".to_owned(), engine_url()),
        ("CLICKHOUSE_DATABASE".to_owned(), database),
    ];
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Settings::from_vars(vars).expect("settings")
}

/// `rollups verify` of the days from `from` to `to`.
pub async fn verify(settings: &Settings, from: i64, to: i64) -> anyhow::Result<String> {
    let day = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .expect("time")
            .date_naive()
    };
    rollups::run(
        settings,
        &RollupsCommand::Verify(Range {
            from: day(from),
            to: day(to),
        }),
    )
    .await
}

/// History that makes a scan of `cdrs` take a while, as on a carrier's database: `n` CDRs
/// of 10 000 other accounts over the three days before now.
pub async fn insert_history(app: &TestApp, n: u64) {
    app.ch
        .query(
            "INSERT INTO cdrs (time_start, customer_acc_id, vendor_acc_id, is_last_cdr, duration, \
             src_country_id, dst_country_id, src_prefix_routing, dst_prefix_routing, \
             auth_orig_ip, customer_price, vendor_price) \
             SELECT now() - 259200 + intDiv(number * 259200, {n:UInt64}), 1000 + number % 10000, \
                    20000 + number % 9973, number % 3 != 0, toInt32(number % 120), 1, 44, '1', \
                    '4420', '192.0.2.9', 0.01, 0.02 \
             FROM numbers({n:UInt64})",
        )
        .param("n", n)
        .with_setting("insert_deduplicate", "0")
        .execute()
        .await
        .expect("history");
}

/// Sleeps until `fraction` of a second before the next minute boundary.
async fn until_end_of_minute(fraction: f64) {
    let now = chrono::Utc::now();
    let into = now.timestamp() % 60;
    let millis = f64::from(now.timestamp_subsec_millis()) / 1000.0;
    let wait = (60.0 - into as f64 - millis - fraction).rem_euclid(60.0);
    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
}

#[tokio::test]
async fn dense_started_in_the_last_second_of_a_minute_loses_no_cdr_of_the_live_stream() {
    let app = spawn_app_with("live_dense", FAST).await;
    app.unlist_everything().await;
    insert_history(&app, 4_000_000).await;
    let settings = settings_of(&app, FAST).await;
    let stream = start_stream(&app);
    // Dense traffic for ACCOUNT before the listing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    until_end_of_minute(0.2).await;
    let clock = std::time::Instant::now();
    // The minute dense starts in ends during its run: answer whole minutes through the next one.
    let boundary = (chrono::Utc::now().timestamp() / 60 + 1) * 60;
    let report = rollups::run(
        &settings,
        &RollupsCommand::Dense(rollups::DenseArgs {
            min_per_minute: 0.1,
            days: 7,
        }),
    )
    .await
    .expect("dense");
    eprintln!(
        "dense took {:.3} s: {report}",
        clock.elapsed().as_secs_f64()
    );
    assert!(report.contains("listed 2 account-side(s)"), "{report}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let inserted = stream.stop().await;
    assert!(inserted > 0);
    let end = whole_minutes_end().await.max(boundary + 59);
    while chrono::Utc::now().timestamp() <= end {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let from = stream_minute(&app).await;
    let sources = assert_endpoints_match_raw(&app, from, end).await;
    assert_eq!(
        sources,
        ["rollup", "rollup"],
        "the listed sides answer from rollups"
    );
    verify(&settings, from, end)
        .await
        .expect("verify agrees with raw CDRs");
    assert_late_cdrs_match_raw(&app, &settings).await;
}

#[tokio::test]
async fn rebuild_of_the_current_month_under_a_live_stream_loses_no_cdr() {
    let app = spawn_app_with("live_rebuild", FAST).await;
    insert_history(&app, 300_000).await;
    let settings = settings_of(&app, FAST).await;
    let stream = start_stream(&app);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let today = chrono::Utc::now().date_naive();
    let first = today.with_day0(0).expect("first of month");
    let result = rollups::run(
        &settings,
        &RollupsCommand::Rebuild(Range {
            from: first,
            to: today,
        }),
    )
    .await;
    // verify while CDRs keep arriving: it compares what started before the settle time.
    let today_start = chrono::Utc::now().timestamp() / 86_400 * 86_400;
    verify(&settings, today_start, today_start)
        .await
        .expect("verify under the live stream");
    tokio::time::sleep(Duration::from_secs(1)).await;
    stream.stop().await;
    let report = result.expect("rebuild");
    let end = whole_minutes_end().await;
    let from = stream_minute(&app).await;
    let sources = assert_endpoints_match_raw(&app, from, end).await;
    assert_eq!(sources, ["rollup", "rollup"], "{report}");
    verify(&settings, from, end)
        .await
        .expect("verify agrees with raw CDRs");
    assert_late_cdrs_match_raw(&app, &settings).await;
}

use chrono::Datelike;

/// Waits for the current minute to end and returns its last second: the windows compared end
/// on a whole minute, so that the rollups answer every minute of them.
async fn whole_minutes_end() -> i64 {
    let end = chrono::Utc::now().timestamp() / 60 * 60 + 59;
    while chrono::Utc::now().timestamp() <= end {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    end
}

/// The minute of the stream's first CDR stamped now (not a late one).
async fn stream_minute(app: &TestApp) -> i64 {
    let t: u32 = app
        .ch
        .query(
            "SELECT toUInt32(toStartOfMinute(min(time_start))) FROM cdrs \
             WHERE vendor_acc_id = {a:UInt32} AND time_start > now() - 3600",
        )
        .param("a", ACCOUNT)
        .fetch_one()
        .await
        .expect("first minute");
    i64::from(t)
}

/// `rollups maintain` lists ACCOUNT as it becomes dense and unlists it once it is not, while
/// the stream runs; every answer and `verify` match raw CDRs afterwards, and a second process
/// does nothing while the first holds the lease.
#[tokio::test]
async fn maintain_lists_and_unlists_under_a_live_stream_and_one_process_works_at_a_time() {
    let app = spawn_app_with("live_maintain", FAST).await;
    app.unlist_everything().await;
    insert_history(&app, 200_000).await;
    let listing: Vec<(&str, &str)> = FAST
        .iter()
        .copied()
        .chain([
            ("ROLLUP_DENSE_PER_MINUTE", "0.02"),
            ("ROLLUP_UNLIST_PER_MINUTE", "0.01"),
        ])
        .collect();
    let settings = settings_of(&app, &listing).await;
    let once = RollupsCommand::Maintain(rollups::MaintainArgs { once: true });
    let stream = start_stream(&app);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = rollups::run(&settings, &once).await.expect("maintain");
    assert!(report.contains("listed 2 account-side(s)"), "{report}");
    assert!(report.contains("unlisted 0"), "{report}");
    // Restart-safe and idempotent: the next round changes nothing.
    let again = rollups::run(&settings, &once)
        .await
        .expect("maintain again");
    assert!(again.contains("listed 0 account-side(s)"), "{again}");
    // The lease: held by one process, refused to another until it expires or is released.
    use cdrstats::cli::maintain::{release_lease, take_lease};
    assert!(take_lease(&app.ch, "process-a", 600).await.expect("lease"));
    assert!(!take_lease(&app.ch, "process-b", 600).await.expect("lease"));
    let blocked = rollups::run(&settings, &once).await.expect("blocked round");
    assert!(
        blocked.contains("another process holds the lease"),
        "{blocked}"
    );
    assert!(
        take_lease(&app.ch, "process-a", 600)
            .await
            .expect("renewed")
    );
    let dense = RollupsCommand::Dense(rollups::DenseArgs {
        min_per_minute: 0.02,
        days: 7,
    });
    let refused = rollups::run(&settings, &dense)
        .await
        .expect_err("a manual listing waits for the lease too");
    assert!(
        refused.to_string().contains("holds the rollup lease"),
        "{refused}"
    );
    release_lease(&app.ch, "process-a").await.expect("release");
    // ACCOUNT stops being dense by these thresholds: unlisted while CDRs keep arriving.
    let sparse: Vec<(&str, &str)> = FAST
        .iter()
        .copied()
        .chain([
            ("ROLLUP_DENSE_PER_MINUTE", "1000000"),
            ("ROLLUP_UNLIST_PER_MINUTE", "1000000"),
        ])
        .collect();
    let unlisting = settings_of(&app, &sparse).await;
    let report = rollups::run(&unlisting, &once).await.expect("unlist");
    assert!(report.contains("unlisted 2"), "{report}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    stream.stop().await;
    let end = whole_minutes_end().await;
    let from = stream_minute(&app).await;
    // Unlisted: `since` is never, so every minute is read from raw CDRs.
    assert_endpoints_match_raw(&app, from, end).await;
    let left: u64 = app
        .ch
        .query("SELECT count() FROM rollup_minute WHERE account_id = {a:UInt32}")
        .param("a", ACCOUNT)
        .fetch_one()
        .await
        .expect("rows");
    assert_eq!(left, 0, "the unlisted rows are dropped");
    let states: Vec<String> = app
        .ch
        .query("SELECT DISTINCT state FROM rollup_accounts FINAL")
        .fetch_all()
        .await
        .expect("states");
    assert_eq!(states, ["unlisted"]);
    verify(&settings, from, end).await.expect("verify");
    assert_late_cdrs_match_raw(&app, &settings).await;
}

/// A migration that changes the rollup views (as 012_live_rollups.sql does) swaps each view's
/// SELECT with `ALTER TABLE ... MODIFY QUERY`: no insert falls between a DROP and a CREATE.
#[tokio::test]
async fn a_migration_that_changes_the_views_loses_no_cdr_of_the_live_stream() {
    let app = spawn_app_with("live_migration", FAST).await;
    let (_, text) = cdrstats::cli::migrate::MIGRATIONS
        .iter()
        .find(|(name, _)| *name == "012_live_rollups.sql")
        .expect("012");
    // rollup_minute_dst_prefix_mv, the other view 012 changed, was dropped by a later migration.
    let swaps: Vec<String> = cdrstats::ddl::statements(text)
        .into_iter()
        .filter(|s| s.contains("MODIFY QUERY") && !s.contains("rollup_minute_dst_prefix_mv"))
        .collect();
    assert_eq!(swaps.len(), 1);
    let settings = settings_of(&app, FAST).await;
    let stream = start_stream(&app);
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..5 {
        for swap in &swaps {
            app.ch.query(swap).execute().await.expect("swap a view");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cdrstats::cli::migrate::run(&settings)
        .await
        .expect("migrate again (nothing to apply)");
    stream.stop().await;
    let end = whole_minutes_end().await;
    let from = stream_minute(&app).await;
    assert_endpoints_match_raw(&app, from, end).await;
    verify(&settings, from, end).await.expect("verify");
    assert_late_cdrs_match_raw(&app, &settings).await;
}

/// A deployment at the previous schema (CDRs, listed account-sides, the IN-based views) is
/// migrated to `012_live_rollups.sql` while the pipeline inserts: the column is added and
/// materialized for the old parts, the views are swapped in place. Nothing is lost or
/// doubled: the old CDRs, the stream's and the late ones all answer as raw SQL says.
#[tokio::test]
async fn upgrading_a_live_database_to_insertion_ranges_loses_no_cdr() {
    let app = spawn_app_before("live_upgrade", FAST, "012_live_rollups.sql").await;
    let before_upgrade = (chrono::Utc::now().timestamp() - 7_200) / 60 * 60;
    let old: Vec<Cdr> = (0..300u32)
        .map(|i| {
            let mut r = cdr(before_upgrade + i64::from(i) * 11, (i % 5) as i32 * 9);
            r.is_last_cdr = !i.is_multiple_of(4);
            r
        })
        .collect();
    app.insert_cdrs(&old).await;
    let settings = settings_of(&app, FAST).await;
    let stream = start_stream(&app);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let applied = cdrstats::cli::migrate::run(&settings)
        .await
        .expect("migrate to 012 under the stream");
    // 012 and the migrations after it (the breakdown columns of 020 change no rollup).
    assert_eq!(
        applied.first().map(String::as_str),
        Some("012_live_rollups.sql")
    );
    assert!(
        applied.iter().all(|name| name.as_str() >= "012"),
        "{applied:?}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    stream.stop().await;
    // The parts written before the migration read as inserted then, not at read time.
    let stamped: u64 = app
        .ch
        .query("SELECT countIf(inserted_at > now() - 600) FROM cdrs WHERE time_start >= {f:UInt32} AND time_start < {t:UInt32}")
        .param("f", before_upgrade)
        .param("t", before_upgrade + 3_600)
        .fetch_one()
        .await
        .expect("inserted_at");
    assert_eq!(stamped, 300, "the migration stamped the old rows once");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again: u64 = app
        .ch
        .query("SELECT count() FROM cdrs WHERE time_start >= {f:UInt32} AND time_start < {t:UInt32} AND inserted_at > now() - 2")
        .param("f", before_upgrade)
        .param("t", before_upgrade + 3_600)
        .fetch_one()
        .await
        .expect("inserted_at");
    assert_eq!(again, 0, "not now() at each read");
    let end = whole_minutes_end().await;
    let from = stream_minute(&app).await;
    assert_endpoints_match_raw(&app, from, end).await;
    assert_endpoints_match_raw(&app, before_upgrade, before_upgrade + 3_599).await;
    verify(&settings, before_upgrade, end)
        .await
        .expect("verify agrees after the upgrade");
    assert_late_cdrs_match_raw(&app, &settings).await;
}

/// Migrations 021-026 (the breakdown rollups, the per-minute country and prefix rollups, the
/// string codecs, the views' price rounding, the copy's insertion time) under a live insert
/// stream: the listed account-sides
/// are answered from raw CDRs until `rollups maintain` lists them again, which it does while the
/// stream goes on; then the endpoints read the new rollups and agree with raw CDRs to the CDR,
/// and `rollups verify` agrees (PDD sums included).
#[tokio::test]
async fn upgrading_a_live_database_to_the_breakdown_rollups_and_maintaining_loses_no_cdr() {
    let app = spawn_app_before("live_upgrade_021", FAST, "021_breakdown_rollups.sql").await;
    let before_upgrade = (chrono::Utc::now().timestamp() - 7_200) / 60 * 60;
    let mut old: Vec<Cdr> = (0..300u32)
        .map(|i| cdr(before_upgrade + i64::from(i) * 11, (i % 5) as i32 * 9))
        .collect();
    for (i, r) in old.iter_mut().enumerate() {
        r.dst_prefix_routing = ["4420", "4479", "49"][i % 3].into();
        r.dst_country_id = [44, 44, 49][i % 3];
    }
    app.insert_cdrs(&old).await;
    // The account averages a few CDRs a minute over the data: keep it listed.
    let mut extra = FAST.to_vec();
    extra.extend([
        ("ROLLUP_DENSE_PER_MINUTE", "1"),
        ("ROLLUP_UNLIST_PER_MINUTE", "0.5"),
    ]);
    let settings = settings_of(&app, &extra).await;
    let mutations = |app: &TestApp| {
        let ch = app.ch.clone();
        async move {
            ch.query("SELECT command FROM system.mutations WHERE database = currentDatabase()")
                .fetch_all::<String>()
                .await
                .expect("mutations")
        }
    };
    let mutations_before = mutations(&app).await;
    let stream = start_stream(&app);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let applied = cdrstats::cli::migrate::run(&settings)
        .await
        .expect("migrate to 021..026 under the stream");
    assert_eq!(
        applied,
        [
            "021_breakdown_rollups.sql",
            "022_minute_dst_country.sql",
            "023_zstd_strings.sql",
            "024_minute_prefix.sql",
            "025_price_micros.sql",
            "026_copy_inserted_at.sql"
        ]
    );
    // 023 changes codecs and 026 adds a column with a default: metadata only, no mutation
    // rewriting the parts under the stream.
    assert_eq!(mutations(&app).await, mutations_before);
    let states = |app: &TestApp| {
        let ch = app.ch.clone();
        async move {
            ch.query(
                "SELECT DISTINCT state FROM rollup_accounts FINAL WHERE account_id = {a:UInt32} \
                 ORDER BY state",
            )
            .param("a", ACCOUNT)
            .fetch_all::<String>()
            .await
            .expect("states")
        }
    };
    assert_eq!(
        states(&app).await,
        ["stopping"],
        "read from raw CDRs until listed again"
    );
    let round = cdrstats::cli::maintain::round(&settings, &app.ch, "upgrade-test")
        .await
        .expect("maintain round under the stream");
    assert!(round.leased && round.listed >= 2, "{round:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    stream.stop().await;
    assert_eq!(states(&app).await, ["listed"]);
    let end = whole_minutes_end().await;
    let from = stream_minute(&app).await;
    let sources = assert_endpoints_match_raw(&app, before_upgrade, end).await;
    assert!(sources.iter().all(|s| s == "rollup"), "{sources:?}");
    assert_endpoints_match_raw(&app, from, end).await;
    // The termination breakdown by prefix, from the new rollups, against raw CDRs.
    let query = format!(
        "account-id={ACCOUNT_UUID}&from-time={}&to-time={}&by=dst-prefix&limit=1000",
        iso(before_upgrade),
        iso(end)
    );
    let (body, source) = fresh(&app, "/api/rest/customer/v1/termination-breakdown", &query).await;
    assert_eq!(source, "rollup");
    let raw: Vec<(String, u64)> = app
        .ch
        .query(
            "SELECT CAST(dst_prefix_routing AS String), count() FROM cdrs \
             WHERE vendor_acc_id = {a:UInt32} AND time_start >= {f:UInt32} \
               AND time_start <= {t:UInt32} GROUP BY 1 ORDER BY 2 DESC, 1",
        )
        .param("a", ACCOUNT)
        .param("f", before_upgrade)
        .param("t", end)
        .fetch_all()
        .await
        .expect("raw prefixes");
    let got: Vec<(String, u64)> = body["data"]["dst_prefix_routing"]
        .as_array()
        .expect("keys")
        .iter()
        .zip(body["data"]["total_calls"].as_array().expect("calls"))
        .map(|(k, c)| {
            (
                k.as_str().expect("text").to_owned(),
                c.as_u64().expect("count"),
            )
        })
        .collect();
    assert_eq!(got, raw);
    // The quality series with a destination-country filter and with a prefix filter, from the
    // rollups 022 and 024 added (filled by the backfill through the destination rollup's view).
    for (filter, condition, table) in [
        (
            "&dst-country-id=44",
            "dst_country_id = 44",
            "rollup_minute_dst_country",
        ),
        (
            "&dst-prefix-routing-starts-with=44",
            "startsWith(dst_prefix_routing, '44')",
            "rollup_minute_prefix",
        ),
    ] {
        let (body, source) = fresh(
            &app,
            TERMINATION,
            &window_query(before_upgrade, end, "minute", filter),
        )
        .await;
        assert_eq!(source, "rollup", "{filter}");
        let count = |sql: String| {
            let ch = app.ch.clone();
            async move {
                ch.query(&sql)
                    .param("a", ACCOUNT)
                    .param("f", before_upgrade)
                    .param("t", end)
                    .fetch_one::<u64>()
                    .await
                    .expect("count")
            }
        };
        let raw = count(format!(
            "SELECT count() FROM cdrs WHERE vendor_acc_id = {{a:UInt32}} AND {condition} \
             AND time_start >= {{f:UInt32}} AND time_start <= {{t:UInt32}}"
        ))
        .await;
        assert!(raw >= 200, "{filter}: {raw}");
        assert_eq!(body["totals"]["total_calls"], raw, "{filter}");
        let rolled_up = count(format!(
            "SELECT sum(total_calls) FROM {table} WHERE side = 0 \
             AND account_id = {{a:UInt32}} AND {condition} \
             AND minute >= toStartOfMinute(toDateTime({{f:UInt32}})) AND minute <= {{t:UInt32}}"
        ))
        .await;
        assert!(rolled_up >= 200, "{table} was backfilled: {rolled_up}");
    }
    verify(&settings, before_upgrade, end)
        .await
        .expect("verify agrees after the upgrade and the maintain round");
}
