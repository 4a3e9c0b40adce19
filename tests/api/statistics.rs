//! The statistics endpoints end to end: numbers, buckets, filters, both endpoints.

use crate::helpers::*;
use serde_json::Value;

async fn json(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), 200, "unexpected status");
    resp.json().await.expect("json body")
}

/// The seed's three minutes: 150/120/180 calls, 130/100/150 answered, 650/480/720 s.
/// The seed example of the contract: three minutes of 150/120/180 calls.
pub fn seed_rows() -> Vec<Cdr> {
    let mut rows = vec![];
    for (minute, calls, answered, total_duration) in
        [(0, 150, 130, 650), (1, 120, 100, 480), (2, 180, 150, 720)]
    {
        let start = T0 + 60 * minute;
        for i in 0..calls {
            // Spread answered durations so they sum exactly to total_duration.
            let duration = if i < answered {
                let base = total_duration / answered;
                base + i32::from(i < total_duration % answered)
            } else {
                0
            };
            rows.push(cdr(start + i64::from(i % 60), duration));
        }
    }
    rows
}

#[tokio::test]
async fn the_seed_example_comes_out_exactly() {
    let app = spawn_app("seed_example").await;
    app.insert_cdrs(&seed_rows()).await;
    let resp = app
        .get(TERMINATION, &window_query(T0, T0 + 179, "minute", ""))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body = resp.text().await.expect("body");
    let expected = format!(
        r#"{{"data":{{"t":[{},{},{}],"total_calls":[150,120,180],"acd":["5.0","4.8","4.8"],"asr":["86.67","83.33","83.33"],"cps":["2.5","2.0","3.0"]}},"rows":3,"totals":{{"t":0,"total_calls":450,"acd":"4.87","asr":"84.44","cps":"7.5"}}}}"#,
        T0,
        T0 + 60,
        T0 + 120
    );
    assert_eq!(body, expected);
}

#[tokio::test]
async fn response_headers_follow_the_contract() {
    let app = spawn_app("headers").await;
    app.insert_cdrs(&seed_rows()).await;
    let resp = app
        .http
        .get(format!(
            "{}{TERMINATION}?{}",
            app.address,
            window_query(T0, T0 + 179, "minute", "")
        ))
        .header(
            "Authorization",
            token(cdrstats::auth::token::Mint::Access(ACCESS_ALL)),
        )
        .header("X-Request-Id", "20651960-0677-4a19-b16c-dd160f472cf5")
        .send()
        .await
        .expect("request");
    let h = resp.headers().clone();
    assert_eq!(h["x-request-id"], "20651960-0677-4a19-b16c-dd160f472cf5");
    assert_eq!(h["cache-control"], "max-age=0, private, must-revalidate");
    assert_eq!(h["vary"], "Accept");
    assert_eq!(h["x-frame-options"], "SAMEORIGIN");
    assert_eq!(h["x-xss-protection"], "0");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-permitted-cross-domain-policies"], "none");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    let runtime: f64 = h["x-runtime"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(runtime > 0.0);
    let etag = h["etag"].to_str().expect("ascii").to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");

    // The same request with If-None-Match is a 304 without a body.
    let again = app
        .http
        .get(format!(
            "{}{TERMINATION}?{}",
            app.address,
            window_query(T0, T0 + 179, "minute", "")
        ))
        .header(
            "Authorization",
            token(cdrstats::auth::token::Mint::Access(ACCESS_ALL)),
        )
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.text().await.expect("body").is_empty());

    // A request id that is not plain text is replaced, not echoed.
    let odd = app
        .http
        .get(format!("{}/healthz", app.address))
        .header("X-Request-Id", "<script>")
        .send()
        .await
        .expect("request");
    assert_ne!(odd.headers()["x-request-id"], "<script>");
}

