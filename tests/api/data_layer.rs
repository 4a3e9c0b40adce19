//! The data layer: late CDRs after the settle lag, retention, and rollups as managed data
//! (`cdrstats rollups verify | rebuild`, `migrate` TTLs), on the real engine.

use crate::helpers::*;
use cdrstats::auth::token::Mint;
use cdrstats::cli::rollups::{self, Range, RollupsCommand};
use cdrstats::config::Settings;

async fn total_calls(app: &TestApp, path: &str, query: &str) -> (u16, serde_json::Value) {
    let resp = app
        .get_with_token(path, query, &token(Mint::Access(ACCESS_ALL)))
        .await;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.expect("json");
    (status, body)
}

/// `cdrstats rollups verify` of one day of the test's database: every derived table against
/// raw CDRs; panics with `why` when they disagree.
async fn verify_day(app: &TestApp, day: &str, why: &str) -> String {
    let settings = settings_of(app, &[]).await;
    let range = Range {
        from: day.parse().expect("date"),
        to: day.parse().expect("date"),
    };
    rollups::run(&settings, &RollupsCommand::Verify(range))
        .await
        .expect(why)
}

/// Settings naming the test's own database, for the operator commands.
async fn settings_of(app: &TestApp, extra: &[(&str, &str)]) -> Settings {
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
    // Short waits of the listing protocol (the gateway's listing TTL stays 5 s: these tests
    // read nothing while a command runs).
    vars.extend(
        crate::live_pipeline::FAST
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Settings::from_vars(vars).expect("settings")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn a_cdr_arriving_after_the_settle_lag_shows_once_the_settled_sums_are_revalidated() {
    let app = spawn_app_with("late_cdr", &[("SETTLED_REVALIDATE_SECS", "1")]).await;
    let hour = (now() - 6 * 3600) / 3600 * 3600; // settled: the default lag is 4 h
    app.insert_cdrs(&[cdr(hour + 600, 30)]).await;
    let first = window_query(hour, hour + 3599, "minute", "");
    let (status, body) = total_calls(&app, TERMINATION, &first).await;
    assert_eq!(status, 200);
    assert_eq!(body["totals"]["total_calls"], 1);

    // A CDR for 5+ hours ago arrives now, long after its bucket settled.
    app.insert_cdrs(&[cdr(hour + 900, 40)]).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    // Another window over the same settled buckets: it would be stitched from the cached sums.
    let second = window_query(hour, hour + 3659, "minute", "");
    let (status, body) = total_calls(&app, TERMINATION, &second).await;
    assert_eq!(status, 200);
    assert_eq!(body["totals"]["total_calls"], 2, "{body}");
    // And the first window's cached response has expired too.
    let (_, body) = total_calls(&app, TERMINATION, &first).await;
    assert_eq!(body["totals"]["total_calls"], 2, "{body}");
}

#[tokio::test]
async fn a_window_that_needs_raw_cdrs_older_than_raw_retention_is_a_400_never_zeros() {
    let app = spawn_app_with(
        "raw_retention",
        &[("RAW_RETENTION_DAYS", "1"), ("ROLLUP_RETENTION_DAYS", "30")],
    )
    .await;
    let day = (now() - 3 * 86_400) / 86_400 * 86_400;
    app.insert_cdrs(&[cdr(day + 600, 30)]).await;
    // Whole minutes, no raw-only filter: the rollup answers.
    let (status, body) = total_calls(
        &app,
        TERMINATION,
        &window_query(day, day + 3599, "hour", ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A duration filter needs raw CDRs, which are gone after a day: a clear 400.
    let (status, body) = total_calls(
        &app,
        ORIGINATION,
        &window_query(day, day + 3599, "hour", "&duration-gt=5"),
    )
    .await;
    assert_eq!(status, 400);
    let message = body["error"].as_str().expect("error message");
    assert!(message.contains("raw CDRs are kept 1 days"), "{message}");
    // Older than the rollups' retention: 400 too.
    let old = day - 40 * 86_400;
    let (status, body) = total_calls(
        &app,
        TERMINATION,
        &window_query(old, old + 3599, "hour", ""),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // An account without rollups needs raw CDRs for whole minutes too.
    app.ch
        .query("ALTER TABLE rollup_accounts DELETE WHERE side = 0 AND account_id = 101 SETTINGS mutations_sync = 2")
        .execute()
        .await
        .expect("unlist");
    let (status, body) = total_calls(
        &app,
        TERMINATION,
        &window_query(day, day + 3598, "hour", ""),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn rollups_verify_reports_a_corrupted_day_and_rebuild_repairs_it_idempotently() {
    let app = spawn_app("rollups_verify").await;
    let day = 1_764_201_600; // 2025-11-27 00:00 UTC
    let mut rows = vec![cdr(day + 60, 10), cdr(day + 86_400 + 120, 0)];
    let mut attempt = cdr(day + 300, 0);
    attempt.is_last_cdr = false;
    attempt.customer_acc_id = SECOND_ACCOUNT;
    rows.push(attempt);
    app.insert_cdrs(&rows).await;
    let settings = settings_of(&app, &[]).await;
    let range = Range {
        from: "2025-11-26".parse().expect("date"),
        to: "2025-11-28".parse().expect("date"),
    };
    let verify = RollupsCommand::Verify(range.clone());
    let rebuild = RollupsCommand::Rebuild(range.clone());
    rollups::run(&settings, &verify)
        .await
        .expect("views keep the rollups exact");

    // Counted twice on the second day (as a half-failed inline backfill would), and a call
    // moved to another account on the first day.
    for sql in [
        "INSERT INTO rollup_minute_destination SELECT * FROM rollup_minute_destination WHERE minute >= '2025-11-28 00:00:00'",
        "INSERT INTO cdrs_by_customer SELECT * FROM cdrs_by_customer WHERE time_start >= '2025-11-28 00:00:00'",
        "INSERT INTO rollup_minute SELECT side, 999, minute, total_calls, answered, duration_sum, full_duration_sum, billed_duration_sum, price_micros FROM rollup_minute WHERE minute < '2025-11-28 00:00:00' AND side = 1",
        "ALTER TABLE rollup_minute DELETE WHERE account_id != 999 AND minute < '2025-11-28 00:00:00' AND side = 1 SETTINGS mutations_sync = 2",
    ] {
        app.ch.query(sql).execute().await.expect(sql);
    }
    let err = rollups::run(&settings, &verify)
        .await
        .expect_err("verify must fail");
    assert_eq!(err.to_string(), "2 day(s) differ");

    // The copy is compared over CDRs inserted more than ROLLUP_INSERT_SETTLE_SECS (1 s) ago.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let report = rollups::run(&settings, &rebuild).await.expect("rebuild");
    assert!(
        report.starts_with("rebuilt the rollups of 4 listed account-side(s) from 2025-11-26"),
        "{report}"
    );
    assert!(
        report.contains("1 month(s) of cdrs_by_customer that differed (202511)"),
        "{report}"
    );
    rollups::run(&settings, &verify)
        .await
        .expect("rebuilt rollups agree");
    // Again: same result, nothing doubled; the aside tables are gone.
    rollups::run(&settings, &rebuild)
        .await
        .expect("rebuild again");
    rollups::run(&settings, &verify).await.expect("still agree");
    let calls: u64 = app
        .ch
        .query("SELECT sum(total_calls) FROM rollup_minute WHERE side = 0")
        .fetch_one()
        .await
        .expect("sum");
    assert_eq!(calls, 3);
    // Each corruption below leaves every count and duration intact; verify must find the days
    // it touched and a rebuild must repair them.
    let corrupt_then_repair = |what: &'static str, sqls: &'static [&'static str], days: usize| {
        let (app, settings, verify, rebuild) = (&app, &settings, &verify, &rebuild);
        async move {
            for sql in sqls {
                app.ch.query(sql).execute().await.expect(sql);
            }
            let err = rollups::run(settings, verify)
                .await
                .expect_err(&format!("verify compares {what}"));
            assert_eq!(err.to_string(), format!("{days} day(s) differ"), "{what}");
            rollups::run(settings, rebuild)
                .await
                .unwrap_or_else(|e| panic!("rebuild {what}: {e:#}"));
            rollups::run(settings, verify)
                .await
                .unwrap_or_else(|e| panic!("rebuilt {what} agree: {e:#}"));
        }
    };
    // A price sum off by one millionth.
    corrupt_then_repair(
        "the statistics sums",
        &[
            "ALTER TABLE rollup_minute_country UPDATE price_micros = price_micros + 1 \
           WHERE side = 0 AND minute < '2025-11-28 00:00:00' SETTINGS mutations_sync = 2",
        ],
        1,
    )
    .await;
    // A PDD sum off by one millisecond in the hourly rollup only (the destination minute rollup
    // intact): the breakdowns' PDD sums are compared at their grain.
    corrupt_then_repair(
        "the PDD sums",
        &[
            "ALTER TABLE rollup_hour_destination UPDATE pdd_ms_sum = pdd_ms_sum + 1 \
           WHERE side = 0 AND hour >= '2025-11-28 00:00:00' SETTINGS mutations_sync = 2",
        ],
        1,
    )
    .await;
    // Calls moved to another disconnect code on the first day (per-minute rollup) and to
    // another destination country on the second (hourly rollup), every sum intact.
    corrupt_then_repair(
        "the keys calls are under",
        &[
            "INSERT INTO rollup_minute_disconnect (side, account_id, disconnect_code, disconnect_reason, minute, total_calls, answered, duration_sum, full_duration_sum, billed_duration_sum, price_micros, pdd_ms_sum, pdd_count) \
             SELECT side, account_id, disconnect_code + 100000, disconnect_reason, minute, total_calls, answered, duration_sum, full_duration_sum, billed_duration_sum, price_micros, pdd_ms_sum, pdd_count \
             FROM rollup_minute_disconnect WHERE side = 0 AND minute < '2025-11-28 00:00:00'",
            "ALTER TABLE rollup_minute_disconnect DELETE WHERE side = 0 AND minute < '2025-11-28 00:00:00' AND disconnect_code < 100000 SETTINGS mutations_sync = 2",
            "INSERT INTO rollup_hour_dst_country SELECT side, account_id, dst_country_id + 100000, hour, total_calls, answered, duration_sum, full_duration_sum, billed_duration_sum, price_micros, pdd_ms_sum, pdd_count \
             FROM rollup_hour_dst_country WHERE side = 0 AND hour >= '2025-11-28 00:00:00'",
            "ALTER TABLE rollup_hour_dst_country DELETE WHERE side = 0 AND hour >= '2025-11-28 00:00:00' AND dst_country_id < 100000 SETTINGS mutations_sync = 2",
        ],
        2,
    )
    .await;
    let leftovers: u64 = app
        .ch
        .query("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE '%__rebuild'")
        .fetch_one()
        .await
        .expect("tables");
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn migrate_turns_retention_settings_into_ttls_and_removes_them_at_zero() {
    let app = spawn_app("retention_ttl").await;
    let ttl_of = |table: &'static str| {
        let ch = app.ch.clone();
        async move {
            ch.query("SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {t:String}")
                .param("t", table)
                .fetch_one::<String>()
                .await
                .expect("engine_full")
        }
    };
    assert!(!ttl_of("cdrs").await.contains("TTL"));
    let settings = settings_of(
        &app,
        &[
            ("RAW_RETENTION_DAYS", "90"),
            ("ROLLUP_RETENTION_DAYS", "400"),
        ],
    )
    .await;
    cdrstats::cli::migrate::run(&settings)
        .await
        .expect("migrate");
    assert!(
        ttl_of("cdrs")
            .await
            .contains("TTL time_start + toIntervalDay(90)"),
        "{}",
        ttl_of("cdrs").await
    );
    assert!(
        ttl_of("cdrs_by_customer")
            .await
            .contains("toIntervalDay(90)")
    );
    assert!(
        ttl_of("rollup_minute_destination")
            .await
            .contains("TTL minute + toIntervalDay(400)")
    );
    assert!(
        ttl_of("rollup_hour_destination")
            .await
            .contains("TTL hour + toIntervalDay(400)")
    );
    let settings = settings_of(&app, &[]).await;
    cdrstats::cli::migrate::run(&settings)
        .await
        .expect("migrate again");
    assert!(!ttl_of("cdrs").await.contains("TTL"));
    assert!(!ttl_of("rollup_minute").await.contains("TTL"));
}

#[tokio::test]
async fn migrate_refuses_a_database_whose_applied_schema_file_changed() {
    let app = spawn_app("changed_schema").await;
    app.ch
        .query("INSERT INTO schema_migrations (name, checksum) VALUES ('001_cdrs.sql', 'an older layout')")
        .execute()
        .await
        .expect("insert");
    let settings = settings_of(&app, &[]).await;
    let err = cdrstats::cli::migrate::run(&settings)
        .await
        .expect_err("a changed file must not pass as applied");
    assert!(
        err.to_string()
            .contains("schema/001_cdrs.sql changed since it was applied"),
        "{err}"
    );
}

/// `rollups rebuild` compares the origination copy with raw CDRs over the CDRs inserted more
/// than ROLLUP_INSERT_SETTLE_SECS ago, so an insert still settling (a late CDR of an old month,
/// whose copy row here committed before its raw row, as the views may) does not make a healthy
/// month differ; the same row once settled does, and is repaired.
#[tokio::test]
async fn rebuild_compares_the_copy_over_settled_inserts_only() {
    let app = spawn_app("rollups_copy_settle").await;
    app.unlist_everything().await;
    app.insert_cdrs(&[cdr(1_764_201_600 + 60, 10)]).await; // 2025-11-27
    let slow = settings_of(&app, &[("ROLLUP_INSERT_SETTLE_SECS", "600")]).await;
    let range = Range {
        from: "2025-11-27".parse().expect("date"),
        to: "2025-11-27".parse().expect("date"),
    };
    let rebuild = RollupsCommand::Rebuild(range);
    let copy_rows = || async {
        app.ch
            .query("SELECT count() FROM cdrs_by_customer")
            .fetch_one::<u64>()
            .await
            .expect("count")
    };
    app.ch
        .query(
            "INSERT INTO cdrs_by_customer (time_start, customer_acc_id, duration, inserted_at) \
             VALUES ('2025-11-27 00:02:00', 201, 7, now())",
        )
        .execute()
        .await
        .expect("a copy row ahead of its raw CDR");
    let report = rollups::run(&slow, &rebuild).await.expect("rebuild");
    assert!(
        report.contains("0 month(s) of cdrs_by_customer"),
        "{report}"
    );
    assert_eq!(copy_rows().await, 2, "a settling row is left alone");
    // Settled (1 s) and still without a raw CDR: a difference, rebuilt away.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let settled = settings_of(&app, &[]).await;
    let report = rollups::run(&settled, &rebuild).await.expect("rebuild");
    assert!(
        report.contains("1 month(s) of cdrs_by_customer that differed (202511)"),
        "{report}"
    );
    assert_eq!(copy_rows().await, 1);
}

/// A run interrupted mid-listing leaves its account-sides `backfilling` (their rollups read
/// only from the views' start); the next run lists them again and is exact. Running a
/// rebuild again at once rebuilds again: no progress is kept that an asynchronous mutation
/// could clear late.
#[tokio::test]
async fn a_rebuild_run_again_at_once_or_after_an_interruption_is_exact() {
    let app = spawn_app("rollups_resume").await;
    app.insert_cdrs(&[cdr(1_764_201_600 + 60, 10)]).await; // 2025-11-27
    let settings = settings_of(&app, &[]).await;
    let range = Range {
        from: "2025-11-27".parse().expect("date"),
        to: "2025-11-27".parse().expect("date"),
    };
    let verify = RollupsCommand::Verify(range.clone());
    let rebuild = RollupsCommand::Rebuild(range.clone());
    rollups::run(&settings, &rebuild).await.expect("rebuild");
    rollups::run(&settings, &rebuild)
        .await
        .expect("at once again");
    rollups::run(&settings, &verify).await.expect("agree");
    // Interrupted after the backfill wrote (doubled rows) but before it finished.
    for sql in [
        "INSERT INTO rollup_accounts (side, account_id, since, writes_from, state, backfill_from) \
         SELECT side, account_id, toDateTime('2106-01-01 00:00:00', 'UTC'), writes_from, \
                'backfilling', backfill_from FROM rollup_accounts FINAL WHERE account_id = 101",
        "INSERT INTO rollup_minute SELECT * FROM rollup_minute",
    ] {
        app.ch.query(sql).execute().await.expect(sql);
    }
    rollups::run(&settings, &verify)
        .await
        .expect("a side that is not read is not compared");
    rollups::run(&settings, &rebuild)
        .await
        .expect("the next run lists it again");
    let states: Vec<String> = app
        .ch
        .query("SELECT DISTINCT state FROM rollup_accounts FINAL")
        .fetch_all()
        .await
        .expect("states");
    assert_eq!(states, ["listed"]);
    rollups::run(&settings, &verify).await.expect("agree");
    let calls: u64 = app
        .ch
        .query("SELECT sum(total_calls) FROM rollup_minute WHERE side = 0 AND account_id = 101 AND minute >= '2025-11-27 00:00:00'")
        .fetch_one()
        .await
        .expect("sum");
    assert_eq!(calls, 1);
}

/// Termination totals of `account` for the two hours from `day`, fresh (no cache).
async fn two_hours(app: &TestApp, uuid: &str, day: i64, extra: &str) -> (u64, String) {
    let query = window_query(day, day + 7_199, "hour", extra).replace(ACCOUNT_UUID, uuid);
    let (body, source) = fresh(app, TERMINATION, &query).await;
    let calls = body["totals"]["total_calls"].as_u64().expect("total_calls");
    (calls, source)
}

#[tokio::test]
async fn rollups_are_read_only_for_listed_accounts_from_since_on() {
    let app = spawn_app("rollups_since").await;
    let day = 1_764_201_600; // 2025-11-27 00:00 UTC
    let mut rows = Vec::new();
    for account in [ACCOUNT, SECOND_ACCOUNT] {
        for minute in 0..120 {
            let mut r = cdr(day + minute * 60 + 5, 30);
            r.vendor_acc_id = account;
            r.dst_country_id = 44;
            rows.push(r);
        }
    }
    app.insert_cdrs(&rows).await;
    // ACCOUNT is rolled up from the second hour on (since rounded up to 01:00), SECOND_ACCOUNT
    // not at all; their rollup rows outside that are made wrong (doubled), as rows left by a
    // listing that ended, or by late CDRs before `since`, could be.
    for sql in [
        "INSERT INTO rollup_accounts (side, account_id, since) VALUES (0, 101, '2025-11-27 00:59:30')",
        "ALTER TABLE rollup_accounts DELETE WHERE side = 0 AND account_id = 102 SETTINGS mutations_sync = 2",
        "INSERT INTO rollup_minute SELECT * FROM rollup_minute WHERE side = 0 AND (account_id = 102 OR minute < '2025-11-27 01:00:00')",
        "INSERT INTO rollup_minute_country SELECT * FROM rollup_minute_country WHERE side = 0 AND (account_id = 102 OR minute < '2025-11-27 01:00:00')",
    ] {
        app.ch.query(sql).execute().await.expect(sql);
    }
    for extra in ["", "&dst-country-id=44"] {
        assert_eq!(
            two_hours(&app, ACCOUNT_UUID, day, extra).await,
            (120, "rollup".to_owned()),
            "{extra}"
        );
        assert_eq!(
            two_hours(&app, SECOND_UUID, day, extra).await.0,
            120,
            "unlisted: raw CDRs only ({extra})"
        );
    }
    // `verify` checks only what is read: the listed account from its since on.
    let settings = settings_of(&app, &[]).await;
    let range = Range {
        from: "2025-11-27".parse().expect("date"),
        to: "2025-11-27".parse().expect("date"),
    };
    rollups::run(&settings, &RollupsCommand::Verify(range.clone()))
        .await
        .expect("what is read agrees");
    // The rollup really is what answers from since on: a wrong row there shows (and verify
    // finds it).
    app.ch
        .query("INSERT INTO rollup_minute SELECT * FROM rollup_minute WHERE side = 0 AND account_id = 101 AND minute = '2025-11-27 01:30:00'")
        .execute()
        .await
        .expect("double one minute");
    assert_eq!(two_hours(&app, ACCOUNT_UUID, day, "").await.0, 121);
    rollups::run(&settings, &RollupsCommand::Verify(range.clone()))
        .await
        .expect_err("verify sees the doubled minute");
    // A rebuild of the day makes the listed account complete from the day's start.
    rollups::run(&settings, &RollupsCommand::Rebuild(range.clone()))
        .await
        .expect("rebuild");
    let since: String = app
        .ch
        .query(
            "SELECT toString(since) FROM rollup_accounts FINAL WHERE side = 0 AND account_id = 101",
        )
        .fetch_one()
        .await
        .expect("since");
    // Rebuilt from the range's first day (the rows before it were not complete: `since` was
    // later).
    assert_eq!(since, "2025-11-27 00:00:00");
    assert_eq!(two_hours(&app, ACCOUNT_UUID, day, "").await.0, 120);
    rollups::run(&settings, &RollupsCommand::Verify(range))
        .await
        .expect("rebuilt rollups agree");
}

#[tokio::test]
async fn rollups_dense_lists_busy_account_sides_and_backfills_their_history() {
    let app = spawn_app("rollups_dense").await;
    app.unlist_everything().await;
    // 10 minutes of data: ACCOUNT 12 CDRs a minute on both sides, SECOND_ACCOUNT 0.5.
    let mut rows: Vec<Cdr> = (0..120).map(|i| cdr(T0 + i * 5, 10)).collect();
    for i in 0..5 {
        let mut r = cdr(T0 + i * 120, 10);
        r.vendor_acc_id = SECOND_ACCOUNT;
        r.customer_acc_id = SECOND_ACCOUNT;
        rows.push(r);
    }
    app.insert_cdrs(&rows).await;
    let settings = settings_of(&app, &[]).await;
    let dense = RollupsCommand::Dense(rollups::DenseArgs {
        min_per_minute: 10.0,
        days: 7,
    });
    let report = rollups::run(&settings, &dense).await.expect("dense");
    assert!(report.starts_with("listed 2 account-side(s)"), "{report}");
    assert!(report.contains("backfilled 240 CDRs"), "{report}");
    let listed: Vec<(u8, u32, u32)> = app
        .ch
        .query("SELECT side, account_id, toUnixTimestamp(since) FROM rollup_accounts FINAL WHERE state = 'listed' ORDER BY side")
        .fetch_all()
        .await
        .expect("listing");
    assert_eq!(
        listed.iter().map(|l| (l.0, l.1)).collect::<Vec<_>>(),
        [(0, ACCOUNT), (1, ACCOUNT)]
    );
    // Read from the day of the oldest CDR: the history was backfilled.
    let day = T0 / 86_400 * 86_400;
    for (_, _, since) in &listed {
        assert_eq!(i64::from(*since), day);
    }
    let answer = window_query(T0, T0 + 599, "minute", "");
    let (status, body) = total_calls(&app, TERMINATION, &answer).await;
    assert_eq!(
        (status, body["totals"]["total_calls"].clone()),
        (200, 120.into())
    );
    let verify_range = Range {
        from: rollups::parse_day(&iso(T0)).expect("day"),
        to: rollups::parse_day(&iso(T0)).expect("day"),
    };
    rollups::run(&settings, &RollupsCommand::Verify(verify_range))
        .await
        .expect("the backfilled rollups agree with raw CDRs");
    // Listing again adds nothing.
    let again = rollups::run(&settings, &dense).await.expect("dense again");
    assert!(again.starts_with("listed 0 account-side(s)"), "{again}");
    // `rollups status` shows the listing.
    let status = rollups::run(&settings, &RollupsCommand::Status)
        .await
        .expect("status");
    assert!(status.contains("termination"), "{status}");
    assert!(
        status.contains("2 listed account-side(s) of 2 known"),
        "{status}"
    );
}

/// The pipeline's insert settings (`db::PIPELINE_INSERT_SETTINGS`: no summing pass on insert,
/// views on parallel threads) leave rollup rows of one key unmerged across inserts and run the
/// rollup of a rollup beside the others: every rollup path still answers what raw CDRs hold.
#[tokio::test]
async fn cdrs_inserted_with_the_pipeline_settings_answer_the_same_from_every_rollup() {
    let app = spawn_app("pipeline_settings").await;
    let day = 1_764_201_600; // 2025-11-27 00:00 UTC
    let batch = |offset: i64| -> Vec<Cdr> {
        (0..120)
            .map(|minute| cdr(day + minute * 60 + offset, (minute % 7) as i32 * 20))
            .collect()
    };
    // One insert with the server's defaults, two as the pipeline inserts: three parts per
    // rollup, with the same keys in each.
    let mut plain = app.ch.insert::<Cdr>("cdrs").await.expect("insert");
    for row in batch(1) {
        plain.write(&row).await.expect("write");
    }
    plain.end().await.expect("end");
    app.insert_cdrs(&batch(2)).await;
    app.insert_cdrs(&batch(3)).await;
    let rollup_rows: u64 = app
        .ch
        .query("SELECT count() FROM rollup_minute WHERE side = 0 AND account_id = ?")
        .bind(ACCOUNT)
        .fetch_one()
        .await
        .expect("rollup rows");
    assert!(
        rollup_rows >= 120,
        "the views wrote the minutes: {rollup_rows}"
    );
    for extra in [
        "",
        "&dst-country-id=44",
        "&dst-prefix-routing-starts-with=44",
    ] {
        assert_eq!(
            two_hours(&app, ACCOUNT_UUID, day, extra).await,
            (360, "rollup".to_owned()),
            "{extra}"
        );
    }
    // The same sums as the raw CDRs, through `verify` (every rollup, every sum, per day).
    verify_day(&app, "2025-11-27", "the rollups agree with raw CDRs").await;
}

/// A pipeline INSERT retried after a timeout (same rows, same `insert_deduplication_token`)
/// counts once in `cdrs` and in every table the views derive from it; the same rows under a new
/// token are a new batch. A single-server MergeTree deduplicates only with
/// `non_replicated_deduplication_window` set (docs: guides/developer/
/// deduplicating-inserts-on-retries), on `cdrs` and on every view's target table.
#[tokio::test]
async fn a_retried_pipeline_insert_counts_once_in_raw_and_every_derived_table() {
    let app = spawn_app("retried_insert").await;
    let day = 1_764_201_600; // 2025-11-27 00:00 UTC
    let rows: Vec<Cdr> = (0..30i64)
        .map(|i| {
            let mut r = cdr(day + i * 7, (i % 4) as i32 * 10);
            r.is_last_cdr = i % 3 != 0;
            r
        })
        .collect();
    let insert = |token: &'static str| {
        let ch = cdrstats::db::pipeline_client(&app.ch)
            .with_setting("insert_deduplication_token", token);
        let rows = rows.clone();
        async move {
            let mut insert = ch.insert::<Cdr>("cdrs").await.expect("insert");
            for row in &rows {
                insert.write(row).await.expect("write");
            }
            insert.end().await.expect("end");
        }
    };
    insert("batch-1").await;
    insert("batch-1").await; // the retry
    let count = |sql: &'static str| {
        let ch = app.ch.clone();
        async move { ch.query(sql).fetch_one::<u64>().await.expect(sql) }
    };
    assert_eq!(count("SELECT count() FROM cdrs").await, 30);
    assert_eq!(count("SELECT count() FROM cdrs_by_customer").await, 20);
    for table in cdrstats::cli::derived::rollups().map(|d| d.table) {
        let calls: u64 = app
            .ch
            .query(&format!(
                "SELECT sum(total_calls) FROM {table} WHERE side = 0 AND account_id = ?"
            ))
            .bind(ACCOUNT)
            .fetch_one()
            .await
            .expect("sum");
        assert_eq!(calls, 30, "{table}");
    }
    let (_, body) = total_calls(
        &app,
        TERMINATION,
        &window_query(day, day + 3599, "hour", ""),
    )
    .await;
    assert_eq!(body["totals"]["total_calls"], 30, "{body}");
    // The same rows in a new batch are new CDRs.
    insert("batch-2").await;
    assert_eq!(count("SELECT count() FROM cdrs").await, 60);
    verify_day(
        &app,
        "2025-11-27",
        "every derived table agrees with raw CDRs",
    )
    .await;
}

/// Active-call snapshots live 7 days (the TTL of `active_calls`): an older window is a 400,
/// never a row of zeros for snapshots the TTL deleted.
#[tokio::test]
async fn an_active_calls_window_older_than_the_snapshots_ttl_is_a_400() {
    let app = spawn_app("active_retention").await;
    let path = "/api/rest/customer/v1/termination-active-calls";
    let recent = format!(
        "account-id={ACCOUNT_UUID}&from-time={}",
        iso(now() - 6 * 86_400)
    );
    let (status, body) = total_calls(&app, path, &recent).await;
    assert_eq!(status, 200, "{body}");
    let old = format!(
        "account-id={ACCOUNT_UUID}&from-time={}&to-time={}",
        iso(now() - 8 * 86_400),
        iso(now() - 8 * 86_400 + 600)
    );
    let (status, body) = total_calls(&app, path, &old).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"].as_str().expect("error message");
    assert!(message.contains("snapshots are kept 7 days"), "{message}");
}

/// Two `rollups maintain` processes started together: one takes the lease and works, the other
/// does nothing; a side an interrupted run left half-listed is listed again by the next round.
#[tokio::test]
async fn of_two_maintain_processes_one_works_and_an_interrupted_listing_is_completed() {
    use cdrstats::cli::maintain::round;
    let app = spawn_app("maintain_two").await;
    app.insert_cdrs(&(0..120).map(|i| cdr(T0 + i * 5, 10)).collect::<Vec<_>>())
        .await;
    // Left by a run that stopped mid-backfill: not read, not complete.
    app.ch
        .query(
            "INSERT INTO rollup_accounts (side, account_id, since, writes_from, state, backfill_from) \
             SELECT side, account_id, toDateTime('2106-01-01 00:00:00', 'UTC'), now(), \
                    'backfilling', toDateTime(0, 'UTC') \
             FROM rollup_accounts FINAL WHERE account_id = 101 AND side = 0",
        )
        .execute()
        .await
        .expect("half-listed");
    let settings = settings_of(
        &app,
        &[
            ("ROLLUP_DENSE_PER_MINUTE", "1"),
            ("ROLLUP_UNLIST_PER_MINUTE", "0.5"),
        ],
    )
    .await;
    let (a, b) = tokio::join!(
        round(&settings, &app.ch, "process-a"),
        round(&settings, &app.ch, "process-b")
    );
    let (a, b) = (a.expect("round a"), b.expect("round b"));
    assert!(a.leased != b.leased, "exactly one works: {a:?} {b:?}");
    let worked = if a.leased { &a } else { &b };
    assert_eq!(worked.listed, 1, "the half-listed side: {worked:?}");
    let states: Vec<(u8, u32, String)> = app
        .ch
        .query(
            "SELECT side, account_id, state FROM rollup_accounts FINAL ORDER BY side, account_id",
        )
        .fetch_all()
        .await
        .expect("states");
    assert!(
        states
            .iter()
            .all(|(_, account, state)| *account != ACCOUNT || state == "listed"),
        "{states:?}"
    );
    let range = Range {
        from: rollups::parse_day(&iso(T0)).expect("day"),
        to: rollups::parse_day(&iso(T0)).expect("day"),
    };
    rollups::run(&settings, &RollupsCommand::Verify(range))
        .await
        .expect("the re-listed side agrees with raw CDRs");
    let (_, body) = total_calls(&app, TERMINATION, &window_query(T0, T0 + 599, "minute", "")).await;
    assert_eq!(body["totals"]["total_calls"], 120, "{body}");
}

/// The rollup views' price in millionths (rounded in floating point away from ties) equals the
/// definition, the price's shortest decimal form rounded half away from zero to 6 places, on the
/// engine over millions of prices: cents and sub-micro prices, both signs, large ones (beyond
/// 10^9, which count 0), doubles with 17 significant digits, and exact ties (x.xxxxxx5), where the two roundings part if the tie test is wrong.
#[tokio::test]
async fn the_views_price_in_millionths_equals_the_decimal_rounding_of_every_price() {
    let app = spawn_app("price_micros").await;
    // Prices of 10^9 or more in magnitude count 0 by rule (below).
    let definition = "if(abs(p) < 1000000000, \
         toInt64(round(toDecimal128(toString(if(side = 0, vendor_price, customer_price)), 12), 6) * 1000000), 0)";
    let sql = format!(
        "SELECT countIf(({fast}) != ({definition})), count(), \
                countIf(abs(p * 1000000 - floor(p * 1000000) - 0.5) <= 0.001) \
         FROM (SELECT p, number % 2 AS side, if(side = 0, p, nan) AS vendor_price, \
                      if(side = 1, p, nan) AS customer_price \
               FROM (SELECT number, arrayJoin([ \
                   toFloat64(rand64(1) % 100000000) / 1000000, \
                   toFloat64(rand64(2) % 10000000000) / 10000000000, \
                   (toFloat64(rand64(3) % 2000000000) - 1000000000) / 10000000, \
                   toFloat64(rand64(4) % 1000000) / 1000000 + 0.0000005, \
                   -(toFloat64(rand64(5) % 1000000) / 1000000 + 0.0000005), \
                   toFloat64(rand64(6) % 100000000) / 1000000 + 0.0000015, \
                   toFloat64(rand64(7) % 100000000000000) / 100000, \
                   randNormal(0, 10), (toFloat64(rand64(8)) / 18446744073709551615 - 0.5) * 2e12, \
                   toFloat64(rand64(9) % 1000) / 200000000]) AS p \
                     FROM numbers(300000)))",
        fast = cdrstats::cli::derived::PRICE_MICROS
    );
    let (differ, total, ties): (u64, u64, u64) = app
        .ch
        .query(&sql)
        .fetch_one()
        .await
        .expect("compare the price forms");
    assert_eq!(total, 3_000_000);
    assert!(ties > 500_000, "exact ties are compared: {ties}");
    assert_eq!(differ, 0, "of {total} prices");
    // What a Decimal cannot hold counts 0 instead of failing the insert; large prices stay exact.
    let odd: Vec<i64> = app
        .ch
        .query(&format!(
            "SELECT {} FROM (SELECT toUInt8(0) AS side, arrayJoin([nan, inf, -inf, 1e30, -2e9, \
             999999999.5, -123456.0000005]) AS vendor_price, 0.0 AS customer_price)",
            cdrstats::cli::derived::PRICE_MICROS
        ))
        .fetch_all()
        .await
        .expect("odd prices");
    assert_eq!(odd, [0, 0, 0, 0, 0, 999_999_999_500_000, -123_456_000_001]);
}

/// A CDR whose price is NaN, infinite or absurd (a switch bug) must not fail the pipeline's
/// insert: the rollup views used to read every price back from its text, which such values do
/// not parse as, so the insert failed after the CDRs reached `cdrs` and every retry failed
/// again. Now the insert succeeds, the CDRs count, their prices count 0, and the rollup path,
/// the raw path and `verify` agree.
#[tokio::test]
async fn cdrs_with_prices_that_are_not_numbers_are_inserted_and_counted_with_price_zero() {
    let app = spawn_app("odd_prices").await;
    let day = 1_764_201_600; // 2025-11-27 00:00 UTC
    let prices = [
        0.25,
        f64::NAN,
        1.5,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e30,
        -2e12,
        0.25,
    ];
    let rows: Vec<Cdr> = (0..120)
        .map(|minute| {
            let mut r = cdr(day + minute * 60 + 5, 30);
            r.vendor_price = prices[minute as usize % prices.len()];
            // Origination (every CDR here is a last CDR) gets a few of its own.
            if minute % 10 == 0 {
                r.customer_price = f64::NAN;
            }
            r
        })
        .collect();
    app.insert_cdrs(&rows).await;
    let expected: f64 = rows
        .iter()
        .map(|r| r.vendor_price)
        .filter(|p| p.is_finite() && p.abs() < 1e9)
        .sum();
    let path = "/api/rest/customer/v1/termination-statistics";
    let mut seen = Vec::new();
    for extra in ["", "&duration-gt=-1"] {
        let (body, source) =
            fresh(&app, path, &window_query(day, day + 7_199, "hour", extra)).await;
        assert_eq!(body["totals"]["total_calls"], 120, "{extra}");
        let price: f64 = body["totals"]["total_price"]
            .as_str()
            .expect("price")
            .parse()
            .expect("decimal");
        assert!(
            (price - expected).abs() < 1e-9,
            "{extra}: {price} vs {expected}"
        );
        seen.push(source);
    }
    assert_eq!(seen, ["rollup", "raw"]);
    let report = verify_day(&app, "2025-11-27", "the rollups agree with raw CDRs").await;
    // The operator is told how many prices were unusable, per day and side.
    let unusable = rows
        .iter()
        .filter(|r| r.vendor_price.is_nan() || r.vendor_price.abs() >= 1e9)
        .count();
    let unusable_origination = rows.iter().filter(|r| r.customer_price.is_nan()).count();
    assert_eq!((unusable, unusable_origination), (75, 12));
    // Under the line saying the rollups agree.
    let notes: Vec<&str> = report.lines().skip(1).collect();
    assert_eq!(
        notes,
        [
            format!(
                "2025-11-27 termination: {unusable} CDR(s) with a price that is not a finite \
                 number below 10^9, counted with price 0"
            ),
            format!(
                "2025-11-27 origination: {unusable_origination} CDR(s) with a price that is not \
                 a finite number below 10^9, counted with price 0"
            )
        ],
        "{report}"
    );
}
