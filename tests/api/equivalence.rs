//! Property test: random filter / sampling / window combinations give identical documents on
//! every path — forced raw CDRs, the planner's rollup choice, the gateway fresh
//! (`Cache-Control: no-cache`), from the response cache, and incrementally from cached
//! settled buckets. The random cases come from a fixed seed, so a failure reproduces.

use crate::helpers::*;
use cdrstats::stats::document;
use cdrstats::stats::filters::{Endpoint, Side};
use cdrstats::stats::params::StatsRequest;
use cdrstats::stats::plan::{Scope, Window, plan};
use cdrstats::stats::query::fetch_buckets;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

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

pub(crate) fn random_filters(rng: &mut SmallRng, endpoint: Endpoint) -> String {
    let mut pool = vec![
        "src-country-id=2",
        "dst-country-id=42",
        "dst-prefix-routing-starts-with=44",
        "dst-prefix-routing-eq=49",
        "dst-prefix-routing-ends-with=9",
        "dst-prefix-routing-contains=abc",
        "src-prefix-routing-eq=331",
        "duration-gt=100",
        "duration-lt=50",
    ];
    match endpoint.side() {
        Side::Termination => pool.push("vendor-price-lt=0.02"),
        Side::Origination => pool.extend(["customer-price-gt=0.02", "auth-orig-ip=192.0.2.2"]),
    }
    // Mostly zero or one filter (the rollup paths), sometimes two.
    let n = [0, 0, 1, 1, 1, 2][rng.random_range(0..6)];
    (0..n)
        .map(|_| format!("&{}", pool[rng.random_range(0..pool.len())]))
        .collect::<Vec<_>>()
        .join("")
        // A parameter drawn twice would be a 400, not a case.
        .split('&')
        .filter(|s| !s.is_empty())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|s| format!("&{s}"))
        .collect()
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
        let plan = plan(scope, &[window], allow_rollup);
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
    for case in 0..CASES {
        let endpoint = if rng.random_bool(0.5) {
            Endpoint::Termination
        } else {
            Endpoint::Origination
        };
        let (sampling, step) = samplings[rng.random_range(0..samplings.len())];
        let from = T0 - 600 + rng.random_range(0..SPAN);
        let longest = (step * 600).min(SPAN);
        let to = from + rng.random_range(0..longest);
        let mut filters = random_filters(&mut rng, endpoint);
        if rng.random_bool(0.3) {
            let zones = ["Europe%2FBerlin", "Asia%2FKathmandu", "America%2FNew_York"];
            filters.push_str(&format!(
                "&time-zone={}",
                zones[rng.random_range(0..zones.len())]
            ));
        }
        let query = window_query(from, to, sampling, &filters);
        let req = StatsRequest::parse(endpoint, &query).expect("valid case");
        let context = format!("case {case}: {} {query}", endpoint.name());

        let raw = planned_document(&app, &req, false).await;
        assert_eq!(
            planned_document(&app, &req, true).await,
            raw,
            "planner: {context}"
        );
        let (fresh, s1) = via_gateway(&app, endpoint.path(), &query, true).await;
        assert_eq!(fresh, raw, "gateway fresh: {context}");
        let (cached, s2) = via_gateway(&app, endpoint.path(), &query, false).await;
        assert_eq!(cached, raw, "gateway cached: {context}");
        // The same scope with the window moved by a few seconds: served incrementally.
        let shifted_from = from + rng.random_range(1..120);
        let shifted_to = to + rng.random_range(0..600);
        let shifted = window_query(shifted_from, shifted_to, sampling, &filters);
        let shifted_req = StatsRequest::parse(endpoint, &shifted).expect("valid case");
        let (incremental, s3) = via_gateway(&app, endpoint.path(), &shifted, false).await;
        assert_eq!(
            incremental,
            planned_document(&app, &shifted_req, false).await,
            "shifted: {context}"
        );
        sources.extend([s1, s2, s3]);
    }
    // The cases exercised every path.
    for path in ["raw", "rollup", "cache", "incremental"] {
        assert!(
            sources.contains(path),
            "no case took the {path} path: {sources:?}"
        );
    }
}
