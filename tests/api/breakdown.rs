//! The breakdown endpoints end to end on the real engine. Every expected figure is computed
//! here from the rows the test inserted (integer sums, rust_decimal, the PDD's exact Float32
//! value), never by the gateway's code.

use crate::helpers::*;
use cdrstats::auth::token::Mint;
use clickhouse::Row;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::str::FromStr;

const T_BREAKDOWN: &str = "/api/rest/customer/v1/termination-breakdown";
const O_BREAKDOWN: &str = "/api/rest/customer/v1/origination-breakdown";

/// A CDR with the breakdown columns.
#[derive(Row, Serialize, Clone, Debug)]
struct Call {
    time_start: u32,
    customer_acc_id: u32,
    vendor_acc_id: u32,
    is_last_cdr: bool,
    duration: i32,
    src_country_id: u32,
    dst_country_id: u32,
    src_prefix_routing: String,
    dst_prefix_routing: String,
    auth_orig_ip: String,
    customer_price: f64,
    vendor_price: f64,
    dst_network_id: u32,
    lega_disconnect_code: i32,
    lega_disconnect_reason: String,
    legb_disconnect_code: i32,
    legb_disconnect_reason: String,
    pdd: f32,
}

fn call(t: i64, duration: i32) -> Call {
    Call {
        time_start: u32::try_from(t).expect("fits"),
        customer_acc_id: ACCOUNT,
        vendor_acc_id: ACCOUNT,
        is_last_cdr: true,
        duration,
        src_country_id: 1,
        dst_country_id: 44,
        src_prefix_routing: "1".into(),
        dst_prefix_routing: "4420".into(),
        auth_orig_ip: "192.0.2.1".into(),
        customer_price: 0.02,
        vendor_price: 0.01,
        dst_network_id: 7,
        lega_disconnect_code: if duration > 0 { 200 } else { 486 },
        lega_disconnect_reason: if duration > 0 { "OK" } else { "Busy Here" }.into(),
        legb_disconnect_code: if duration > 0 { 200 } else { 486 },
        legb_disconnect_reason: if duration > 0 { "OK" } else { "Busy Here" }.into(),
        pdd: 2.5,
    }
}

async fn insert(app: &TestApp, rows: &[Call]) {
    let mut insert = cdrstats::db::pipeline_client(&app.ch)
        .insert::<Call>("cdrs")
        .await
        .expect("insert");
    for row in rows {
        insert.write(row).await.expect("write");
    }
    insert.end().await.expect("end");
}

