//! The statistics and active-calls endpoints end to end on the real engine: every expected number is
//! computed here from the rows the test inserted, never by the gateway's code.

use crate::helpers::*;
use chrono::{Datelike, NaiveDate, TimeZone};
use clickhouse::Row;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};

const T_STATS: &str = "/api/rest/customer/v1/termination-statistics";
const O_STATS: &str = "/api/rest/customer/v1/origination-statistics";
const T_ACTIVE: &str = "/api/rest/customer/v1/termination-active-calls";
const O_ACTIVE: &str = "/api/rest/customer/v1/origination-active-calls";
const OUTGOING: &str = "/api/rest/customer/v1/outgoing-active-calls";

async fn ok_json(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let body = resp.text().await.expect("body");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

/// A CDR with billed durations (the columns the statistics endpoints may sum).
#[derive(Row, Serialize, Clone, Debug)]
struct BilledCdr {
    time_start: u32,
    customer_acc_id: u32,
    vendor_acc_id: u32,
    is_last_cdr: bool,
    duration: i32,
    vendor_duration: i32,
    customer_duration: i32,
    customer_price: f64,
    vendor_price: f64,
    src_country_id: u32,
    dst_country_id: u32,
    src_prefix_routing: String,
    dst_prefix_routing: String,
    auth_orig_ip: String,
}

fn billed(t: i64, duration: i32, price: f64) -> BilledCdr {
    BilledCdr {
        time_start: u32::try_from(t).expect("fits"),
        customer_acc_id: ACCOUNT,
        vendor_acc_id: ACCOUNT,
        is_last_cdr: true,
        duration,
        vendor_duration: duration + 1,
        customer_duration: duration + 2,
        customer_price: price * 2.0,
        vendor_price: price,
        src_country_id: 1,
        dst_country_id: 44,
        src_prefix_routing: "1".into(),
        dst_prefix_routing: "4420".into(),
        auth_orig_ip: "192.0.2.1".into(),
    }
}

async fn insert_billed(app: &TestApp, rows: &[BilledCdr]) {
    let mut insert = app.ch.insert::<BilledCdr>("cdrs").await.expect("insert");
    for row in rows {
        insert.write(row).await.expect("write");
    }
    insert.end().await.expect("end");
}

/// The statistics document of `rows` grouped by `bucket_of`, computed independently: integer counts,
/// rust_decimal for every ratio and price.
fn expected_totals(
    rows: &[&BilledCdr],
    bucket_of: impl Fn(i64) -> i64,
    duration: impl Fn(&BilledCdr) -> i32,
    price: impl Fn(&BilledCdr) -> f64,
) -> Value {
    let mut buckets: std::collections::BTreeMap<i64, Vec<&BilledCdr>> = Default::default();
    for r in rows {
        buckets
            .entry(bucket_of(i64::from(r.time_start)))
            .or_default()
            .push(r);
    }
    let line = |rs: &[&BilledCdr]| {
        let total = rs.len() as i64;
        let ok: Vec<_> = rs.iter().filter(|r| r.duration > 0).collect();
        let answered: i64 = ok.iter().map(|r| i64::from(r.duration)).sum();
        let minutes: i64 = rs.iter().map(|r| i64::from(duration(r))).sum();
        let prices: Decimal = rs.iter().map(|r| price6(price(r))).sum();
        let ratio = |n: i64, d: i64| decimal_text(Decimal::from(n) / Decimal::from(d), 2);
        json!({
            "total_calls": total,
            "successful_calls": ok.len(),
            "failed_calls": total - ok.len() as i64,
            "total_duration": ratio(minutes, 60),
            "acd": if ok.is_empty() { Value::Null } else { json!(ratio(answered, ok.len() as i64)) },
            "asr": if total == 0 { Value::Null } else { json!(ratio(100 * ok.len() as i64, total)) },
            "total_price": decimal_text(prices, 2),
        })
    };
    let names = [
        "total_calls",
        "successful_calls",
        "failed_calls",
        "total_duration",
        "acd",
        "asr",
        "total_price",
    ];
    let mut data = serde_json::Map::new();
    data.insert("t".into(), json!(buckets.keys().collect::<Vec<_>>()));
    for name in names {
        let column: Vec<Value> = buckets.values().map(|rs| line(rs)[name].clone()).collect();
        data.insert(name.into(), Value::Array(column));
    }
    let mut totals = serde_json::Map::new();
    totals.insert("t".into(), json!(0));
    let all = line(rows);
    for name in names {
        totals.insert(name.into(), all[name].clone());
    }
    json!({ "data": data, "rows": buckets.len(), "totals": totals })
}

#[tokio::test]
async fn termination_statistics_sum_calls_minutes_and_exact_prices_of_non_empty_buckets() {
    let app = spawn_app("family_totals").await;
    let h = 3_600;
    let rows = vec![
        // Hour 0: 1.005 is 1.00499999999999989… as a float (a float sum rounds it to 1.0);
        // 1.0049995 rounds to 1.005000 at 6 places (truncation would give 1.004999).
        billed(T0, 61, 1.005),
        billed(T0 + 10, 0, 0.0000125),
        billed(T0 + 20, 125, 1.0049995),
        // Hour 1 is empty and must not appear. Hour 2:
        billed(T0 + 2 * h + 5, 7, 0.3),
        billed(T0 + 2 * h + 6, 0, 0.1),
        billed(T0 + 2 * h + 7, 0, 0.2),
    ];
    let mut other = billed(T0 + 30, 99, 5.0);
    other.vendor_acc_id = SECOND_ACCOUNT; // another account: never counted
    let mut late = billed(T0 + 3 * h, 1, 1.0);
    late.is_last_cdr = false; // termination counts every attempt
    let mut all = rows.clone();
    all.extend([other, late.clone()]);
    insert_billed(&app, &all).await;

    let from = T0 - T0 % h;
    let got = ok_json(
        app.get(T_STATS, &window_query(from, T0 + 3 * h + 59, "hour", ""))
            .await,
    )
    .await;
    let mut counted: Vec<&BilledCdr> = rows.iter().collect();
    counted.push(&late);
    let expected = expected_totals(&counted, |t| t - t % h, |r| r.duration, |r| r.vendor_price);
    assert_eq!(got, expected);
    assert_eq!(got["rows"], 3, "the empty hour is left out");
    assert_eq!(got["data"]["total_price"][0], "2.01");
}

#[tokio::test]
async fn origination_statistics_count_last_cdrs_and_sum_the_configured_duration_column() {
    let app = spawn_app_with(
        "family_billed",
        &[("ORIGINATION_DURATION_COLUMN", "customer_duration")],
    )
    .await;
    let mut first_attempt = billed(T0 + 1, 30, 0.5);
    first_attempt.is_last_cdr = false; // origination counts calls: only the last attempt
    let rows = [
        first_attempt,
        billed(T0 + 2, 30, 0.25),
        billed(T0 + 70, 0, 0.125),
    ];
    insert_billed(&app, &rows).await;
    let got = ok_json(
        app.get(O_STATS, &window_query(T0, T0 + 119, "minute", ""))
            .await,
    )
    .await;
    let counted: Vec<&BilledCdr> = rows.iter().filter(|r| r.is_last_cdr).collect();
    let expected = expected_totals(
        &counted,
        |t| t - t % 60,
        |r| r.customer_duration,
        |r| r.customer_price,
    );
    assert_eq!(got, expected);
    // 32 + 2 billed seconds, not the 30 s of `duration`.
    assert_eq!(got["totals"]["total_duration"], "0.57");
}

#[tokio::test]
async fn a_bad_duration_column_stops_the_gateway_at_start_up() {
    let err = cdrstats::config::Settings::from_vars(vec![
        ("JWT_SECRET".to_owned(), SECRET.to_owned()),
        (
            "TERMINATION_DURATION_COLUMN".to_owned(),
            "duration; DROP TABLE cdrs".to_owned(),
        ),
    ])
    .expect_err("rejected");
    assert!(
        err.to_string().contains("TERMINATION_DURATION_COLUMN"),
        "{err}"
    );
}

/// Local midnight of `date` in `tz`, as unix seconds.
fn local_midnight(tz: chrono_tz::Tz, date: NaiveDate) -> i64 {
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .expect("exists")
        .timestamp()
}

#[tokio::test]
async fn weekly_and_monthly_buckets_start_at_local_midnight_across_a_dst_change() {
    let app = spawn_app("family_calendar").await;
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().expect("zone");
    // Around the end of summer time (Sunday 2024-10-27) and the month boundary.
    let times: Vec<i64> = [
        (2024, 10, 26, 23, 30), // Saturday 23:30 local (+02:00)
        (2024, 10, 27, 0, 30),  // Sunday 00:30 local, the DST day
        (2024, 10, 28, 0, 10),  // Monday
        (2024, 10, 31, 23, 59), // last minute of October, local
        (2024, 11, 1, 0, 0),    // first of November, local
        (2024, 11, 3, 12, 0),   // the next Sunday
    ]
    .iter()
    .map(|&(y, m, d, hh, mm)| {
        berlin
            .with_ymd_and_hms(y, m, d, hh, mm, 0)
            .earliest()
            .expect("exists")
            .timestamp()
    })
    .collect();
    let rows: Vec<BilledCdr> = times
        .iter()
        .enumerate()
        .map(|(i, &t)| billed(t, i as i32 * 10, 0.01))
        .collect();
    insert_billed(&app, &rows).await;
    let from = times[0] - 86_400 * 7;
    let to = times[5] + 86_400;
    let refs: Vec<&BilledCdr> = rows.iter().collect();
    let local_date = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .expect("valid")
            .with_timezone(&berlin)
            .date_naive()
    };
    let zone = "&time-zone=Europe%2FBerlin";

    let sunday_weeks = |t: i64| {
        let d = local_date(t);
        let back = d.weekday().num_days_from_sunday();
        local_midnight(berlin, d - chrono::Days::new(u64::from(back)))
    };
    let monday_weeks = |t: i64| {
        let d = local_date(t);
        let back = d.weekday().num_days_from_monday();
        local_midnight(berlin, d - chrono::Days::new(u64::from(back)))
    };
    let months = |t: i64| local_midnight(berlin, local_date(t).with_day(1).expect("day 1"));
    for (sampling, extra, bucket_of) in [
        ("week", "", &sunday_weeks as &dyn Fn(i64) -> i64),
        ("week", "&week-start=monday", &monday_weeks),
        ("month", "", &months),
    ] {
        let got = ok_json(
            app.get(
                T_STATS,
                &window_query(from, to, sampling, &format!("{zone}{extra}")),
            )
            .await,
        )
        .await;
        let expected = expected_totals(&refs, bucket_of, |r| r.duration, |r| r.vendor_price);
        assert_eq!(got, expected, "{sampling}{extra}");
    }
    // Sunday weeks: the DST Sunday opens a week (25 h day inside it); the Saturday before is
    // in the previous week. In UTC the Sunday 00:30 local call is still on Saturday.
    let sunday = local_midnight(berlin, NaiveDate::from_ymd_opt(2024, 10, 27).expect("date"));
    let weeks = ok_json(
        app.get(T_STATS, &window_query(from, to, "week", zone))
            .await,
    )
    .await;
    assert_eq!(weeks["data"]["t"][1], sunday);
    assert_eq!(weeks["data"]["total_calls"], json!([1, 4, 1]));
}

