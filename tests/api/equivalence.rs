//! Property test: random filter / sampling / window combinations give, on every path (forced
//! raw CDRs, the planner's rollup choice, the gateway fresh (`Cache-Control: no-cache`), from
//! the response cache, and incrementally from cached settled buckets), the document an
//! independent computation expects: a straightforward SQL written here selects the matching raw
//! CDRs, and the test buckets them with its own calendar arithmetic (chrono-tz) and computes
//! the metrics with its own decimals — none of the planner, SQL templates, fetch, grid or
//! document code under test. The random cases come from a fixed seed, so a failure reproduces.

use crate::helpers::*;
use cdrstats::domain::{Endpoint, Side};
use cdrstats::stats::document;
use cdrstats::stats::params::StatsRequest;
use cdrstats::stats::plan::{Scope, Window, plan};
use cdrstats::stats::query::fetch_buckets;
use chrono::{Offset, TimeZone};
use clickhouse::Row;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;

const SPAN: i64 = 2 * 86_400;
const CASES: usize = 40;

pub(crate) fn random_rows(rng: &mut SmallRng) -> Vec<Cdr> {
    let prefixes = ["4420", "4479", "49", "1212", "ABC9", "331"];
    (0..6_000)
        .map(|_| {
            let mut r = cdr(T0 + rng.random_range(0..SPAN), 0);
            r.duration = if rng.random_bool(0.55) {
                rng.random_range(1..600)
            } else {
                0
            };
            r.vendor_acc_id = if rng.random_bool(0.8) {
                ACCOUNT
            } else {
                SECOND_ACCOUNT
            };
            r.customer_acc_id = if rng.random_bool(0.8) {
                ACCOUNT
            } else {
                SECOND_ACCOUNT
            };
            r.is_last_cdr = rng.random_bool(0.7);
            r.src_country_id = rng.random_range(1..4);
            r.dst_country_id = rng.random_range(40..45);
            r.src_prefix_routing = prefixes[rng.random_range(0..6)].to_owned();
            r.dst_prefix_routing = prefixes[rng.random_range(0..6)].to_owned();
            r.vendor_price = [0.01, 0.015, 0.02][rng.random_range(0..3)];
            r.customer_price = r.vendor_price * 1.5;
            r.auth_orig_ip = ["192.0.2.1", "192.0.2.2"][rng.random_range(0..2)].to_owned();
            r
        })
        .collect()
}

/// Filter parameters of the cases and, written independently of the gateway's filter table,
/// the SQL condition each one means.
const FILTERS: &[(&str, &str)] = &[
    ("src-country-id=2", "src_country_id = 2"),
    ("dst-country-id=42", "dst_country_id = 42"),
    (
        "dst-prefix-routing-starts-with=44",
        "startsWith(dst_prefix_routing, '44')",
    ),
    ("dst-prefix-routing-eq=49", "dst_prefix_routing = '49'"),
    (
        "dst-prefix-routing-ends-with=9",
        "endsWith(dst_prefix_routing, '9')",
    ),
    (
        "dst-prefix-routing-contains=abc",
        "positionCaseInsensitive(dst_prefix_routing, 'abc') > 0",
    ),
    ("src-prefix-routing-eq=331", "src_prefix_routing = '331'"),
    ("duration-gt=100", "duration > 100"),
    ("duration-lt=50", "duration < 50"),
    ("vendor-price-lt=0.02", "vendor_price < 0.02"),
    ("customer-price-gt=0.02", "customer_price > 0.02"),
    ("auth-orig-ip=192.0.2.2", "auth_orig_ip = '192.0.2.2'"),
];

/// Zero to two distinct filters the endpoint accepts (as `&name=value...`) and their SQL.
pub(crate) fn random_filters(
    rng: &mut SmallRng,
    endpoint: Endpoint,
) -> (String, Vec<&'static str>) {
    let allowed: Vec<&(&str, &str)> = FILTERS
        .iter()
        .filter(|(p, _)| match endpoint.side() {
            Side::Termination => !p.starts_with("customer-") && !p.starts_with("auth-"),
            Side::Origination => !p.starts_with("vendor-"),
        })
        .collect();
    // Mostly zero or one filter (the rollup paths), sometimes two.
    let n = [0, 0, 1, 1, 1, 2][rng.random_range(0..6)];
    let mut picked = std::collections::BTreeMap::new();
    for _ in 0..n {
        let (param, sql) = allowed[rng.random_range(0..allowed.len())];
        picked.insert(*param, *sql);
    }
    let query = picked.keys().map(|p| format!("&{p}")).collect();
    (query, picked.into_values().collect())
}

#[derive(Row, Deserialize)]
struct RawCdr {
    t: u32,
    duration: i32,
}

