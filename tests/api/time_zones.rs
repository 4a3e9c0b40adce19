//! `time-zone`: local hours and days, correct across DST changes, checked against the test's
//! own grouping of the inserted rows by local time.

use crate::helpers::*;
use chrono::{Datelike, TimeZone, Timelike};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// Rows every 10 minutes from 2024-10-25T22:00Z to 2024-10-28T23:00Z (the Berlin fall-back night
/// is 2024-10-27), durations cycling so acd/asr vary.
fn rows() -> Vec<Cdr> {
    (0..(73 * 6))
        .map(|i| cdr(1_729_893_600 + i * 600, (i % 4) as i32 * 10))
        .collect()
}

/// Counts per local bucket start, by the test's own reading of local time.
fn expected(
    rows: &[Cdr],
    tz: Tz,
    bucket: impl Fn(chrono::DateTime<Tz>) -> i64,
) -> BTreeMap<i64, u64> {
    let mut out = BTreeMap::new();
    for r in rows {
        let local = tz
            .timestamp_opt(i64::from(r.time_start), 0)
            .single()
            .expect("instant");
        *out.entry(bucket(local)).or_insert(0) += 1;
    }
    out
}

#[tokio::test]
async fn local_days_and_hours_are_right_across_dst() {
    let app = spawn_app("time_zones").await;
    let rows = rows();
    app.insert_cdrs(&rows).await;
    let berlin: Tz = "Europe/Berlin".parse().expect("zone");

    // Days: 2024-10-26 (24 h), 2024-10-27 (25 h), 2024-10-28 (24 h), local.
    let q = "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2024-10-26T00:00:00%2B02:00\
             &to-time=2024-10-28T23:59:59%2B01:00&sampling=day&time-zone=Europe%2FBerlin";
    let got: serde_json::Value = app.get(TERMINATION, q).await.json().await.expect("json");
    let by_day = expected(&rows, berlin, |l| {
        berlin
            .with_ymd_and_hms(l.year(), l.month(), l.day(), 0, 0, 0)
            .single()
            .expect("midnight")
            .timestamp()
    });
    let days: Vec<i64> = got["data"]["t"]
        .as_array()
        .expect("t")
        .iter()
        .map(|v| v.as_i64().expect("t"))
        .collect();
    assert_eq!(days, vec![1_729_893_600, 1_729_980_000, 1_730_070_000]);
    for (i, day) in days.iter().enumerate() {
        assert_eq!(got["data"]["total_calls"][i], by_day[day], "day {day}");
    }
    // cps uses the real length: 150 calls over the 25-hour day.
    let calls = by_day[&1_729_980_000];
    assert_eq!(calls, 150);
    assert_eq!(
        got["data"]["cps"][1],
        expected_ratio(i128::from(calls), 25 * 3600)
    );
    assert_eq!(
        got["data"]["cps"][0],
        expected_ratio(i128::from(by_day[&1_729_893_600]), 86_400)
    );

    // Hours through the fall-back night: 02:00 local happens twice and is two buckets.
    let q = "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2024-10-27T00:00:00%2B02:00\
             &to-time=2024-10-27T23:59:59%2B01:00&sampling=hour&time-zone=Europe%2FBerlin";
    let got: serde_json::Value = app.get(TERMINATION, q).await.json().await.expect("json");
    assert_eq!(got["rows"], 25);
    let by_hour = expected(&rows, berlin, |l| {
        l.timestamp() - i64::from(l.minute() * 60 + l.second())
    });
    for (i, t) in got["data"]["t"].as_array().expect("t").iter().enumerate() {
        let t = t.as_i64().expect("t");
        assert_eq!(
            got["data"]["total_calls"][i],
            by_hour.get(&t).copied().unwrap_or(0),
            "hour {t}"
        );
    }

    // A +05:45 zone: hours start at :15 UTC, and the CSV shows local times.
    let q = "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2024-10-27T00:00:00Z\
             &to-time=2024-10-27T05:59:59Z&sampling=hour&time-zone=Asia%2FKathmandu&format=csv";
    let csv = app.get(TERMINATION, q).await.text().await.expect("csv");
    let second = csv.lines().nth(1).expect("a bucket");
    assert!(second.contains("+05:45"), "{second}");
    let first_t: i64 = second
        .split(',')
        .next()
        .expect("t")
        .parse()
        .expect("number");
    assert_eq!(first_t % 3600, 15 * 60);

    let bad_query = "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2024-10-27\
                     &sampling=hour&time-zone=Mars%2FOlympus";
    let bad = app.get(TERMINATION, bad_query).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.text().await.expect("body"),
        r#"{"error":"invalid value time-zone"}"#
    );
}