#[tokio::test]
async fn buckets_are_filled_bounds_are_inclusive_and_from_is_unaligned() {
    let app = spawn_app("bounds").await;
    let from = T0 + 30; // unaligned: the first bucket is T0, but rows before T0+30 don't count
    let to = T0 + 5 * 60 + 10;
    let rows = vec![
        cdr(T0 + 29, 7),      // before from: excluded
        cdr(from, 3),         // exactly from: included
        cdr(T0 + 59, 0),      // same bucket, unanswered
        cdr(T0 + 3 * 60, 11), // bucket 3; buckets 1, 2 and 4 stay empty
        cdr(to, 5),           // exactly to: included
        cdr(to + 1, 100),     // after to: excluded
    ];
    app.insert_cdrs(&rows).await;
    let got = json(
        app.get(TERMINATION, &window_query(from, to, "minute", ""))
            .await,
    )
    .await;
    let counted: Vec<&Cdr> = rows[1..5].iter().collect();
    assert_eq!(got, expected_document(&counted, T0, T0 + 300, 60));
    assert_eq!(got["rows"], 6);
    assert_eq!(
        got["data"]["total_calls"],
        serde_json::json!([2, 0, 0, 1, 0, 1])
    );
    assert_eq!(got["data"]["acd"][1], Value::Null);
    assert_eq!(got["data"]["cps"][1], "0.0");
}

#[tokio::test]
async fn every_sampling_aligns_its_buckets() {
    let app = spawn_app("samplings").await;
    // Two days of rows every 7 minutes with varying durations.
    let day_start = T0 - T0 % 86_400;
    let rows: Vec<Cdr> = (0..(2 * 86_400 / 420))
        .map(|i| cdr(day_start + i * 420 + 13, (i % 5) as i32 * 17))
        .collect();
    app.insert_cdrs(&rows).await;
    let from = day_start + 3_000;
    let to = day_start + 86_400 + 40_000;
    for (sampling, step) in [
        ("minute", 60),
        ("5minutes", 300),
        ("15minutes", 900),
        ("hour", 3600),
        ("day", 86_400),
    ] {
        let got = json(
            app.get(TERMINATION, &window_query(from, to, sampling, ""))
                .await,
        )
        .await;
        let counted: Vec<&Cdr> = rows
            .iter()
            .filter(|r| (from..=to).contains(&i64::from(r.time_start)))
            .collect();
        let first = from - from % step;
        let last = to - to % step;
        assert_eq!(
            got,
            expected_document(&counted, first, last, step),
            "{sampling}"
        );
    }
}

#[tokio::test]
async fn midpoints_round_half_away_from_zero() {
    let app = spawn_app("midpoints").await;
    // 200 answered calls lasting 201 s in all: acd 1.005 → "1.01".
    // 8 calls, 1 answered in the next minute: asr 12.5 exactly → "12.5"; 1/8 minute cps.
    let mut rows: Vec<Cdr> = (0..200)
        .map(|i| cdr(T0 + i % 60, if i == 0 { 2 } else { 1 }))
        .collect();
    rows.extend((0..8).map(|i| cdr(T0 + 60 + i, if i == 0 { 9 } else { 0 })));
    // 1 answered out of 3 in the third minute: 33.333.. → "33.33"; 2 of 3 → "66.67".
    rows.extend((0..3).map(|i| cdr(T0 + 120 + i, if i < 2 { 4 } else { 0 })));
    app.insert_cdrs(&rows).await;
    let got = json(
        app.get(TERMINATION, &window_query(T0, T0 + 179, "minute", ""))
            .await,
    )
    .await;
    assert_eq!(got["data"]["acd"][0], "1.01");
    assert_eq!(got["data"]["asr"][1], "12.5");
    assert_eq!(got["data"]["cps"][1], "0.13");
    assert_eq!(got["data"]["asr"][2], "66.67");
    let all: Vec<&Cdr> = rows.iter().collect();
    assert_eq!(got, expected_document(&all, T0, T0 + 120, 60));
}