#[tokio::test]
async fn an_empty_window_answers_the_contracts_empty_document() {
    let app = spawn_app("family_empty").await;
    let resp = app
        .get(O_STATS, &window_query(T0, T0 + 3_599, "month", ""))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.text().await.expect("body"),
        r#"{"data":{"t":[],"total_calls":[],"successful_calls":[],"failed_calls":[],"total_duration":[],"acd":[],"asr":[],"total_price":[]},"rows":0,"totals":{"t":0,"total_calls":0,"successful_calls":0,"failed_calls":0,"total_duration":"0.0","acd":null,"asr":null,"total_price":"0.0"}}"#
    );
}

/// One row of `active_calls` (every column).
#[derive(Row, Serialize, Clone, Debug)]
struct ActiveRow {
    snapshot_timestamp: u32,
    customer_id: u32,
    customer_acc_id: u32,
    vendor_acc_id: u32,
    src_country_id: u32,
    dst_country_id: u32,
    src_prefix_routing: String,
    dst_prefix_routing: String,
    duration: i32,
    customer_price: f64,
    vendor_price: f64,
    start_time: u32,
    connect_time: Option<u32>,
    destination_prefix: String,
    destination_initial_interval: i32,
    destination_initial_rate: f64,
    destination_next_interval: i32,
    destination_next_rate: f64,
    destination_fee: f64,
    src_name_in: String,
    src_prefix_in: String,
    dst_prefix_in: String,
    from_domain: String,
    to_domain: String,
    ruri_domain: String,
    diversion_in: String,
    pai_in: String,
    ppi_in: String,
    privacy_in: String,
    rpid_in: String,
    rpid_privacy_in: String,
    auth_orig_transport_protocol_id: u8,
    auth_orig_ip: String,
    auth_orig_port: u16,
}