/// Start of the bucket holding `t`: fixed widths in UTC; hours and days on the zone's clock.
fn bucket_start(t: i64, step: i64, zone: Option<chrono_tz::Tz>) -> i64 {
    match (zone, step) {
        (Some(tz), 3600) => {
            let offset = i64::from(tz.offset_from_utc_datetime(&utc(t)).fix().local_minus_utc());
            t - (t + offset).rem_euclid(3600)
        }
        (Some(tz), 86_400) => local_midnight(tz, tz.from_utc_datetime(&utc(t)).date_naive()),
        _ => t - t.rem_euclid(step),
    }
}

fn next_bucket(start: i64, step: i64, zone: Option<chrono_tz::Tz>) -> i64 {
    match (zone, step) {
        (Some(tz), 86_400) => {
            let day = tz.from_utc_datetime(&utc(start)).date_naive();
            local_midnight(tz, day.succ_opt().expect("date"))
        }
        _ => start + step,
    }
}

fn utc(t: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp(t, 0)
        .expect("time")
        .naive_utc()
}

fn local_midnight(tz: chrono_tz::Tz, day: chrono::NaiveDate) -> i64 {
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .expect("these zones have every midnight")
        .timestamp()
}

/// The expected document from a straightforward SQL over raw CDRs and the test's own bucketing
/// and arithmetic.
#[allow(clippy::too_many_arguments)]
async fn independent_document(
    app: &TestApp,
    endpoint: Endpoint,
    from: i64,
    to: i64,
    step: i64,
    zone: Option<chrono_tz::Tz>,
    conditions: &[&str],
) -> serde_json::Value {
    let mut sql = String::from(
        "SELECT toUInt32(time_start) AS t, duration FROM cdrs \
         WHERE time_start >= toDateTime({from:UInt32}, 'UTC') \
         AND time_start <= toDateTime({to:UInt32}, 'UTC')",
    );
    sql.push_str(match endpoint.side() {
        Side::Termination => " AND vendor_acc_id = {account:UInt32}",
        Side::Origination => " AND customer_acc_id = {account:UInt32} AND is_last_cdr",
    });
    for c in conditions {
        sql.push_str(" AND ");
        sql.push_str(c);
    }
    let rows: Vec<RawCdr> = app
        .ch
        .query(&sql)
        .param("from", u32::try_from(from).expect("from"))
        .param("to", u32::try_from(to).expect("to"))
        .param("account", ACCOUNT)
        .fetch_all()
        .await
        .expect("independent query");
    let mut starts = vec![];
    let mut b = bucket_start(from, step, zone);
    while b <= to {
        starts.push(b);
        b = next_bucket(b, step, zone);
    }
    let (mut t, mut calls, mut acd, mut asr, mut cps) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut all_n, mut all_a, mut all_d) = (0i128, 0i128, 0i128);
    for (i, &start) in starts.iter().enumerate() {
        let end = starts
            .get(i + 1)
            .copied()
            .unwrap_or_else(|| next_bucket(start, step, zone));
        let inside: Vec<&RawCdr> = rows
            .iter()
            .filter(|r| (start..end).contains(&i64::from(r.t)))
            .collect();
        let n = inside.len() as i128;
        let a = inside.iter().filter(|r| r.duration > 0).count() as i128;
        let d: i128 = inside
            .iter()
            .filter(|r| r.duration > 0)
            .map(|r| i128::from(r.duration))
            .sum();
        t.push(serde_json::json!(start));
        calls.push(serde_json::json!(n));
        acd.push((a > 0).then(|| expected_ratio(d, a)));
        asr.push((n > 0).then(|| expected_ratio(100 * a, n)));
        cps.push(expected_ratio(n, i128::from(end - start)));
        all_n += n;
        all_a += a;
        all_d += d;
    }
    serde_json::json!({
        "data": { "t": t, "total_calls": calls, "acd": acd, "asr": asr, "cps": cps },
        "rows": t.len(),
        "totals": {
            "t": 0,
            "total_calls": all_n,
            "acd": (all_a > 0).then(|| expected_ratio(all_d, all_a)),
            "asr": (all_n > 0).then(|| expected_ratio(100 * all_a, all_n)),
            "cps": expected_ratio(all_n, i128::from(step)),
        }
    })
}

async fn planned_document(
    app: &TestApp,
    req: &StatsRequest,
    allow_rollup: bool,
) -> serde_json::Value {
    let to = req.to.expect("cases give to-time").floor();
    let scope = Scope {
        endpoint: req.endpoint,
        account: ACCOUNT,
        grid: req.grid(),
        filters: &req.filters,
    };
    let window = Window {
        from: req.from.ceil(),
        to,
    };
    let rows = if window.from <= window.to {
        let since = planned_since(app, req.endpoint, ACCOUNT, allow_rollup).await;
        let plan = plan(scope, &[window], since);
        fetch_buckets(&app.ch, &plan).await.expect("query")
    } else {
        vec![]
    };
    let grid = req.grid();
    let doc = document::build(&rows, grid.floor(req.from.secs), grid.floor(to), grid);
    serde_json::to_value(doc).expect("json")
}