#[tokio::test]
async fn origination_counts_only_last_cdrs_of_its_account_column() {
    let app = spawn_app("origination").await;
    let mut rows = vec![];
    for i in 0..40 {
        let mut r = cdr(T0 + i, if i % 3 == 0 { 20 } else { 0 });
        r.is_last_cdr = i % 2 == 0;
        // Half the rows belong to ACCOUNT as customer, the other half as vendor only.
        if i % 4 == 1 {
            r.customer_acc_id = SECOND_ACCOUNT;
        }
        if i % 4 == 2 {
            r.vendor_acc_id = SECOND_ACCOUNT;
        }
        rows.push(r);
    }
    app.insert_cdrs(&rows).await;
    let q = window_query(T0, T0 + 59, "minute", "");
    let orig = json(app.get(ORIGINATION, &q).await).await;
    let o: Vec<&Cdr> = rows
        .iter()
        .filter(|r| r.is_last_cdr && r.customer_acc_id == ACCOUNT)
        .collect();
    assert_eq!(orig, expected_document(&o, T0, T0, 60));
    let term = json(app.get(TERMINATION, &q).await).await;
    let t: Vec<&Cdr> = rows.iter().filter(|r| r.vendor_acc_id == ACCOUNT).collect();
    assert_eq!(term, expected_document(&t, T0, T0, 60));
    assert_ne!(orig["totals"]["total_calls"], term["totals"]["total_calls"]);
}

/// Rows that differ in every filtered column.
fn varied_rows() -> Vec<Cdr> {
    let prefixes = ["4420", "4479", "49", "1212", "ABC9", "x4420y"];
    let ips = ["192.0.2.1", "192.0.2.2", "2001:db8::1"];
    (0..120)
        .map(|i: i64| {
            let mut r = cdr(T0 + (i * 7) % 180, ((i * 13) % 50) as i32 - 5);
            r.src_country_id = (i % 4) as u32;
            r.dst_country_id = (i % 5) as u32 + 40;
            r.src_prefix_routing = prefixes[(i % 6) as usize].to_owned();
            r.dst_prefix_routing = prefixes[((i + 2) % 6) as usize].to_lowercase();
            r.auth_orig_ip = ips[(i % 3) as usize].to_owned();
            r.vendor_price = [0.01, 0.015, 0.02][(i % 3) as usize];
            r.customer_price = [0.012, 0.018, 0.024][(i % 3) as usize];
            r.is_last_cdr = true;
            r
        })
        .collect()
}

type Pred = fn(&Cdr) -> bool;

#[tokio::test]
async fn every_filter_and_operator_selects_the_right_rows() {
    let app = spawn_app("filters").await;
    let rows = varied_rows();
    app.insert_cdrs(&rows).await;
    let cases: Vec<(&str, &str, &str, Pred)> = vec![
        (TERMINATION, "src-country-id", "2", |r| {
            r.src_country_id == 2
        }),
        (TERMINATION, "dst-country-id", "43", |r| {
            r.dst_country_id == 43
        }),
        (TERMINATION, "src-prefix-routing-eq", "4420", |r| {
            r.src_prefix_routing == "4420"
        }),
        (TERMINATION, "src-prefix-routing-starts-with", "44", |r| {
            r.src_prefix_routing.starts_with("44")
        }),
        (TERMINATION, "src-prefix-routing-ends-with", "9", |r| {
            r.src_prefix_routing.ends_with('9')
        }),
        (TERMINATION, "src-prefix-routing-contains", "abc", |r| {
            r.src_prefix_routing.to_lowercase().contains("abc")
        }),
        (TERMINATION, "dst-prefix-routing-eq", "abc9", |r| {
            r.dst_prefix_routing == "abc9"
        }),
        (TERMINATION, "dst-prefix-routing-starts-with", "4", |r| {
            r.dst_prefix_routing.starts_with('4')
        }),
        (TERMINATION, "dst-prefix-routing-ends-with", "20", |r| {
            r.dst_prefix_routing.ends_with("20")
        }),
        (TERMINATION, "dst-prefix-routing-contains", "X442", |r| {
            r.dst_prefix_routing.to_lowercase().contains("x442")
        }),
        (TERMINATION, "duration-eq", "8", |r| r.duration == 8),
        (TERMINATION, "duration-gt", "30", |r| r.duration > 30),
        (TERMINATION, "duration-lt", "0", |r| r.duration < 0),
        (TERMINATION, "vendor-price-eq", "0.015", |r| {
            r.vendor_price == 0.015
        }),
        (TERMINATION, "vendor-price-gt", "0.01", |r| {
            r.vendor_price > 0.01
        }),
        (TERMINATION, "vendor-price-lt", "0.02", |r| {
            r.vendor_price < 0.02
        }),
        (ORIGINATION, "customer-price-eq", "0.018", |r| {
            r.customer_price == 0.018
        }),
        (ORIGINATION, "customer-price-gt", "0.012", |r| {
            r.customer_price > 0.012
        }),
        (ORIGINATION, "customer-price-lt", "0.024", |r| {
            r.customer_price < 0.024
        }),
        (ORIGINATION, "auth-orig-ip", "2001:db8:0::1", |r| {
            r.auth_orig_ip == "2001:db8::1"
        }),
        (ORIGINATION, "auth-orig-ip", "192.0.2.2", |r| {
            r.auth_orig_ip == "192.0.2.2"
        }),
    ];
    for (path, param, value, pred) in cases {
        let extra = format!("&{param}={}", urlencode(value));
        let got = json(
            app.get(path, &window_query(T0, T0 + 179, "minute", &extra))
                .await,
        )
        .await;
        let selected: Vec<&Cdr> = rows.iter().filter(|r| pred(r)).collect();
        assert!(
            !selected.is_empty() && selected.len() < rows.len(),
            "{param}: weak case"
        );
        assert_eq!(
            got,
            expected_document(&selected, T0, T0 + 120, 60),
            "{param}={value}"
        );
    }
    // Filters combine with AND.
    let got = json(
        app.get(
            TERMINATION,
            &window_query(T0, T0 + 179, "minute", "&src-country-id=1&duration-gt=0"),
        )
        .await,
    )
    .await;
    let both: Vec<&Cdr> = rows
        .iter()
        .filter(|r| r.src_country_id == 1 && r.duration > 0)
        .collect();
    assert_eq!(got, expected_document(&both, T0, T0 + 120, 60));
}