/// A call of ACCOUNT (both sides, CUSTOMER's) in the snapshot at `snapshot`, started `age` s
/// before it.
fn active(snapshot: i64, age: i64, n: u32) -> ActiveRow {
    let start = u32::try_from(snapshot - age).expect("fits");
    ActiveRow {
        snapshot_timestamp: u32::try_from(snapshot).expect("fits"),
        customer_id: CUSTOMER,
        customer_acc_id: ACCOUNT,
        vendor_acc_id: ACCOUNT,
        src_country_id: 1,
        dst_country_id: 44,
        src_prefix_routing: "1".into(),
        dst_prefix_routing: if n.is_multiple_of(2) { "4420" } else { "4930" }.into(),
        duration: i32::try_from(age).expect("fits"),
        customer_price: 0.012,
        vendor_price: 0.01,
        start_time: start,
        connect_time: (!n.is_multiple_of(3)).then_some(start + 2),
        destination_prefix: "44".into(),
        destination_initial_interval: 1,
        destination_initial_rate: 0.0125,
        destination_next_interval: 60,
        destination_next_rate: 0.011,
        destination_fee: 0.0,
        src_name_in: format!("caller {n}, \"quoted\""),
        src_prefix_in: format!("+1555{n:04}"),
        dst_prefix_in: format!("+4420{n:04}"),
        from_domain: "a.example".into(),
        to_domain: "b.example".into(),
        ruri_domain: "b.example".into(),
        diversion_in: String::new(),
        pai_in: String::new(),
        ppi_in: String::new(),
        privacy_in: String::new(),
        rpid_in: String::new(),
        rpid_privacy_in: String::new(),
        auth_orig_transport_protocol_id: 1 + (n % 2) as u8,
        auth_orig_ip: "192.0.2.1".into(),
        auth_orig_port: 5060 + (n % 2) as u16,
    }
}

async fn insert_active(app: &TestApp, rows: &[ActiveRow]) {
    let mut insert = app
        .ch
        .insert::<ActiveRow>("active_calls")
        .await
        .expect("insert");
    for row in rows {
        insert.write(row).await.expect("write");
    }
    insert.end().await.expect("end");
}

/// Calls per minute as the contract defines them, from the inserted rows: the rows matching
/// `keep` in the latest snapshot (of the whole table) taken in each minute of `[from, to]`.
fn expected_active(
    rows: &[ActiveRow],
    from: i64,
    to: i64,
    keep: impl Fn(&ActiveRow) -> bool,
) -> Value {
    let mut t = vec![];
    let mut calls = vec![];
    let mut minute = from - from % 60;
    while minute <= to - to % 60 {
        let latest = rows
            .iter()
            .map(|r| i64::from(r.snapshot_timestamp))
            .filter(|&s| s >= from.max(minute) && s <= to.min(minute + 59))
            .max();
        let n = latest.map_or(0, |s| {
            rows.iter()
                .filter(|r| i64::from(r.snapshot_timestamp) == s && keep(r))
                .count()
        });
        t.push(minute);
        calls.push(n);
        minute += 60;
    }
    json!({ "data": { "t": t, "calls": calls }, "rows": t.len() })
}

/// A recent minute to place snapshots at: `active_calls` keeps rows for 7 days only (its TTL
/// drops older parts at once), so fixed 2024 times would vanish on insert.
fn recent_minute() -> i64 {
    let now = chrono::Utc::now().timestamp();
    now - now % 60 - 3_600
}

/// Snapshots over four minutes: two in minute 0 (the later one counts), none in minute 1, one
/// in minute 2 holding only other accounts' calls, one in minute 3.
fn snapshot_rows(s0: i64) -> Vec<ActiveRow> {
    let mut rows = vec![];
    for n in 0..5 {
        rows.push(active(s0 + 10, 30 + i64::from(n), n));
    }
    for n in 0..3 {
        rows.push(active(s0 + 50, 60 + i64::from(n), n));
    }
    let mut foreign = active(s0 + 2 * 60 + 30, 5, 1);
    foreign.customer_acc_id = FOREIGN_ACCOUNT;
    foreign.vendor_acc_id = FOREIGN_ACCOUNT;
    foreign.customer_id = CUSTOMER + 1;
    rows.push(foreign);
    for n in 0..4 {
        let mut row = active(s0 + 3 * 60 + 5, 100 + i64::from(n), n);
        if n == 3 {
            row.customer_acc_id = SECOND_ACCOUNT; // origination: another account of ours
        }
        rows.push(row);
    }
    rows
}

#[tokio::test]
async fn active_calls_count_the_latest_snapshot_of_each_minute() {
    let app = spawn_app("family_active").await;
    let s0 = recent_minute();
    let rows = snapshot_rows(s0);
    insert_active(&app, &rows).await;
    let (from, to) = (s0, s0 + 4 * 60 + 59);
    let q = format!(
        "account-id={ACCOUNT_UUID}&from-time={}&to-time={}",
        iso(from),
        iso(to)
    );
    let got = ok_json(app.get(O_ACTIVE, &q).await).await;
    let expected = expected_active(&rows, from, to, |r| r.customer_acc_id == ACCOUNT);
    assert_eq!(got, expected);
    assert_eq!(got["data"]["calls"], json!([3, 0, 0, 3, 0]));

    // Termination counts by vendor account; filters of the table apply to the snapshot rows.
    let filtered = ok_json(
        app.get(T_ACTIVE, &format!("{q}&dst-prefix-routing-eq=4420"))
            .await,
    )
    .await;
    let expected = expected_active(&rows, from, to, |r| {
        r.vendor_acc_id == ACCOUNT && r.dst_prefix_routing == "4420"
    });
    assert_eq!(filtered, expected);

    // An unaligned from-time leaves out the earlier snapshot of its minute.
    let late = ok_json(
        app.get(
            O_ACTIVE,
            &format!(
                "account-id={ACCOUNT_UUID}&from-time={}&to-time={}",
                iso(s0 + 51),
                iso(to)
            ),
        )
        .await,
    )
    .await;
    assert_eq!(
        late,
        expected_active(&rows, s0 + 51, to, |r| r.customer_acc_id == ACCOUNT)
    );
    assert_eq!(late["data"]["calls"][0], 0);
}