async fn ok_json(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let body = resp.text().await.expect("body");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

async fn error_of(app: &TestApp, path: &str, query: &str) -> (u16, String) {
    let resp = app.get(path, query).await;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("json error");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

fn query(from: i64, to: i64, extra: &str) -> String {
    format!(
        "account-id={ACCOUNT_UUID}&from-time={}&to-time={}{extra}",
        iso(from),
        iso(to)
    )
}

/// A stored PDD's exact value (every f32 is a finite binary fraction), rounded to milliseconds.
fn pdd_ms(p: f32) -> Decimal {
    Decimal::from_f64_retain(f64::from(p))
        .expect("finite")
        .round_dp_with_strategy(3, RoundingStrategy::MidpointAwayFromZero)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Termination,
    Origination,
}

impl Side {
    fn counts(self, c: &Call) -> bool {
        c.vendor_acc_id == ACCOUNT && self == Side::Termination
            || c.customer_acc_id == ACCOUNT && c.is_last_cdr && self == Side::Origination
    }
    fn code(self, c: &Call) -> (i32, &str) {
        match self {
            Side::Termination => (c.legb_disconnect_code, &c.legb_disconnect_reason),
            Side::Origination => (c.lega_disconnect_code, &c.lega_disconnect_reason),
        }
    }
    fn price(self, c: &Call) -> f64 {
        match self {
            Side::Termination => c.vendor_price,
            Side::Origination => c.customer_price,
        }
    }
}

/// The match key (without reason) of a call for `by`.
fn key_of(side: Side, by: &[&str], c: &Call) -> Vec<Value> {
    by.iter()
        .map(|d| match *d {
            "dst-country" => json!(c.dst_country_id),
            "dst-network" => json!(c.dst_network_id),
            "dst-prefix" => json!(c.dst_prefix_routing),
            "src-country" => json!(c.src_country_id),
            "src-prefix" => json!(c.src_prefix_routing),
            "disconnect-code" => json!(side.code(c).0),
            other => panic!("{other}"),
        })
        .collect()
}

/// Which calls a random filter keeps.
type Keep = Box<dyn Fn(&Call) -> bool>;

/// The metrics of some calls and the exact value of each, for sorting.
struct Figures {
    line: Map<String, Value>,
    exact: BTreeMap<&'static str, Option<Decimal>>,
}

const METRICS: [&str; 8] = [
    "total_calls",
    "successful_calls",
    "failed_calls",
    "total_duration",
    "acd",
    "asr",
    "total_price",
    "pdd",
];

fn figures(side: Side, calls: &[&Call]) -> Figures {
    let total = Decimal::from(calls.len());
    let ok: Vec<_> = calls.iter().filter(|c| c.duration > 0).collect();
    let successful = Decimal::from(ok.len());
    let answered: Decimal = ok.iter().map(|c| Decimal::from(c.duration)).sum();
    let seconds: Decimal = calls.iter().map(|c| Decimal::from(c.duration)).sum();
    let price: Decimal = calls.iter().map(|c| price6(side.price(c))).sum();
    let pdds: Vec<Decimal> = calls
        .iter()
        .filter(|c| c.pdd > 0.0)
        .map(|c| pdd_ms(c.pdd))
        .collect();
    let div = |n: Decimal, d: Decimal| (!d.is_zero()).then(|| n / d);
    let exact: BTreeMap<&'static str, Option<Decimal>> = [
        ("total_calls", Some(total)),
        ("successful_calls", Some(successful)),
        ("failed_calls", Some(total - successful)),
        ("total_duration", Some(seconds / Decimal::from(60))),
        ("acd", div(answered, successful)),
        ("asr", div(Decimal::from(100) * successful, total)),
        ("total_price", Some(price)),
        (
            "pdd",
            div(pdds.iter().copied().sum(), Decimal::from(pdds.len())),
        ),
    ]
    .into_iter()
    .collect();
    let mut line = Map::new();
    for m in METRICS {
        let v = exact[m];
        line.insert(
            m.to_owned(),
            match (m, v) {
                ("total_calls" | "successful_calls" | "failed_calls", Some(n)) => {
                    json!(n.to_string().parse::<u64>().expect("count"))
                }
                (_, Some(x)) => json!(decimal_text(x, 2)),
                (_, None) => Value::Null,
            },
        );
    }
    Figures { line, exact }
}

/// The most frequent reason among the calls, ties → the bytewise smallest.
fn reason(side: Side, calls: &[&Call]) -> String {
    let mut counts: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for c in calls {
        *counts
            .entry(side.code(c).1.as_bytes().to_vec())
            .or_default() += 1;
    }
    let best = counts.values().max().copied().unwrap_or(0);
    let bytes = counts
        .into_iter()
        .find(|(_, n)| *n == best)
        .map(|(r, _)| r)
        .unwrap_or_default();
    String::from_utf8(bytes).expect("utf-8")
}

/// The document the test expects, built from the calls alone: the counted calls of each
/// window grouped, ordered and cut exactly as the contract says.
#[allow(clippy::too_many_arguments)]
fn expected(
    side: Side,
    calls: &[Call],
    window: (i64, i64),
    by: &[&str],
    sort: &str,
    limit: usize,
    compare: bool,
    keep: impl Fn(&Call) -> bool,
) -> Value {
    let (from, to) = window;
    let length = to - from + 1;
    let counted: Vec<&Call> = calls.iter().filter(|c| side.counts(c) && keep(c)).collect();
    let within = |a: i64, b: i64| {
        counted
            .iter()
            .copied()
            .filter(|c| (a..=b).contains(&i64::from(c.time_start)))
            .collect::<Vec<&Call>>()
    };
    let now = within(from, to);
    let before = within(from - length, from - 1);
    fn group<'a>(
        side: Side,
        by: &[&str],
        calls: &[&'a Call],
    ) -> BTreeMap<String, (Vec<Value>, Vec<&'a Call>)> {
        let mut g: BTreeMap<String, (Vec<Value>, Vec<&'a Call>)> = BTreeMap::new();
        for c in calls {
            let key = key_of(side, by, c);
            g.entry(serde_json::to_string(&key).expect("key"))
                .or_insert_with(|| (key.clone(), Vec::new()))
                .1
                .push(*c);
        }
        g
    }
    let now_groups = group(side, by, &now);
    let before_groups = group(side, by, &before);
    let (metric, descending) = match sort.strip_prefix('-') {
        Some(m) => (m, true),
        None => (sort, false),
    };
    let mut rows: Vec<(Vec<Value>, Vec<&Call>, Figures)> = now_groups
        .into_values()
        .map(|(key, calls)| {
            let mut shown = Vec::new();
            for (d, k) in by.iter().zip(&key) {
                shown.push(k.clone());
                if *d == "disconnect-code" {
                    shown.push(json!(reason(side, &calls)));
                }
            }
            let f = figures(side, &calls);
            (shown, calls, f)
        })
        .collect();
    let cmp_key = |a: &[Value], b: &[Value]| {
        for (x, y) in a.iter().zip(b) {
            let o = match (x, y) {
                (Value::Number(x), Value::Number(y)) => {
                    x.as_i64().expect("int").cmp(&y.as_i64().expect("int"))
                }
                (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
                _ => panic!("mixed key"),
            };
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    };
    rows.sort_by(|a, b| {
        let (x, y) = (a.2.exact[metric], b.2.exact[metric]);
        let o = match (x, y) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) if descending => y.cmp(&x),
            (Some(x), Some(y)) => x.cmp(&y),
        };
        o.then_with(|| cmp_key(&a.0, &b.0))
    });
    let cut = rows.split_off(rows.len().min(limit));
    let previous_of = |calls: &[&Call]| {
        let key = key_of(side, by, calls[0]);
        let prior = before_groups
            .get(&serde_json::to_string(&key).expect("key"))
            .map(|(_, c)| c.clone())
            .unwrap_or_default();
        figures(side, &prior).line
    };
    let mut columns: Vec<String> = Vec::new();
    for d in by {
        match *d {
            "dst-country" => columns.push("dst_country_id".into()),
            "dst-network" => columns.push("dst_network_id".into()),
            "dst-prefix" => columns.push("dst_prefix_routing".into()),
            "src-country" => columns.push("src_country_id".into()),
            "src-prefix" => columns.push("src_prefix_routing".into()),
            _ => {
                columns.push("disconnect_code".into());
                columns.push("disconnect_reason".into());
            }
        }
    }
    let mut data = Map::new();
    for (i, c) in columns.iter().enumerate() {
        data.insert(c.clone(), rows.iter().map(|r| r.0[i].clone()).collect());
    }
    for m in METRICS {
        data.insert(m.into(), rows.iter().map(|r| r.2.line[m].clone()).collect());
    }
    if compare {
        for m in METRICS {
            data.insert(
                format!("previous_{m}"),
                rows.iter().map(|r| previous_of(&r.1)[m].clone()).collect(),
            );
        }
    }
    let with_previous = |mut line: Map<String, Value>, previous: Map<String, Value>| {
        if compare {
            for m in METRICS {
                line.insert(format!("previous_{m}"), previous[m].clone());
            }
        }
        Value::Object(line)
    };
    let mut doc = json!({
        "data": data,
        "rows": rows.len(),
        "totals": with_previous(figures(side, &now).line, figures(side, &before).line),
    });
    if !cut.is_empty() {
        let cut_now: Vec<&Call> = cut.iter().flat_map(|r| r.1.iter().copied()).collect();
        let cut_before: Vec<&Call> = cut
            .iter()
            .flat_map(|r| {
                let key = key_of(side, by, r.1[0]);
                before_groups
                    .get(&serde_json::to_string(&key).expect("key"))
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default()
            })
            .collect();
        doc["other"] = with_previous(
            figures(side, &cut_now).line,
            figures(side, &cut_before).line,
        );
    }
    doc
}

/// A window starting mid-minute, the previous window's edges probed to the second: CDRs at
/// F−L−1 (outside), F−L, F−1 (previous), F and T (current), T+1 (outside).
#[tokio::test]
async fn termination_breakdown_by_disconnect_code_is_exact_with_reason_ties_and_previous_bounds() {
    let app = spawn_app("breakdown_disconnect").await;
    let from = T0 + 17;
    let to = from + 599; // L = 600 s
    let length = to - from + 1;
    let mut rows = Vec::new();
    let failed = |t: i64, code: i32, reason: &str, pdd: f32| {
        let mut c = call(t, 0);
        c.legb_disconnect_code = code;
        c.legb_disconnect_reason = reason.into();
        c.lega_disconnect_code = 999; // origination's code: never read on termination
        c.pdd = pdd;
        c
    };
    // 486: "Busy" and "Busy Here" twice each: the bytewise smaller "Busy" wins the tie.
    rows.push(failed(from, 486, "Busy Here", 2.3455)); // stored 2.34549999… → 2.345
    rows.push(failed(from + 1, 486, "Busy", 0.0625)); // an exact midpoint: 62.5 ms → 63 ms
    rows.push(failed(from + 2, 486, "Busy Here", 0.0));
    rows.push(failed(to, 486, "Busy", 3.0));
    // 503: the more frequent reason wins although it sorts later.
    rows.push(failed(from + 3, 503, "Service Unavailable", 1.0));
    rows.push(failed(from + 4, 503, "Service Unavailable", 1.0));
    rows.push(failed(from + 5, 503, "Overloaded", 1.0));
    // Answered: 200 OK, prices that round half away from zero at 6 places.
    for (i, price) in [0.0000005, 0.0000015, 0.1234565].into_iter().enumerate() {
        let mut c = call(from + 10 + i as i64, 61 + i as i32);
        c.vendor_price = price;
        c.pdd = 4.0005;
        rows.push(c);
    }
    // Per network, two PDDs whose mean lands on either side of a rounding edge only when each
    // stored value is first rounded exactly: 0.0625 → 0.063 (not 0.062) with 0.067 gives
    // 0.065 → "0.07"; 2.3455f32 (2.34549999…) → 2.345 (not 2.346) with 2.344 gives 2.3445 →
    // "2.34".
    for (t, network, code, reason, pdd) in [
        (from + 20, 31, 487, "Request Terminated", 0.0625),
        (from + 21, 31, 408, "Request Timeout", 0.067),
        (from + 22, 32, 487, "Request Terminated", 2.3455),
        (from + 23, 32, 408, "Request Timeout", 2.344),
    ] {
        let mut c = failed(t, code, reason, pdd);
        c.dst_network_id = network;
        rows.push(c);
    }
    // The previous window's edges, and just outside both windows.
    rows.push(failed(from - length - 1, 486, "Busy", 1.0)); // outside
    rows.push(failed(from - length, 486, "Busy", 1.0)); // previous, first second
    rows.push(failed(from - 1, 404, "Not Found", 1.0)); // previous, last second; absent now
    rows.push(failed(to + 1, 486, "Busy", 1.0)); // after the window
    // Another vendor's CDR never counts.
    let mut foreign = failed(from, 486, "Busy", 1.0);
    foreign.vendor_acc_id = SECOND_ACCOUNT;
    rows.push(foreign);
    insert(&app, &rows).await;

    for (sort, limit, compare) in [
        ("-total_calls", 20, true),
        ("-total_calls", 1, true),
        ("pdd", 2, false),
        ("-acd", 20, true),
    ] {
        let extra = format!(
            "&by=disconnect-code&sort={sort}&limit={limit}{}",
            if compare {
                "&compare=previous-period"
            } else {
                ""
            }
        );
        let got = ok_json(app.get(T_BREAKDOWN, &query(from, to, &extra)).await).await;
        let want = expected(
            Side::Termination,
            &rows,
            (from, to),
            &["disconnect-code"],
            sort,
            limit,
            compare,
            |_| true,
        );
        assert_eq!(got, want, "{extra}");
    }
    // The rules spelled out once, literally.
    let got = ok_json(
        app.get(
            T_BREAKDOWN,
            &query(from, to, "&by=disconnect-code&compare=previous-period"),
        )
        .await,
    )
    .await;
    // 503 and 200 both have 3 calls, 408 and 487 2: ties go to the smaller code.
    assert_eq!(
        got["data"]["disconnect_code"],
        json!([486, 200, 503, 408, 487])
    );
    assert_eq!(
        got["data"]["disconnect_reason"],
        json!([
            "Busy",
            "OK",
            "Service Unavailable",
            "Request Timeout",
            "Request Terminated"
        ])
    );
    // (2.345 + 0.063 + 3.0) / 3 = 1.80266… → 1.8
    assert_eq!(got["data"]["pdd"][0], "1.8");
    // 486 in the previous window: only the CDR at F − L; 404 only there: in totals, not rows.
    assert_eq!(got["data"]["previous_total_calls"], json!([1, 0, 0, 0, 0]));
    assert_eq!(
        got["data"]["previous_acd"],
        json!([null, null, null, null, null])
    );
    assert_eq!(got["data"]["previous_total_price"][1], "0.0");
    assert_eq!(got["totals"]["previous_total_calls"], 2);
    assert!(got.get("other").is_none(), "nothing cut: {got}");
    let networks = ok_json(
        app.get(T_BREAKDOWN, &query(from, to, "&by=dst-network&sort=-pdd"))
            .await,
    )
    .await;
    assert_eq!(networks["data"]["dst_network_id"], json!([32, 7, 31]));
    assert_eq!(networks["data"]["pdd"][0], "2.34");
    assert_eq!(networks["data"]["pdd"][2], "0.07");
}

/// Origination counts the last CDR of each call with the code the customer was answered
/// (leg A), its price, and reads the origination copy of the CDRs.
#[tokio::test]
async fn origination_breakdown_counts_last_cdrs_with_the_a_leg_code() {
    let app = spawn_app("breakdown_origination").await;
    let from = T0 + 5;
    let to = T0 + 3_600;
    let mut rows = Vec::new();
    for i in 0..6 {
        // A call of two attempts: the first failed at the vendor (leg B 503), the last one
        // answered 486 to the customer (leg A) or answered.
        let t = from + 30 * i;
        let mut first = call(t, 0);
        first.is_last_cdr = false;
        first.lega_disconnect_code = 503;
        first.legb_disconnect_code = 503;
        first.customer_price = 0.5;
        let mut last = call(t, if i % 3 == 0 { 45 } else { 0 });
        last.legb_disconnect_code = 480;
        last.dst_country_id = 44 + (i as u32 % 2);
        last.customer_price = 0.0000025 * (i + 1) as f64;
        last.pdd = 1.5 + i as f32 / 7.0;
        rows.push(first);
        rows.push(last);
    }
    insert(&app, &rows).await;
    for by in ["disconnect-code", "dst-country,disconnect-code"] {
        let extra = format!("&by={by}&compare=previous-period");
        let got = ok_json(app.get(O_BREAKDOWN, &query(from, to, &extra)).await).await;
        let dims: Vec<&str> = by.split(',').collect();
        let want = expected(
            Side::Origination,
            &rows,
            (from, to),
            &dims,
            "-total_calls",
            20,
            true,
            |_| true,
        );
        assert_eq!(got, want, "{by}");
        let codes = &got["data"]["disconnect_code"];
        assert!(
            !codes.as_array().expect("codes").contains(&json!(503)),
            "leg B codes and non-last CDRs never count on origination: {got}"
        );
    }
}

/// `other` is what the cut rows add up to: the totals minus the shown rows, and the sum of
/// the cut keys' own CDRs; text keys order bytewise; nulls sort last in both directions.
#[tokio::test]
async fn other_sums_the_cut_rows_and_nulls_sort_last_both_ways() {
    let app = spawn_app("breakdown_other").await;
    let from = T0;
    let to = T0 + 3_599;
    let mut rows = Vec::new();
    for (i, prefix) in ["4420", "4421", "44", "4420a", "B", "a", "4422"]
        .iter()
        .enumerate()
    {
        for k in 0..=i {
            // Prefix "44" and "B" never answer: their acd is null.
            let answered = !matches!(*prefix, "44" | "B") && k % 2 == 0;
            let mut c = call(
                from + 60 * (i * 7 + k) as i64,
                if answered { 30 + k as i32 } else { 0 },
            );
            c.dst_prefix_routing = (*prefix).into();
            c.vendor_price = 0.001 * (k + 1) as f64;
            rows.push(c);
        }
    }
    insert(&app, &rows).await;
    for sort in ["acd", "-acd", "-total_price", "failed_calls"] {
        let extra = format!("&by=dst-prefix&sort={sort}&limit=3");
        let got = ok_json(app.get(T_BREAKDOWN, &query(from, to, &extra)).await).await;
        let want = expected(
            Side::Termination,
            &rows,
            (from, to),
            &["dst-prefix"],
            sort,
            3,
            false,
            |_| true,
        );
        assert_eq!(got, want, "{sort}");
        let shown: Vec<&Value> = got["data"]["acd"].as_array().expect("acd").iter().collect();
        if sort.ends_with("acd") {
            // Two prefixes without answered calls: never among the first 3 of 7 either way.
            assert!(shown.iter().all(|v| !v.is_null()), "{sort}: {got}");
        }
        // other = totals − shown rows, checked against the independent sum above.
        let sum = |name: &str| {
            got["data"][name]
                .as_array()
                .expect("column")
                .iter()
                .map(|v| v.as_u64().expect("count"))
                .sum::<u64>()
        };
        for name in ["total_calls", "successful_calls", "failed_calls"] {
            assert_eq!(
                got["other"][name].as_u64().expect("count"),
                got["totals"][name].as_u64().expect("count") - sum(name),
                "{sort} {name}"
            );
        }
        let price = |v: &Value| Decimal::from_str(v.as_str().expect("price")).expect("decimal");
        let shown_prices: Decimal = got["data"]["total_price"]
            .as_array()
            .expect("prices")
            .iter()
            .map(price)
            .sum();
        // Rounded per row, so the difference is within half a cent per shown row.
        let gap = (price(&got["totals"]["total_price"])
            - shown_prices
            - price(&got["other"]["total_price"]))
        .abs();
        assert!(
            gap <= Decimal::new(5, 3) * Decimal::from(3),
            "{sort}: {gap}"
        );
    }
    // Nulls last both ways with everything shown.
    for sort in ["acd", "-acd"] {
        let extra = format!("&by=dst-prefix&sort={sort}");
        let got = ok_json(app.get(T_BREAKDOWN, &query(from, to, &extra)).await).await;
        let acd = got["data"]["acd"].as_array().expect("acd");
        assert_eq!(acd.len(), 7);
        assert!(acd[5].is_null() && acd[6].is_null(), "{sort}: {got}");
        // The two null rows tie: by key ascending, bytewise ("44" < "B").
        assert_eq!(got["data"]["dst_prefix_routing"][5], "44");
        assert_eq!(got["data"]["dst_prefix_routing"][6], "B");
        assert!(got.get("other").is_none());
    }
}

/// `format=rows` and CSV carry the same columns in the same order, `other` last with null
/// (empty) keys; an empty window gives the documented shapes; a future window `[]`.
#[tokio::test]
async fn formats_empty_windows_and_the_future() {
    let app = spawn_app("breakdown_formats").await;
    let from = T0;
    let to = T0 + 599;
    let mut rows = Vec::new();
    for (i, net) in [5u32, 5, 6, 7].iter().enumerate() {
        let mut c = call(from + i as i64, if i == 0 { 0 } else { 10 });
        c.dst_network_id = *net;
        c.dst_prefix_routing = format!("pre\"fix,{i}");
        rows.push(c);
    }
    insert(&app, &rows).await;
    let extra = "&by=dst-network,dst-prefix&limit=2&compare=previous-period";
    let doc = ok_json(app.get(T_BREAKDOWN, &query(from, to, extra)).await).await;
    let got = ok_json(
        app.get(
            T_BREAKDOWN,
            &query(from, to, &format!("{extra}&format=rows")),
        )
        .await,
    )
    .await;
    let list = got.as_array().expect("rows");
    let text = app
        .get(
            T_BREAKDOWN,
            &query(from, to, &format!("{extra}&format=rows")),
        )
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(list.len(), 3, "two rows and other: {got}");
    let mut names = vec!["dst_network_id", "dst_prefix_routing"];
    names.extend(METRICS);
    let previous: Vec<String> = METRICS.iter().map(|m| format!("previous_{m}")).collect();
    names.extend(previous.iter().map(String::as_str));
    // Column order, read from the text (a parsed JSON object forgets it).
    let first_row = &text[..text.find('}').expect("a row")];
    assert_in_order(first_row, &names);
    let body = app
        .get(T_BREAKDOWN, &query(from, to, extra))
        .await
        .text()
        .await
        .expect("body");
    let data = &body[..body.find("\"rows\"").expect("rows")];
    assert_in_order(data, &names);
    assert_in_order(&body, &["\"data\"", "\"rows\"", "\"totals\"", "\"other\""]);
    assert_eq!(list[0]["dst_network_id"], doc["data"]["dst_network_id"][0]);
    assert_eq!(
        list[0]["dst_prefix_routing"],
        doc["data"]["dst_prefix_routing"][0]
    );
    assert_eq!(list[1]["asr"], json!(100.0));
    assert_eq!(list[2]["dst_network_id"], Value::Null);
    assert_eq!(list[2]["total_calls"], doc["other"]["total_calls"]);
    assert_eq!(list[2]["previous_total_calls"], 0);
    let resp = app
        .get(
            T_BREAKDOWN,
            &query(from, to, &format!("{extra}&format=csv")),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let csv = resp.text().await.expect("csv");
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(lines.len(), 5, "header, 3 rows, final CRLF: {csv}");
    assert!(
        lines[1].starts_with("5,\"pre\"\"fix,0\",1,0,1,0.0,,0.0,"),
        "{csv}"
    );
    assert!(
        lines[3].starts_with(",,2,2,0,"),
        "other with empty keys: {csv}"
    );

    // An empty window.
    let empty = ok_json(
        app.get(
            T_BREAKDOWN,
            &query(to + 10_000, to + 20_000, "&by=disconnect-code"),
        )
        .await,
    )
    .await;
    assert_eq!(
        empty,
        json!({"data":{"disconnect_code":[],"disconnect_reason":[],"total_calls":[],
            "successful_calls":[],"failed_calls":[],"total_duration":[],"acd":[],"asr":[],
            "total_price":[],"pdd":[]},"rows":0,
            "totals":{"total_calls":0,"successful_calls":0,"failed_calls":0,
            "total_duration":"0.0","acd":null,"asr":null,"total_price":"0.0","pdd":null}})
    );
    let rows_empty = app
        .get(
            T_BREAKDOWN,
            &query(to + 10_000, to + 20_000, "&by=src-country&format=rows"),
        )
        .await;
    assert_eq!(rows_empty.text().await.expect("body"), "[]");
    // A future from-time: `[]` (or the CSV header alone) and no query.
    let future = chrono::Utc::now().timestamp() + 3_600;
    let resp = app
        .get(
            T_BREAKDOWN,
            &format!(
                "account-id={ACCOUNT_UUID}&from-time={}&by=dst-country",
                iso(future)
            ),
        )
        .await;
    assert_eq!(resp.headers()["x-cdrstats-source"], "none");
    assert_eq!(resp.text().await.expect("body"), "[]");
    let resp = app
        .get(
            T_BREAKDOWN,
            &format!(
                "account-id={ACCOUNT_UUID}&from-time={}&by=dst-country&format=csv",
                iso(future)
            ),
        )
        .await;
    assert!(
        resp.text()
            .await
            .expect("body")
            .starts_with("\"dst_country_id\",\"total_calls\"")
    );
}

/// Each of `names` occurs in `text` as a JSON key (or as given when quoted), in this order.
fn assert_in_order(text: &str, names: &[&str]) {
    let mut at = 0;
    for name in names {
        let needle = if name.starts_with('"') {
            (*name).to_owned()
        } else {
            format!("\"{name}\":")
        };
        let found = text[at..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{name} missing or out of order in {text}"));
        at += found + needle.len();
    }
}

/// Errors in the contract's order and words; caching, ETag, HEAD and the source header.
#[tokio::test]
async fn errors_caching_and_headers_work_as_for_the_other_endpoints() {
    let app = spawn_app("breakdown_errors").await;
    insert(&app, &[call(T0 + 1, 5)]).await;
    for (q, want) in [
        (
            String::new(),
            "missing required param(s) account-id, from-time, by",
        ),
        (
            "by=dst-country".into(),
            "missing required param(s) account-id, from-time",
        ),
        (
            format!("account-id={ACCOUNT_UUID}&from-time=2024-12-20"),
            "missing required param(s) by",
        ),
        (
            query(T0, T0 + 60, "&by=dst-country,dst-country"),
            "invalid value by",
        ),
        (query(T0, T0 + 60, "&by="), "invalid value by"),
        (
            query(T0, T0 + 60, "&by=dst-country,src-country,dst-prefix"),
            "invalid value by",
        ),
        (query(T0, T0 + 60, "&by=carrier"), "invalid value by"),
        (
            query(T0, T0 + 60, "&by=dst-country&sort=cps"),
            "invalid value sort",
        ),
        (
            query(T0, T0 + 60, "&by=dst-country&limit=0"),
            "invalid value limit",
        ),
        (
            query(T0, T0 + 60, "&by=dst-country&limit=1001"),
            "invalid value limit",
        ),
        (
            query(T0, T0 + 60, "&by=dst-country&compare=yes"),
            "invalid value compare",
        ),
        (
            query(T0, T0 + 60, "&by=dst-country&disconnect-code=4x"),
            "invalid value disconnect-code",
        ),
        (
            query(T0, T0 + 60, "&by=dst-country&by=src-country"),
            "param by can't be an array",
        ),
        (
            format!("account-id={FOREIGN_UUID}&from-time=2024-12-20&by=dst-country"),
            "invalid value account-id",
        ),
    ] {
        assert_eq!(
            error_of(&app, T_BREAKDOWN, &q).await,
            (400, want.to_owned()),
            "{q}"
        );
    }
    // The test accounts are listed for rollups: a destination breakdown may read them, a
    // source-country one has no rollup.
    let raw = app
        .get(T_BREAKDOWN, &query(T0, T0 + 60, "&by=src-country"))
        .await;
    assert_eq!(raw.headers()["x-cdrstats-source"], "raw");
    let q = query(T0, T0 + 60, "&by=dst-country");
    let first = app.get(T_BREAKDOWN, &q).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-cdrstats-source"], "rollup");
    let etag = first.headers()["etag"].to_str().expect("etag").to_owned();
    assert!(etag.starts_with("W/\""));
    let second = app.get(T_BREAKDOWN, &q).await;
    assert_eq!(second.headers()["x-cdrstats-source"], "cache");
    let again = app
        .http
        .get(format!("{}{T_BREAKDOWN}?{q}", app.address))
        .header(
            "Authorization",
            format!("Bearer {}", token(Mint::Access(ACCESS_ALL))),
        )
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 304);
    let head = app
        .http
        .head(format!("{}{O_BREAKDOWN}?{q}", app.address))
        .header(
            "Authorization",
            format!("Bearer {}", token(Mint::Access(ACCESS_ALL))),
        )
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 200);
    assert!(head.headers().contains_key("etag"));
    assert_eq!(head.text().await.expect("body"), "");
    let unauthenticated = app
        .http
        .get(format!("{}{T_BREAKDOWN}?{q}", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(unauthenticated.status(), 401);
}

/// A pipeline that does not send the new columns keeps inserting, and its CDRs count with the
/// defaults (network 0, code 0, reason '', no PDD) on both sides.
#[tokio::test]
async fn cdrs_inserted_without_the_breakdown_columns_still_answer() {
    let app = spawn_app("breakdown_defaults").await;
    let mut old = cdr(T0 + 3, 20);
    old.vendor_acc_id = ACCOUNT;
    old.customer_acc_id = ACCOUNT;
    old.is_last_cdr = true;
    app.insert_cdrs(&[old]).await;
    for path in [T_BREAKDOWN, O_BREAKDOWN] {
        let got = ok_json(
            app.get(path, &query(T0, T0 + 59, "&by=disconnect-code,dst-network"))
                .await,
        )
        .await;
        assert_eq!(got["data"]["disconnect_code"], json!([0]), "{path}");
        assert_eq!(got["data"]["disconnect_reason"], json!([""]));
        assert_eq!(got["data"]["dst_network_id"], json!([0]));
        assert_eq!(got["data"]["pdd"], json!([null]));
        assert_eq!(got["totals"]["total_calls"], 1);
    }
}

/// A window needing raw CDRs deleted by retention is a 400, never zeros; the previous window
/// counts. Whole minutes of a listed account-side come from its rollups (kept longer), so only a
/// window with a partial minute there needs raw CDRs: the windows below are chosen so.
#[tokio::test]
async fn breakdown_refuses_windows_needing_expired_raw_cdrs() {
    let app = spawn_app_with("breakdown_retention", &[("RAW_RETENTION_DAYS", "1")]).await;
    let now = chrono::Utc::now().timestamp();
    // Mid-minute start: its first partial minute is raw, 3 days ago.
    let old = (now - 3 * 86_400) / 60 * 60 + 30;
    let (status, message) = error_of(
        &app,
        T_BREAKDOWN,
        &query(old, old + 86_400, "&by=dst-country"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(message.contains("raw CDRs are kept 1 days"), "{message}");
    // Whole minutes only, 2 days ago: the listed account's rollups answer.
    let whole = (now - 2 * 86_400) / 60 * 60;
    let q = query(whole, whole + 3_599, "&by=dst-country");
    assert_eq!(app.get(T_BREAKDOWN, &q).await.status(), 200);
    // Within retention (mid-minute start, whole minutes long), but its previous window starts
    // mid-minute too, 2 days ago.
    let from = (now - 86_400 + 600) / 60 * 60 + 30;
    let to = from + (now - 60 - from) / 60 * 60 - 1;
    let q = query(from, to, "&by=dst-country");
    assert_eq!(app.get(T_BREAKDOWN, &q).await.status(), 200);
    let (status, message) =
        error_of(&app, T_BREAKDOWN, &format!("{q}&compare=previous-period")).await;
    assert_eq!(status, 400, "{q}: {message}");
}

/// The document the library computes for `query` on one path: `allow_rollup` false forces raw
/// CDRs, true lets the planner read the rollups (what the gateway does). Returns it and the
/// tables its queries read.
async fn planned_breakdown(
    app: &TestApp,
    side: Side,
    query: &str,
    allow_rollup: bool,
) -> (Value, Vec<&'static str>) {
    use cdrstats::stats::breakdown::request::BreakdownRequest;
    use cdrstats::stats::breakdown::{BreakdownRow, build, plan};
    let endpoint = match side {
        Side::Termination => cdrstats::domain::Endpoint::TerminationBreakdown,
        Side::Origination => cdrstats::domain::Endpoint::OriginationBreakdown,
    };
    let r = BreakdownRequest::parse(endpoint, query).expect("valid case");
    let window = r.window(i64::MAX / 2);
    let (mut rows, mut tables) = (Vec::new(), Vec::new());
    if window.from <= window.to {
        let since = planned_since(app, endpoint, ACCOUNT, allow_rollup).await;
        let p = plan(&r, ACCOUNT, window, "duration", since);
        for t in [
            "rollup_minute_destination",
            "rollup_hour_destination",
            "rollup_hour_dst_country",
            "rollup_minute_disconnect",
        ] {
            if p.sql.contains(&format!("FROM {t}\n")) {
                tables.push(t);
            }
        }
        rows = cdrstats::stats::query::fetch_rows::<BreakdownRow>(&app.ch, &p)
            .await
            .expect("query");
    }
    let doc = serde_json::to_value(build(&r, rows)).expect("json");
    (doc, tables)
}

/// Property: random calls, filters, dimensions, sorts, limits and windows starting mid-minute
/// (some holding whole hours); the gateway, the library's forced-raw path and its rollup path
/// agree with the test's own sums every time, with the account rolled up from the start and
/// again when rolled up only from mid-span with wrong rollup rows before.
#[tokio::test]
async fn random_breakdowns_agree_with_the_tests_own_sums() {
    let app = spawn_app_with("breakdown_property", &[("ROLLUP_LISTING_TTL_SECS", "0")]).await;
    let mut rng = SmallRng::seed_from_u64(0xb4ea_cd0e);
    let span = 4 * 3_600;
    let reasons = [
        (486, "Busy Here"),
        (480, "Temporarily Unavailable"),
        (404, "Not Found"),
        (503, "Service Unavailable"),
        (486, "Busy"),
    ];
    let mut rows = Vec::new();
    for _ in 0..1_500 {
        let t = T0 + rng.random_range(0..span);
        let answered = rng.random_bool(0.6);
        let mut c = call(
            t,
            if answered {
                rng.random_range(1..600)
            } else {
                0
            },
        );
        c.vendor_acc_id = if rng.random_bool(0.9) {
            ACCOUNT
        } else {
            SECOND_ACCOUNT
        };
        c.customer_acc_id = if rng.random_bool(0.9) {
            ACCOUNT
        } else {
            SECOND_ACCOUNT
        };
        c.is_last_cdr = rng.random_bool(0.7);
        c.dst_country_id = rng.random_range(40..46);
        c.src_country_id = rng.random_range(1..4);
        c.dst_network_id = rng.random_range(0..5);
        c.dst_prefix_routing = format!("{}{}", c.dst_country_id, rng.random_range(0..4));
        c.src_prefix_routing = ["1", "1a", "B", "12"][rng.random_range(0..4)].into();
        c.vendor_price = f64::from(rng.random_range(0..20_000)) / 1e7
            + 0.0000005 * f64::from(rng.random_range(0..2));
        c.customer_price = f64::from(rng.random_range(0..20_000)) / 1e7;
        c.pdd = if rng.random_bool(0.1) {
            0.0
        } else {
            rng.random_range(0.05f32..6.0)
        };
        for leg in 0..2 {
            let (code, reason) = if answered && leg == 0 {
                (200, "OK")
            } else {
                reasons[rng.random_range(0..reasons.len())]
            };
            if leg == 0 {
                c.lega_disconnect_code = code;
                c.lega_disconnect_reason = reason.into();
            } else {
                c.legb_disconnect_code = code;
                c.legb_disconnect_reason = reason.into();
            }
        }
        rows.push(c);
    }
    insert(&app, &rows).await;
    let dims = [
        "dst-country",
        "dst-network",
        "dst-prefix",
        "src-country",
        "src-prefix",
        "disconnect-code",
    ];
    let (mut with_rows, mut with_other) = (0, 0);
    let mut read = std::collections::BTreeSet::new();
    let mut replay = Vec::new();
    for case in 0..40 {
        let side = if rng.random_bool(0.5) {
            Side::Termination
        } else {
            Side::Origination
        };
        let a = dims[rng.random_range(0..dims.len())];
        let mut by = vec![a];
        // One dimension and no filter most often: what a rollup can serve.
        if rng.random_bool(0.3) {
            let b = dims[rng.random_range(0..dims.len())];
            if b != a {
                by.push(b);
            }
        }
        let metric = METRICS[rng.random_range(0..METRICS.len())];
        let sort = if rng.random_bool(0.5) {
            format!("-{metric}")
        } else {
            metric.to_owned()
        };
        let limit = rng.random_range(1..8);
        let compare = rng.random_bool(0.6);
        // Mid-minute edges, anywhere in the data (the previous window may start before it).
        let from = T0 + rng.random_range(0..span / 2) + rng.random_range(1..59);
        let to = from + rng.random_range(0..span / 2);
        let (filter, keep): (String, Keep) = match rng.random_range(0..7) {
            0 => {
                let n = rng.random_range(0..5u32);
                (
                    format!("&dst-network-id={n}"),
                    Box::new(move |c: &Call| c.dst_network_id == n),
                )
            }
            1 => {
                let code = [486, 480, 200][rng.random_range(0..3)];
                (
                    format!("&disconnect-code={code}"),
                    Box::new(move |c: &Call| side.code(c).0 == code),
                )
            }
            2 => (
                "&dst-prefix-routing-starts-with=4".into(),
                Box::new(|c: &Call| c.dst_prefix_routing.starts_with('4')),
            ),
            3 => (
                "&duration-gt=100".into(),
                Box::new(|c: &Call| c.duration > 100),
            ),
            _ => (String::new(), Box::new(|_: &Call| true)),
        };
        let path = if side == Side::Termination {
            T_BREAKDOWN
        } else {
            O_BREAKDOWN
        };
        let extra = format!(
            "&by={}&sort={sort}&limit={limit}{}{filter}",
            by.join(","),
            if compare {
                "&compare=previous-period"
            } else {
                ""
            }
        );
        let q = query(from, to, &extra);
        let want = expected(side, &rows, (from, to), &by, &sort, limit, compare, keep);
        let context = format!("case {case}: {path} {extra} from {from} to {to}");
        let (raw, _) = planned_breakdown(&app, side, &q, false).await;
        assert_eq!(raw, want, "forced raw, {context}");
        let (planned, tables) = planned_breakdown(&app, side, &q, true).await;
        assert_eq!(planned, want, "planner, {context}");
        read.extend(tables);
        let got = ok_json(app.get(path, &q).await).await;
        with_rows += usize::from(got["rows"].as_u64().unwrap_or(0) > 0);
        with_other += usize::from(got.get("other").is_some());
        assert_eq!(got, want, "gateway, {context}");
        replay.push((side, q, want, context));
    }
    assert!(with_rows >= 25, "only {with_rows} cases saw rows");
    assert!(
        with_other >= 12,
        "only {with_other} cases cut rows into other"
    );
    // Every breakdown rollup served some case.
    assert_eq!(
        read.into_iter().collect::<Vec<_>>(),
        [
            "rollup_hour_destination",
            "rollup_hour_dst_country",
            "rollup_minute_destination",
            "rollup_minute_disconnect"
        ]
    );
    // Rolled up from mid-span only, the rollup rows before that wrong: still the same sums.
    app.list_from_with_wrong_rollups_before(ACCOUNT, T0 + span / 2 + 17)
        .await;
    for (side, q, want, context) in &replay {
        let (planned, _) = planned_breakdown(&app, *side, q, true).await;
        assert_eq!(&planned, want, "listed from mid-span, {context}");
    }
}

/// `cdrstats seed` fills the breakdown columns for both profiles: answered CDRs 200 "OK" on
/// both legs, failures only the listed SIP answers, networks of the CDR's country, PDDs
/// around 2–4 s, leg A set on last CDRs only; the same seed gives the same data.
#[tokio::test]
async fn seed_fills_the_breakdown_columns_plausibly_and_deterministically() {
    #[derive(Row, serde::Deserialize, Debug, PartialEq)]
    struct Seeded {
        is_last_cdr: bool,
        duration: i32,
        dst_country_id: u32,
        dst_network_id: u32,
        lega_disconnect_code: i32,
        lega_disconnect_reason: String,
        legb_disconnect_code: i32,
        legb_disconnect_reason: String,
        pdd: f32,
    }
    let sip = [
        (486, "Busy Here"),
        (480, "Temporarily Unavailable"),
        (404, "Not Found"),
        (503, "Service Unavailable"),
        (487, "Request Terminated"),
        (403, "Forbidden"),
        (408, "Request Timeout"),
    ];
    let mut first_run = Vec::new();
    for (run, profile) in [
        cdrstats::cli::seed::Profile::Hot,
        cdrstats::cli::seed::Profile::Hot,
        cdrstats::cli::seed::Profile::Realistic,
    ]
    .into_iter()
    .enumerate()
    {
        let (settings, ch) = migrated_database("t_breakdown_seed").await;
        let args = cdrstats::cli::seed::SeedArgs {
            rows: 4_000,
            days: 1,
            seed: 7,
            profile,
            customers: Some(3),
            hot_share: 0.4,
            end: Some(T0),
            parallel: 1,
            first_stream: 0,
            if_empty: false,
            no_active_calls: true,
        };
        cdrstats::cli::seed::run(&settings, &args)
            .await
            .expect("seed");
        let rows: Vec<Seeded> = ch
            .query(
                "SELECT ?fields FROM cdrs ORDER BY time_start, vendor_acc_id, customer_acc_id, \
                 is_last_cdr, duration, pdd, legb_disconnect_code",
            )
            .fetch_all()
            .await
            .expect("read");
        assert_eq!(rows.len(), 4_000);
        for r in &rows {
            if r.duration > 0 {
                assert_eq!(
                    (r.legb_disconnect_code, r.legb_disconnect_reason.as_str()),
                    (200, "OK")
                );
            } else {
                let code = (r.legb_disconnect_code, r.legb_disconnect_reason.as_str());
                assert!(sip.contains(&code), "{r:?}");
            }
            if r.is_last_cdr {
                assert_eq!(
                    (r.lega_disconnect_code, &r.lega_disconnect_reason),
                    (r.legb_disconnect_code, &r.legb_disconnect_reason)
                );
            } else {
                assert_eq!(
                    (r.lega_disconnect_code, r.lega_disconnect_reason.as_str()),
                    (0, "")
                );
            }
            assert_eq!(r.dst_network_id / 100, r.dst_country_id, "{r:?}");
            assert!(r.pdd == 0.0 || (0.1..=30.0).contains(&r.pdd), "{r:?}");
        }
        let measured: Vec<f32> = rows.iter().map(|r| r.pdd).filter(|p| *p > 0.0).collect();
        let middle = measured.iter().filter(|p| (2.0..=4.0).contains(*p)).count();
        assert!(
            middle * 2 >= measured.len(),
            "{middle} of {}",
            measured.len()
        );
        let codes: std::collections::HashSet<i32> =
            rows.iter().map(|r| r.legb_disconnect_code).collect();
        assert_eq!(
            codes.len(),
            sip.len() + 1,
            "every failure and 200: {codes:?}"
        );
        match run {
            0 => first_run = rows,
            1 => assert!(rows == first_run, "the same seed gives the same CDRs"),
            _ => {}
        }
        ch.query(&format!(
            "DROP DATABASE IF EXISTS {}",
            settings.clickhouse_database
        ))
        .execute()
        .await
        .expect("drop");
    }
}

/// The migration on a database already taking CDRs: the view of the origination copy is
/// changed in place while a pipeline keeps inserting (without the new columns, then with
/// them), and every last CDR reaches the copy: none is lost between an old and a new view.
/// CDRs inserted after the change carry their breakdown columns into the copy.
#[tokio::test]
async fn the_breakdown_migration_loses_no_cdr_inserted_while_it_runs() {
    use cdrstats::cli::migrate::MIGRATIONS;
    use cdrstats::ddl::statements;
    let database = format!(
        "t_breakdown_migration_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let server = clickhouse::Client::default().with_url(engine_url());
    server
        .query(&format!("CREATE DATABASE {database}"))
        .execute()
        .await
        .expect("database");
    let ch = server.clone().with_database(&database);
    let run = |files: &[(&str, &str)]| {
        let ch = ch.clone();
        let all: Vec<String> = files.iter().flat_map(|(_, t)| statements(t)).collect();
        async move {
            for statement in all {
                ch.query(&statement).execute().await.expect("statement");
            }
        }
    };
    let (before, breakdown) = MIGRATIONS.split_at(
        MIGRATIONS
            .iter()
            .position(|(name, _)| *name == "020_breakdown.sql")
            .expect("020 is compiled in"),
    );
    run(before).await;
    // The pipeline as it was: the columns of before the migration.
    let pipeline = {
        let ch = ch.clone();
        tokio::spawn(async move {
            for i in 0..40u32 {
                let mut c = cdr(T0 + i64::from(i), 10);
                c.is_last_cdr = i % 4 != 0;
                let mut insert = ch.insert::<Cdr>("cdrs").await.expect("insert");
                insert.write(&c).await.expect("write");
                insert.end().await.expect("end");
                tokio::task::yield_now().await;
            }
        })
    };
    run(breakdown).await;
    pipeline.await.expect("pipeline");
    // A pipeline sending the new columns.
    let mut new = call(T0 + 100, 0);
    new.customer_acc_id = 77;
    new.lega_disconnect_code = 487;
    new.lega_disconnect_reason = "Request Terminated".into();
    new.pdd = 1.25;
    // A new client: a client keeps the table schema it validated rows against.
    let after = clickhouse::Client::default()
        .with_url(engine_url())
        .with_database(&database);
    let mut insert = after.insert::<Call>("cdrs").await.expect("insert");
    insert.write(&new).await.expect("write");
    insert.end().await.expect("end");
    let count = |sql: &'static str| {
        let ch = ch.clone();
        async move { ch.query(sql).fetch_one::<u64>().await.expect("count") }
    };
    assert_eq!(
        count("SELECT count() FROM cdrs WHERE is_last_cdr").await,
        31
    );
    assert_eq!(count("SELECT count() FROM cdrs_by_customer").await, 31);
    assert_eq!(
        count(
            "SELECT count() FROM cdrs_by_customer WHERE customer_acc_id = 77 \
             AND lega_disconnect_code = 487 AND lega_disconnect_reason = 'Request Terminated' \
             AND pdd = 1.25"
        )
        .await,
        1
    );
    server
        .query(&format!("DROP DATABASE {database}"))
        .execute()
        .await
        .expect("drop");
}