#[tokio::test]
async fn injection_strings_match_nothing_and_break_nothing() {
    let app = spawn_app("injection").await;
    let rows = varied_rows();
    app.insert_cdrs(&rows).await;
    let evil = [
        "' OR 1=1 --",
        "4420' OR '1'='1",
        "'); DROP TABLE cdrs; --",
        "\\' OR 1=1 #",
        "{account:UInt32}",
        "%",
        "_",
        "?",
        "\" OR \"\"=\"",
        "4420\n",
        "\t",
        "ÿ𝄞",
    ];
    let string_params = [
        "src-prefix-routing-eq",
        "src-prefix-routing-starts-with",
        "src-prefix-routing-ends-with",
        "src-prefix-routing-contains",
        "dst-prefix-routing-eq",
        "dst-prefix-routing-starts-with",
        "dst-prefix-routing-ends-with",
        "dst-prefix-routing-contains",
    ];
    for param in string_params {
        for value in evil {
            let extra = format!("&{param}={}", urlencode(value));
            let resp = app
                .get(TERMINATION, &window_query(T0, T0 + 179, "minute", &extra))
                .await;
            assert_eq!(resp.status(), 200, "{param}={value:?}");
            let got: Value = resp.json().await.expect("json");
            assert_eq!(
                got["totals"]["total_calls"], 0,
                "{param}={value:?} matched rows"
            );
        }
    }
    // auth-orig-ip must be an address: injection is a 400 before any SQL.
    let resp = app
        .get(
            ORIGINATION,
            &window_query(
                T0,
                T0 + 179,
                "minute",
                &format!("&auth-orig-ip={}", urlencode("1.1.1.1' OR 1=1")),
            ),
        )
        .await;
    assert_eq!(resp.status(), 400);
    // Nothing broke: the table and data are intact.
    let got = json(
        app.get(TERMINATION, &window_query(T0, T0 + 179, "minute", ""))
            .await,
    )
    .await;
    assert_eq!(got["totals"]["total_calls"], 120);
}