#[tokio::test]
async fn active_calls_windows_are_capped_like_every_bucketed_answer() {
    // A window in 2024: the snapshots' retention (7 days) is lifted to test the cap alone.
    let app = spawn_app_with(
        "family_active_cap",
        &[("MAX_BUCKETS", "10"), ("ACTIVE_CALLS_RETENTION_DAYS", "0")],
    )
    .await;
    let q = |to: i64| {
        format!(
            "account-id={ACCOUNT_UUID}&from-time={}&to-time={}",
            iso(T0),
            iso(to)
        )
    };
    let fits = app.get(T_ACTIVE, &q(T0 + 9 * 60)).await;
    assert_eq!(fits.status(), 200, "{}", fits.text().await.expect("body"));
    let over = app.get(T_ACTIVE, &q(T0 + 10 * 60)).await;
    assert_eq!(over.status(), 400);
    let body: Value = over.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("too many buckets")),
        "{body}"
    );
    // Statistics count calendar buckets: 2024-03-05 … 2024-12-20 is 10 months, one more is 11.
    let months = |from: &str| {
        format!(
            "account-id={ACCOUNT_UUID}&from-time={from}&to-time={}&sampling=month",
            iso(T0)
        )
    };
    assert_eq!(app.get(T_STATS, &months("2024-03-05")).await.status(), 200);
    assert_eq!(app.get(T_STATS, &months("2024-02-29")).await.status(), 400);
}

/// The newest snapshot: ACCOUNT's calls of CUSTOMER, newest start first.
fn outgoing_rows(s0: i64) -> Vec<ActiveRow> {
    let mut rows = snapshot_rows(s0);
    let newest = s0 + 10 * 60;
    for n in 0..6 {
        let mut row = active(newest, 10 * i64::from(n) + 1, n);
        // SBCs record addresses, and some record names (so the filter is text there).
        row.auth_orig_ip = match n {
            2 => "192.0.2.2".into(),
            4 => "sbc-edge.example".into(),
            _ => row.auth_orig_ip,
        };
        rows.push(row);
    }
    let mut other_customer = active(newest, 1, 7);
    other_customer.customer_id = CUSTOMER + 1; // same account id, not this customer's call
    rows.push(other_customer);
    let mut other_account = active(newest, 1, 8);
    other_account.customer_acc_id = SECOND_ACCOUNT;
    rows.push(other_account);
    rows
}