async fn via_gateway(
    app: &TestApp,
    path: &str,
    query: &str,
    no_cache: bool,
) -> (serde_json::Value, String) {
    let mut request = app
        .http
        .get(format!("{}{path}?{query}", app.address))
        .header(
            "Authorization",
            token(cdrstats::auth::token::Mint::Access(ACCESS_ALL)),
        );
    if no_cache {
        request = request.header("Cache-Control", "no-cache");
    }
    let resp = request.send().await.expect("request");
    assert_eq!(resp.status(), 200, "{query}");
    let source = resp.headers()["x-cdrstats-source"]
        .to_str()
        .expect("ascii")
        .to_owned();
    (resp.json().await.expect("json"), source)
}

#[tokio::test]
async fn every_path_gives_the_same_document() {
    // Everything inserted is long settled, so the bucket cache is used.
    let app = spawn_app_with("equivalence", &[("SETTLE_LAG_SECS", "0")]).await;
    let mut rng = SmallRng::seed_from_u64(20_261_126);
    app.insert_cdrs(&random_rows(&mut rng)).await;
    let samplings = [
        ("minute", 60),
        ("5minutes", 300),
        ("15minutes", 900),
        ("hour", 3600),
        ("day", 86_400),
    ];
    let mut sources = std::collections::BTreeSet::new();
    let mut with_calls = 0;
    let mut replay = Vec::new();
    for case in 0..CASES {
        let endpoint = if rng.random_bool(0.5) {
            Endpoint::TerminationQuality
        } else {
            Endpoint::OriginationQuality
        };
        let (sampling, step) = samplings[rng.random_range(0..samplings.len())];
        let from = T0 - 600 + rng.random_range(0..SPAN);
        let longest = (step * 600).min(SPAN);
        let to = from + rng.random_range(0..longest);
        let (mut filters, conditions) = random_filters(&mut rng, endpoint);
        let mut zone = None;
        if rng.random_bool(0.3) {
            let zones = [
                ("Europe%2FBerlin", chrono_tz::Europe::Berlin),
                ("Asia%2FKathmandu", chrono_tz::Asia::Kathmandu),
                ("America%2FNew_York", chrono_tz::America::New_York),
            ];
            let (name, tz) = zones[rng.random_range(0..zones.len())];
            filters.push_str(&format!("&time-zone={name}"));
            zone = Some(tz);
        }
        let query = window_query(from, to, sampling, &filters);
        let req = StatsRequest::parse(endpoint, &query).expect("valid case");
        let context = format!("case {case}: {} {query}", endpoint.name());

        let expected =
            independent_document(&app, endpoint, from, to, step, zone, &conditions).await;
        if expected["totals"]["total_calls"].as_i64() > Some(0) {
            with_calls += 1;
        }
        assert_eq!(
            planned_document(&app, &req, false).await,
            expected,
            "raw path: {context}"
        );
        assert_eq!(
            planned_document(&app, &req, true).await,
            expected,
            "planner: {context}"
        );
        let (fresh, s1) = via_gateway(&app, endpoint.path(), &query, true).await;
        assert_eq!(fresh, expected, "gateway fresh: {context}");
        let (cached, s2) = via_gateway(&app, endpoint.path(), &query, false).await;
        assert_eq!(cached, expected, "gateway cached: {context}");
        // The same scope with the window moved by a few seconds: served incrementally.
        let shifted_from = from + rng.random_range(1..120);
        let shifted_to = to + rng.random_range(0..600);
        let shifted = window_query(shifted_from, shifted_to, sampling, &filters);
        let (incremental, s3) = via_gateway(&app, endpoint.path(), &shifted, false).await;
        assert_eq!(
            incremental,
            independent_document(
                &app,
                endpoint,
                shifted_from,
                shifted_to,
                step,
                zone,
                &conditions
            )
            .await,
            "shifted: {context}"
        );
        sources.extend([s1, s2, s3]);
        replay.push((req, from, to, step, zone, conditions));
    }
    // ACCOUNT rolled up only from mid-span on (`since` rounded up to a minute), its rollup
    // rows before that made wrong (doubled): the planner reads raw CDRs there, the rollup after.
    let since = T0 + SPAN / 2 + 17;
    let listed_from = (since + 59) / 60 * 60;
    app.list_from_with_wrong_rollups_before(ACCOUNT, since)
        .await;
    for (req, from, to, step, zone, conditions) in &replay {
        let expected =
            independent_document(&app, req.endpoint, *from, *to, *step, *zone, conditions).await;
        assert_eq!(
            planned_document(&app, req, true).await,
            expected,
            "planner, rolled up from {listed_from}: {} {from}..{to}",
            req.endpoint.name()
        );
    }
    // The comparisons were about data, not empty windows.
    assert!(with_calls >= CASES / 2, "only {with_calls} cases saw calls");
    // The cases exercised every path.
    for path in ["raw", "rollup", "cache", "incremental"] {
        assert!(
            sources.contains(path),
            "no case took the {path} path: {sources:?}"
        );
    }
}