#[tokio::test]
async fn a_future_from_time_answers_an_empty_array() {
    let app = spawn_app("future").await;
    let q = format!(
        "account-id={ACCOUNT_UUID}&from-time={}&sampling=minute",
        iso(chrono::Utc::now().timestamp() + 3600)
    );
    let resp = app.get(TERMINATION, &q).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("body"), "[]");
}

#[tokio::test]
async fn a_missing_to_time_means_now() {
    let app = spawn_app("until_now").await;
    let now = chrono::Utc::now().timestamp();
    app.insert_cdrs(&[cdr(now - 120, 10), cdr(now - 30, 0)])
        .await;
    let q = format!(
        "account-id={ACCOUNT_UUID}&from-time={}&sampling=hour",
        iso(now - 600)
    );
    let got = json(app.get(TERMINATION, &q).await).await;
    assert_eq!(got["totals"]["total_calls"], 2);
    // A to-time in the future is clamped to now: no buckets after the current one.
    let q = format!("{q}&to-time={}", iso(now + 7200));
    let clamped = json(app.get(TERMINATION, &q).await).await;
    assert_eq!(clamped["rows"], got["rows"]);
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn csv_has_the_same_numbers_as_json() {
    let app = spawn_app("csv").await;
    app.insert_cdrs(&seed_rows()).await;
    let q = window_query(T0, T0 + 179, "minute", "");
    let json: Value = app.get(TERMINATION, &q).await.json().await.expect("json");
    let by_param = app.get(TERMINATION, &format!("{q}&format=csv")).await;
    let by_accept = app
        .http
        .get(format!("{}{TERMINATION}?{q}", app.address))
        .header(
            "Authorization",
            token(cdrstats::auth::token::Mint::Access(ACCESS_ALL)),
        )
        .header("Accept", "text/csv")
        .send()
        .await
        .expect("request");
    for resp in [by_param, by_accept] {
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/csv")
        );
        let disposition = resp.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            disposition.starts_with("attachment; filename=\"termination-7c61877c-")
                && disposition.ends_with("-minute.csv\""),
            "{disposition}"
        );
        let text = resp.text().await.expect("body");
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines[0], r#""t","time","total_calls","acd","asr","cps""#);
        assert_eq!(
            lines.len(),
            1 + json["rows"].as_u64().expect("rows") as usize
        );
        for (i, line) in lines[1..].iter().enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f[0], json["data"]["t"][i].to_string());
            let time = iso(json["data"]["t"][i].as_i64().expect("t"));
            assert_eq!(f[1], format!("\"{time}\""));
            assert_eq!(f[2], json["data"]["total_calls"][i].to_string());
            assert_eq!(f[3], json["data"]["acd"][i].as_str().unwrap_or(""));
            assert_eq!(f[4], json["data"]["asr"][i].as_str().unwrap_or(""));
            assert_eq!(f[5], json["data"]["cps"][i].as_str().expect("cps"));
        }
    }
}

#[tokio::test]
async fn answers_say_which_path_answered_and_how_fresh_the_data_is() {
    let app = spawn_app("transparency").await;
    app.insert_cdrs(&[cdr(T0 + 5, 3), cdr(T0 + 7, 0)]).await;
    let q = window_query(T0, T0 + 59, "minute", "");
    // The watermark is refreshed in the background; give it a moment.
    let mut watermark = String::new();
    for _ in 0..40 {
        let resp = app.get(TERMINATION, &format!("{q}&duration-gt=0")).await;
        watermark = resp.headers()["x-cdrstats-watermark"]
            .to_str()
            .expect("ascii")
            .to_owned();
        if watermark != "unknown" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(watermark, iso(T0 + 7));
    let raw = app
        .get(
            TERMINATION,
            &format!("{q}&duration-lt=100&src-country-id=1"),
        )
        .await;
    assert_eq!(raw.headers()["x-cdrstats-source"], "raw");
    let rollup = app
        .get(TERMINATION, &format!("{q}&dst-country-id=44"))
        .await;
    assert_eq!(rollup.headers()["x-cdrstats-source"], "rollup");
    let cached = app
        .get(TERMINATION, &format!("{q}&dst-country-id=44"))
        .await;
    assert_eq!(cached.headers()["x-cdrstats-source"], "cache");
}