fn expected_call(r: &ActiveRow) -> Value {
    let time = |t: u32| {
        chrono::DateTime::from_timestamp(i64::from(t), 0)
            .expect("valid")
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    json!({
        "snapshot_timestamp": time(r.snapshot_timestamp),
        "start_time": time(r.start_time),
        "connect_time": r.connect_time.map(time),
        "destination_prefix": r.destination_prefix,
        "destination_initial_interval": r.destination_initial_interval,
        "destination_initial_rate": r.destination_initial_rate,
        "destination_next_interval": r.destination_next_interval,
        "destination_next_rate": r.destination_next_rate,
        "destination_fee": r.destination_fee,
        "src_name_in": r.src_name_in,
        "src_prefix_in": r.src_prefix_in,
        "dst_prefix_in": r.dst_prefix_in,
        "src_prefix_routing": r.src_prefix_routing,
        "dst_prefix_routing": r.dst_prefix_routing,
        "from_domain": r.from_domain,
        "to_domain": r.to_domain,
        "ruri_domain": r.ruri_domain,
        "diversion_in": r.diversion_in,
        "pai_in": r.pai_in,
        "ppi_in": r.ppi_in,
        "privacy_in": r.privacy_in,
        "rpid_in": r.rpid_in,
        "rpid_privacy_in": r.rpid_privacy_in,
        "auth_orig_transport_protocol_id": r.auth_orig_transport_protocol_id,
        "auth_orig_ip": r.auth_orig_ip,
        "auth_orig_port": r.auth_orig_port,
    })
}

/// The expected answer: the newest snapshot's rows of CUSTOMER's ACCOUNT matching `keep`,
/// newest start first.
fn expected_outgoing(rows: &[ActiveRow], keep: impl Fn(&ActiveRow) -> bool) -> Vec<Value> {
    let newest = rows
        .iter()
        .map(|r| r.snapshot_timestamp)
        .max()
        .expect("rows");
    let mut mine: Vec<&ActiveRow> = rows
        .iter()
        .filter(|r| {
            r.snapshot_timestamp == newest
                && r.customer_id == CUSTOMER
                && r.customer_acc_id == ACCOUNT
                && keep(r)
        })
        .collect();
    mine.sort_by_key(|r| std::cmp::Reverse(r.start_time));
    mine.into_iter().map(expected_call).collect()
}

#[tokio::test]
async fn outgoing_active_calls_list_the_newest_snapshot_with_exact_keys() {
    let app = spawn_app("family_outgoing").await;
    let rows = outgoing_rows(recent_minute());
    insert_active(&app, &rows).await;
    let q = format!("account-id={ACCOUNT_UUID}");
    let resp = app.get(OUTGOING, &q).await;
    assert!(resp.headers().get("x-cdrstats-truncated").is_none());
    let body = resp.text().await.expect("body");
    let got: Value = serde_json::from_str(&body).expect("json");
    let expected = expected_outgoing(&rows, |_| true);
    assert_eq!(got["data"], json!(expected));
    assert_eq!(got["rows"], expected.len());
    assert_eq!(expected.len(), 6);
    // Keys in the contract's order (serde_json's Value would sort them: check the text).
    let first = &body[body.find("[{").expect("rows")..];
    let mut at = 0;
    for key in [
        "snapshot_timestamp",
        "start_time",
        "connect_time",
        "destination_prefix",
        "destination_initial_interval",
        "destination_initial_rate",
        "destination_next_interval",
        "destination_next_rate",
        "destination_fee",
        "src_name_in",
        "src_prefix_in",
        "dst_prefix_in",
        "src_prefix_routing",
        "dst_prefix_routing",
        "from_domain",
        "to_domain",
        "ruri_domain",
        "diversion_in",
        "pai_in",
        "ppi_in",
        "privacy_in",
        "rpid_in",
        "rpid_privacy_in",
        "auth_orig_transport_protocol_id",
        "auth_orig_ip",
        "auth_orig_port",
    ] {
        let found = first[at..].find(&format!("\"{key}\":")).expect(key);
        at += found + key.len();
    }
    assert!(
        first[..first.find('}').expect("end")]
            .matches("\":")
            .count()
            == 26
    );
}

/// Which rows a filter should keep.
type Keep = Box<dyn Fn(&ActiveRow) -> bool>;

#[tokio::test]
async fn outgoing_active_calls_filter_on_connect_time_null_and_the_text_and_port_filters() {
    let app = spawn_app("family_outgoing_filters").await;
    let rows = outgoing_rows(recent_minute());
    insert_active(&app, &rows).await;
    let base = format!("account-id={ACCOUNT_UUID}");
    let cases: Vec<(&str, Keep)> = vec![
        (
            "connect-time-null=true",
            Box::new(|r| r.connect_time.is_none()),
        ),
        (
            "connect-time-null=false",
            Box::new(|r| r.connect_time.is_some()),
        ),
        (
            "auth-orig-port=5061",
            Box::new(|r| r.auth_orig_port == 5061),
        ),
        (
            "auth-orig-transport-protocol-id=1",
            Box::new(|r| r.auth_orig_transport_protocol_id == 1),
        ),
        (
            "src-name-in-contains=CALLER%201",
            Box::new(|r| r.src_name_in.to_lowercase().contains("caller 1")),
        ),
        (
            "dst-prefix-in-ends-with=0002",
            Box::new(|r| r.dst_prefix_in.ends_with("0002")),
        ),
        (
            "dst-prefix-routing-starts-with=49",
            Box::new(|r| r.dst_prefix_routing.starts_with("49")),
        ),
        (
            "auth-orig-ip=192.0.2.2",
            Box::new(|r| r.auth_orig_ip == "192.0.2.2"),
        ),
        (
            "auth-orig-ip=sbc-edge.example",
            Box::new(|r| r.auth_orig_ip == "sbc-edge.example"),
        ),
    ];
    for (filter, keep) in cases {
        let got = ok_json(app.get(OUTGOING, &format!("{base}&{filter}")).await).await;
        let expected = expected_outgoing(&rows, keep);
        assert!(!expected.is_empty(), "{filter} keeps some calls");
        assert_eq!(got["data"], json!(expected), "{filter}");
        assert_eq!(got["rows"], expected.len(), "{filter}");
    }
    for bad in [
        "connect-time-null=yes",
        "connect-time-null=1",
        "auth-orig-port=65536",
    ] {
        let resp = app.get(OUTGOING, &format!("{base}&{bad}")).await;
        assert_eq!(resp.status(), 400, "{bad}");
        let name = bad.split('=').next().expect("name");
        assert_eq!(
            resp.json::<Value>().await.expect("json"),
            json!({ "error": format!("invalid value {name}") })
        );
    }
}

#[tokio::test]
async fn outgoing_active_calls_stop_at_the_row_cap_and_say_so() {
    let app = spawn_app_with("family_outgoing_cap", &[("MAX_ACTIVE_CALLS", "4")]).await;
    let rows = outgoing_rows(recent_minute());
    insert_active(&app, &rows).await;
    let resp = app
        .get(OUTGOING, &format!("account-id={ACCOUNT_UUID}"))
        .await;
    assert_eq!(resp.headers()["x-cdrstats-truncated"], "true");
    let got: Value = resp.json().await.expect("json");
    let expected = expected_outgoing(&rows, |_| true);
    assert_eq!(got["data"], json!(expected[..4]));
    assert_eq!(got["rows"], 4);
}

#[tokio::test]
async fn family_endpoints_share_auth_validation_csv_and_caching() {
    // Some requests ask for 2024 (T0): the snapshots' retention is lifted for them.
    let app = spawn_app_with("family_shared", &[("ACTIVE_CALLS_RETENTION_DAYS", "0")]).await;
    insert_active(&app, &outgoing_rows(recent_minute())).await;
    insert_billed(&app, &[billed(T0, 10, 0.5)]).await;

    // No token: an empty 401 on every new endpoint.
    for path in [T_STATS, O_STATS, T_ACTIVE, O_ACTIVE, OUTGOING] {
        let resp = app
            .http
            .get(format!("{}{path}?account-id={ACCOUNT_UUID}", app.address))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 401, "{path}");
        assert!(resp.text().await.expect("body").is_empty());
    }
    // The contract's messages, in the contract's order.
    let cases = [
        (
            T_STATS,
            "".to_owned(),
            "missing required param(s) account-id, from-time, sampling",
        ),
        (
            T_ACTIVE,
            "".to_owned(),
            "missing required param(s) account-id, from-time",
        ),
        (
            OUTGOING,
            "".to_owned(),
            "missing required param(s) account-id",
        ),
        (
            OUTGOING,
            format!("account-id={FOREIGN_UUID}"),
            "invalid value account-id",
        ),
        (
            T_STATS,
            window_query(T0, T0 + 60, "year", ""),
            "invalid sampling",
        ),
        (
            T_STATS,
            window_query(T0, T0 + 60, "week", "&week-start=friday"),
            "invalid value week-start",
        ),
        (
            O_STATS,
            window_query(T0, T0 + 60, "day", "&customer-price-gt=NaN"),
            "invalid value customer-price-gt",
        ),
        (
            O_ACTIVE,
            format!(
                "account-id={ACCOUNT_UUID}&from-time={}&from-time=2024-01-01",
                iso(T0)
            ),
            "param from-time can't be an array",
        ),
    ];
    for (path, query, message) in cases {
        let resp = app.get(path, &query).await;
        assert_eq!(resp.status(), 400, "{path}?{query}");
        assert_eq!(
            resp.json::<Value>().await.expect("json"),
            json!({ "error": message }),
            "{path}?{query}"
        );
    }
    // The quality endpoints still refuse week/month.
    let quality = app
        .get(TERMINATION, &window_query(T0, T0 + 60, "week", ""))
        .await;
    assert_eq!(quality.status(), 400);

    // CSV: a header and one row per bucket; text quoted, numbers bare.
    let csv = app
        .get(T_STATS, &window_query(T0, T0 + 59, "minute", "&format=csv"))
        .await;
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/csv")
    );
    assert_eq!(
        csv.text().await.expect("body"),
        format!(
            "\"t\",\"time\",\"total_calls\",\"successful_calls\",\"failed_calls\",\"total_duration\",\"acd\",\"asr\",\"total_price\"\r\n{T0},\"{}\",1,1,0,0.17,10.0,100.0,0.5\r\n",
            iso(T0)
        )
    );
    let calls = app
        .get(
            OUTGOING,
            &format!("account-id={ACCOUNT_UUID}&format=csv&auth-orig-port=5061"),
        )
        .await
        .text()
        .await
        .expect("body");
    let mut lines = calls.split("\r\n");
    assert!(
        lines
            .next()
            .expect("header")
            .starts_with("\"snapshot_timestamp\",\"start_time\",\"connect_time\",")
    );
    let first = lines.next().expect("a row");
    // n = 1 started last among the port-5061 calls (n = 1, 3, 5).
    assert!(first.contains(",\"caller 1, \"\"quoted\"\"\","), "{first}");
    assert!(first.ends_with(",2,\"192.0.2.1\",5061"), "{first}");

    // format=rows: one object per bucket (or call), decimals as JSON numbers.
    let rows: Value = app
        .get(
            T_STATS,
            &window_query(T0, T0 + 59, "minute", "&format=rows"),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        rows,
        json!([{ "t": T0, "time": iso(T0), "total_calls": 1, "successful_calls": 1,
                 "failed_calls": 0, "total_duration": 0.17, "acd": 10.0, "asr": 100.0,
                 "total_price": 0.5 }])
    );
    let minutes: Value = app
        .get(
            T_ACTIVE,
            &format!(
                "account-id={ACCOUNT_UUID}&from-time={}&to-time={}&format=rows",
                iso(T0),
                iso(T0 + 119)
            ),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        minutes,
        json!([{ "t": T0, "time": iso(T0), "calls": 0 }, { "t": T0 + 60, "time": iso(T0 + 60), "calls": 0 }])
    );
    let listed: Value = app
        .get(OUTGOING, &format!("account-id={ACCOUNT_UUID}&format=rows"))
        .await
        .json()
        .await
        .expect("json");
    let document: Value = app
        .get(OUTGOING, &format!("account-id={ACCOUNT_UUID}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed, document["data"]);
    let bad = app
        .get(OUTGOING, &format!("account-id={ACCOUNT_UUID}&format=xml"))
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.json::<Value>().await.expect("json"),
        json!({ "error": "invalid value format" })
    );

    // Cached: the second identical request is answered without ClickHouse, same body (the
    // CSV above shares the JSON's entry, so this asks another window).
    let q = window_query(T0, T0 + 119, "minute", "");
    let one = app.get(T_STATS, &q).await;
    // Whole minutes of a listed account: the rollup (the family property test checks both).
    assert_eq!(one.headers()["x-cdrstats-source"], "rollup");
    let etag = one.headers()["etag"].clone();
    let two = app.get(T_STATS, &q).await;
    assert_eq!(two.headers()["x-cdrstats-source"], "cache");
    assert_eq!(two.headers()["etag"], etag);
    // HEAD: the same status and headers as GET, no body.
    let head = app
        .http
        .head(format!("{}{T_STATS}?{q}", app.address))
        .header(
            "Authorization",
            token(cdrstats::auth::token::Mint::Access(ACCESS_ALL)),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["etag"], etag);
    assert_eq!(
        head.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert!(head.bytes().await.expect("body").is_empty());
    let wrong_method = app
        .http
        .post(format!("{}{T_STATS}?{q}", app.address))
        .send()
        .await
        .expect("request");
    // Another method on a known path: 405 with `Allow`, like every route.
    assert_eq!(wrong_method.status(), 405);
    assert!(
        wrong_method.headers()["allow"]
            .to_str()
            .expect("ascii")
            .contains("GET")
    );
    assert_eq!(
        wrong_method.text().await.expect("body"),
        r#"{"error":"method not allowed"}"#
    );
    // A future window runs no query and answers [] (as the quality endpoints do).
    let now = chrono::Utc::now().timestamp();
    let future = app
        .get(
            O_ACTIVE,
            &format!("account-id={ACCOUNT_UUID}&from-time={}", iso(now + 3_600)),
        )
        .await;
    assert_eq!(future.headers()["x-cdrstats-source"], "none");
    assert_eq!(future.text().await.expect("body"), "[]");
}

/// One answered call as the seeder wrote it, read back for the independent expectation.
#[derive(Row, serde::Deserialize, Debug)]
struct SeededCall {
    time_start: u32,
    duration: i32,
    customer_acc_id: u32,
}

#[derive(Row, serde::Deserialize, Debug, PartialEq)]
struct SnapshotCount {
    snapshot_timestamp: u32,
    customer_acc_id: u32,
    calls: u64,
}

#[tokio::test]
async fn seed_writes_a_snapshot_of_every_call_for_each_minute_it_lasts() {
    let (settings, ch) = migrated_database("t_family_seed").await;
    let end = recent_minute();
    let args = cdrstats::cli::seed::SeedArgs {
        rows: 3_000,
        days: 1,
        seed: 7,
        profile: cdrstats::cli::seed::Profile::Hot,
        customers: Some(2),
        hot_share: 0.4,
        end: Some(end),
        parallel: 1,
        first_stream: 0,
        if_empty: false,
        no_active_calls: false,
    };
    cdrstats::cli::seed::run(&settings, &args)
        .await
        .expect("seed");
    let calls: Vec<SeededCall> = ch
        .query("SELECT toUInt32(time_start) AS time_start, duration, customer_acc_id FROM cdrs WHERE is_last_cdr AND duration > 0")
        .fetch_all()
        .await
        .expect("calls");
    // The contract: a call is in every minute snapshot between its start and its end.
    let mut expected: std::collections::BTreeMap<(u32, u32), u64> = Default::default();
    for c in &calls {
        let (start, stop) = (
            i64::from(c.time_start),
            i64::from(c.time_start) + i64::from(c.duration),
        );
        let mut t = start - start % 60 + 60;
        while t <= stop.min(end) {
            *expected.entry((t as u32, c.customer_acc_id)).or_default() += 1;
            t += 60;
        }
    }
    let got: Vec<SnapshotCount> = ch
        .query("SELECT toUInt32(snapshot_timestamp) AS snapshot_timestamp, customer_acc_id, count() AS calls FROM active_calls GROUP BY snapshot_timestamp, customer_acc_id ORDER BY snapshot_timestamp, customer_acc_id")
        .fetch_all()
        .await
        .expect("snapshots");
    let want: Vec<SnapshotCount> = expected
        .into_iter()
        .map(
            |((snapshot_timestamp, customer_acc_id), calls)| SnapshotCount {
                snapshot_timestamp,
                customer_acc_id,
                calls,
            },
        )
        .collect();
    assert!(want.len() > 100, "{} snapshot groups", want.len());
    assert_eq!(got, want);
    // Every snapshot row names the account's owner as customer_id.
    let wrong_owner: u64 = ch
        .query(
            "SELECT count() FROM active_calls AS s \
             LEFT JOIN (SELECT id, contractor_id FROM accounts FINAL) AS a ON a.id = s.customer_acc_id \
             WHERE s.customer_id != a.contractor_id",
        )
        .fetch_one()
        .await
        .expect("owners");
    assert_eq!(wrong_owner, 0);
    // `--no-active-calls` appends CDRs and leaves the snapshots as they were.
    let count = |sql: &'static str| {
        let ch = ch.clone();
        async move { ch.query(sql).fetch_one::<u64>().await.expect(sql) }
    };
    let snapshots = count("SELECT count() FROM active_calls").await;
    let more = cdrstats::cli::seed::SeedArgs {
        first_stream: 1,
        no_active_calls: true,
        ..args
    };
    cdrstats::cli::seed::run(&settings, &more)
        .await
        .expect("seed more");
    assert_eq!(count("SELECT count() FROM cdrs").await, 6_000);
    assert_eq!(count("SELECT count() FROM active_calls").await, snapshots);
}

#[tokio::test]
async fn statistics_agree_with_their_quality_twins_on_every_shared_column() {
    use cdrstats::domain::Endpoint;
    use rand::{Rng, SeedableRng};
    // The quality endpoints answer from rollups where they can, the statistics endpoints from
    // raw CDRs: random cases of the equivalence test must give the same calls, ACD and ASR in
    // every bucket that holds calls, and the same totals.
    let app = spawn_app("family_twins").await;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(20_261_127);
    app.insert_cdrs(&crate::equivalence::random_rows(&mut rng))
        .await;
    let samplings = ["minute", "5minutes", "15minutes", "hour", "day"];
    let mut quality_sources = std::collections::BTreeSet::new();
    for case in 0..30 {
        let (quality, statistics) = if rng.random_bool(0.5) {
            (
                Endpoint::TerminationQuality,
                Endpoint::TerminationStatistics,
            )
        } else {
            (
                Endpoint::OriginationQuality,
                Endpoint::OriginationStatistics,
            )
        };
        let sampling = samplings[rng.random_range(0..samplings.len())];
        let from = T0 - 600 + rng.random_range(0..2 * 86_400);
        let to = from + rng.random_range(0..86_400);
        let mut extra = crate::equivalence::random_filters(&mut rng, quality).0;
        if rng.random_bool(0.3) {
            extra.push_str("&time-zone=Europe%2FBerlin");
        }
        let query = window_query(from, to, sampling, &extra);
        let context = format!("case {case}: {} {query}", statistics.name());
        let q = app.get(quality.path(), &query).await;
        quality_sources.insert(
            q.headers()["x-cdrstats-source"]
                .to_str()
                .expect("ascii")
                .to_owned(),
        );
        let q = ok_json(q).await;
        let s = ok_json(app.get(statistics.path(), &query).await).await;
        let non_empty: Vec<usize> = (0..q["rows"].as_u64().expect("rows") as usize)
            .filter(|&i| q["data"]["total_calls"][i] != 0)
            .collect();
        assert_eq!(s["rows"], non_empty.len(), "{context}");
        for column in ["t", "total_calls", "acd", "asr"] {
            let from_quality: Vec<&Value> =
                non_empty.iter().map(|&i| &q["data"][column][i]).collect();
            let from_statistics: Vec<&Value> = s["data"][column]
                .as_array()
                .expect("column")
                .iter()
                .collect();
            assert_eq!(from_statistics, from_quality, "{column}: {context}");
            assert_eq!(
                s["totals"][column], q["totals"][column],
                "totals {column}: {context}"
            );
        }
    }
    assert!(quality_sources.contains("rollup"), "{quality_sources:?}");
    assert!(quality_sources.contains("raw"), "{quality_sources:?}");
}

/// A rollup-served (or, for the price and duration ones, raw-only) filter of the statistics
/// endpoints and, written here, what it means for a row.
type RowFilter = (&'static str, fn(&BilledCdr) -> bool);

const STATISTICS_FILTERS: &[RowFilter] = &[
    ("", |_| true),
    ("&dst-country-id=42", |r| r.dst_country_id == 42),
    ("&src-country-id=2", |r| r.src_country_id == 2),
    ("&src-country-id=2&dst-country-id=41", |r| {
        r.src_country_id == 2 && r.dst_country_id == 41
    }),
    ("&dst-prefix-routing-starts-with=44", |r| {
        r.dst_prefix_routing.starts_with("44")
    }),
    ("&dst-prefix-routing-eq=49", |r| {
        r.dst_prefix_routing == "49"
    }),
    ("&duration-gt=100", |r| r.duration > 100),
];

/// Property test of the statistics endpoints' rollup path (`totals::plan`): random
/// windows (second-precise edges), samplings minute … month, zones, rollup-served and raw-only
/// filters, both sides and both duration columns give, from the planner (rollup allowed and
/// forced raw) and from the gateway, the document computed here from the inserted rows. ACCOUNT
/// is rolled up only from mid-span on, and its rollup rows before that are made wrong
/// (doubled), so a plan reading the rollup before `since` would show. The span crosses the end
/// of summer time in Berlin and a month boundary; prices include 6-place half-way values.
#[tokio::test]
async fn statistics_from_rollups_equal_an_independent_sum_of_raw_cdrs_listed_from_mid_span() {
    use cdrstats::domain::Endpoint;
    use cdrstats::stats::plan::Path;
    use cdrstats::stats::query::fetch_rows;
    use cdrstats::stats::totals::{self, TotalsRequest, TotalsRow};
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    let app = spawn_app_with("family_rollups", &[("SETTLE_LAG_SECS", "0")]).await;
    let mut rng = SmallRng::seed_from_u64(20_261_127);
    // Saturday 2024-10-26 00:00 UTC, eight days: Berlin's DST end (Oct 27) and Nov 1.
    const BASE: i64 = 1_729_900_800;
    const SPAN: i64 = 8 * 86_400;
    let prices = [0.01, 0.0100005, 0.0149995, 0.1234565, 1.0000025, 0.02];
    let prefixes = ["4420", "4479", "49", "1212", "331"];
    let rows: Vec<BilledCdr> = (0..4_000)
        .map(|_| {
            let duration = if rng.random_bool(0.55) {
                rng.random_range(1..600)
            } else {
                0
            };
            let mut r = billed(BASE + rng.random_range(0..SPAN), duration, 0.0);
            r.vendor_duration = duration + rng.random_range(0..30);
            r.customer_duration = duration + rng.random_range(0..60);
            r.vendor_price = prices[rng.random_range(0..prices.len())];
            r.customer_price = prices[rng.random_range(0..prices.len())];
            r.vendor_acc_id = [ACCOUNT, SECOND_ACCOUNT][usize::from(rng.random_bool(0.2))];
            r.customer_acc_id = [ACCOUNT, SECOND_ACCOUNT][usize::from(rng.random_bool(0.2))];
            r.is_last_cdr = rng.random_bool(0.7);
            r.src_country_id = rng.random_range(1..4);
            r.dst_country_id = rng.random_range(40..45);
            r.dst_prefix_routing = prefixes[rng.random_range(0..prefixes.len())].to_owned();
            r
        })
        .collect();
    insert_billed(&app, &rows).await;
    // Listed from mid-span (a new row replaces the helper's listing from 0), `since` rounded up
    // to a minute by the gateway; the rollup rows before it doubled.
    let since = BASE + SPAN / 2 + 17;
    app.list_from_with_wrong_rollups_before(ACCOUNT, since)
        .await;

    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().expect("zone");
    let local_date = |t: i64, tz: chrono_tz::Tz| {
        chrono::DateTime::from_timestamp(t, 0)
            .expect("valid")
            .with_timezone(&tz)
            .date_naive()
    };
    let samplings = [
        ("minute", 60),
        ("5minutes", 300),
        ("15minutes", 900),
        ("hour", 3600),
        ("day", 86_400),
        ("week", 0),
        ("month", 0),
    ];
    let (mut rolled, mut with_calls) = (0, 0);
    for case in 0..40 {
        let endpoint = if rng.random_bool(0.5) {
            Endpoint::TerminationStatistics
        } else {
            Endpoint::OriginationStatistics
        };
        let (sampling, step) = samplings[rng.random_range(0..samplings.len())];
        let tz = rng.random_bool(0.4).then_some(berlin);
        let longest = if step == 0 {
            SPAN
        } else {
            (step * 600).min(SPAN)
        };
        let from = BASE - 600 + rng.random_range(0..SPAN);
        let to = from + rng.random_range(0..longest);
        let (filter, keep) = STATISTICS_FILTERS[rng.random_range(0..STATISTICS_FILTERS.len())];
        let zone = if tz.is_some() {
            "&time-zone=Europe%2FBerlin"
        } else {
            ""
        };
        let query = window_query(from, to, sampling, &format!("{filter}{zone}"));
        let context = format!("case {case}: {} {query}", endpoint.name());
        let req = TotalsRequest::parse(endpoint, &query).expect("valid case");

        let side_rows: Vec<&BilledCdr> = rows
            .iter()
            .filter(|r| (from..=to).contains(&i64::from(r.time_start)) && keep(r))
            .filter(|r| match endpoint {
                Endpoint::TerminationStatistics => r.vendor_acc_id == ACCOUNT,
                _ => r.customer_acc_id == ACCOUNT && r.is_last_cdr,
            })
            .collect();
        with_calls += usize::from(!side_rows.is_empty());
        let zone_of = tz.unwrap_or(chrono_tz::UTC);
        let bucket_of = |t: i64| match (sampling, tz) {
            ("week", _) => {
                let d = local_date(t, zone_of);
                let back = d.weekday().num_days_from_sunday();
                local_midnight(zone_of, d - chrono::Days::new(u64::from(back)))
            }
            ("month", _) => {
                local_midnight(zone_of, local_date(t, zone_of).with_day(1).expect("day 1"))
            }
            ("day", Some(z)) => local_midnight(z, local_date(t, z)),
            ("hour", Some(z)) => {
                let offset = i64::from(
                    chrono::Offset::fix(
                        &z.offset_from_utc_datetime(
                            &chrono::DateTime::from_timestamp(t, 0)
                                .expect("valid")
                                .naive_utc(),
                        ),
                    )
                    .local_minus_utc(),
                );
                t - (t + offset).rem_euclid(3600)
            }
            _ => t - t.rem_euclid(step),
        };
        let price = |r: &BilledCdr| match endpoint {
            Endpoint::TerminationStatistics => r.vendor_price,
            _ => r.customer_price,
        };
        for column in ["duration", "billed"] {
            let (name, duration): (&'static str, fn(&BilledCdr) -> i32) = match (column, endpoint) {
                ("duration", _) => ("duration", |r| r.duration),
                (_, Endpoint::TerminationStatistics) => ("vendor_duration", |r| r.vendor_duration),
                _ => ("customer_duration", |r| r.customer_duration),
            };
            let expected = expected_totals(&side_rows, bucket_of, duration, price);
            let mut planned_source = "raw";
            for allow_rollup in [true, false] {
                let since = planned_since(&app, endpoint, ACCOUNT, allow_rollup).await;
                let plan = totals::plan(&req, ACCOUNT, req.window(i64::MAX / 4), name, since);
                if plan.path == Path::Rollup {
                    rolled += 1;
                    planned_source = "rollup";
                }
                let got: Vec<TotalsRow> = fetch_rows(&app.ch, &plan).await.expect("query");
                let doc = serde_json::to_value(totals::build(got, req.time_zone)).expect("json");
                assert_eq!(
                    doc, expected,
                    "{context} {name} rollup allowed: {allow_rollup}"
                );
            }
            if name == "duration" {
                // The first ask of this window: computed, the header names the plan's source.
                let resp = app.get(endpoint.path(), &query).await;
                let source = resp.headers()["x-cdrstats-source"].to_str().expect("ascii");
                assert_eq!(source, planned_source, "{context}");
                let got = ok_json(resp).await;
                assert_eq!(got, expected, "gateway: {context}");
            }
        }
    }
    assert!(with_calls >= 30, "only {with_calls} cases saw calls");
    assert!(rolled >= 20, "only {rolled} plans read a rollup");
}

/// Statistics read rollups and raw CDRs, so both retentions apply as for the quality twins: a
/// window needing deleted data is a 400, never zeros.
#[tokio::test]
async fn statistics_refuse_windows_needing_cdrs_or_rollups_past_their_retention() {
    let app = spawn_app_with(
        "family_retention",
        &[
            ("RAW_RETENTION_DAYS", "1"),
            ("ROLLUP_RETENTION_DAYS", "30"),
            ("ROLLUP_LISTING_TTL_SECS", "1"),
        ],
    )
    .await;
    let now = chrono::Utc::now().timestamp();
    let day = (now - 3 * 86_400) / 86_400 * 86_400;
    insert_billed(&app, &[billed(day + 600, 30, 0.01)]).await;
    let status_of = |query: String| {
        let app = &app;
        async move {
            let resp = app.get(T_STATS, &query).await;
            let status = resp.status();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };
    // Whole minutes of a listed account, no raw-only filter: the rollup answers.
    let (status, body) = status_of(window_query(day, day + 3599, "hour", "")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totals"]["total_calls"], 1, "{body}");
    // A price filter needs raw CDRs, gone after a day.
    let (status, body) = status_of(window_query(
        day,
        day + 3599,
        "hour",
        "&vendor-price-gt=0.001",
    ))
    .await;
    assert_eq!(status, 400);
    let message = body["error"].as_str().expect("error message");
    assert!(message.contains("raw CDRs are kept 1 days"), "{message}");
    // Older than the rollups' retention.
    let old = day - 40 * 86_400;
    let (status, body) = status_of(window_query(old, old + 3599, "hour", "")).await;
    assert_eq!(status, 400, "{body}");
    // An unlisted account needs raw CDRs for whole minutes too.
    app.ch
        .query("ALTER TABLE rollup_accounts DELETE WHERE side = 0 AND account_id = {a:UInt32} SETTINGS mutations_sync = 2")
        .param("a", ACCOUNT)
        .execute()
        .await
        .expect("unlist");
    // The gateway sees the listing change once its reused value expires.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    // (Whole minutes only, another sampling than the cached first answer.)
    let (status, body) = status_of(window_query(day, day + 3599, "15minutes", "")).await;
    assert_eq!(status, 400, "{body}");
}
