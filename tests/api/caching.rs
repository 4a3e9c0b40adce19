//! Response cache, request coalescing, `Cache-Control: no-cache`, and the metrics that show it.

use crate::helpers::*;
use cdrstats::auth::token::Mint;

/// The gateway's Prometheus text.
async fn metrics_text(app: &TestApp) -> String {
    app.http
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body")
}

async fn queries_so_far(app: &TestApp) -> u64 {
    metrics_text(app)
        .await
        .lines()
        .filter(|l| l.starts_with("cdrstats_clickhouse_queries_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn get(app: &TestApp, query: &str, no_cache: bool) -> (u16, String, String) {
    let mut req = app
        .http
        .get(format!("{}{TERMINATION}?{query}", app.address))
        .header("Authorization", token(Mint::Access(ACCESS_ALL)));
    if no_cache {
        req = req.header("Cache-Control", "no-cache");
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let source = resp
        .headers()
        .get("x-cdrstats-source")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    (status, source, resp.text().await.expect("body"))
}

#[tokio::test]
async fn identical_concurrent_cold_requests_run_one_query() {
    // Limits off: this test is about coalescing, not admission.
    let app = spawn_app_with("coalescing", &[("LIMITS_CUSTOMER", "rps=0,concurrency=0")]).await;
    app.insert_cdrs(&[cdr(T0 + 5, 10), cdr(T0 + 65, 0)]).await;
    let q = window_query(T0, T0 + 3599, "minute", "");
    // Warm the account lookup so only statistics queries are counted.
    let other = window_query(T0, T0 + 59, "hour", "");
    assert_eq!(get(&app, &other, false).await.0, 200);
    let before = queries_so_far(&app).await;
    let answers = futures_util::future::join_all((0..100).map(|_| get(&app, &q, false))).await;
    assert!(
        answers
            .iter()
            .all(|(s, _, b)| *s == 200 && *b == answers[0].2)
    );
    assert_eq!(
        queries_so_far(&app).await - before,
        1,
        "100 identical requests, one query"
    );
    let sources: std::collections::BTreeSet<_> =
        answers.iter().map(|(_, s, _)| s.as_str()).collect();
    assert!(sources.contains("cache"), "{sources:?}");
}

#[tokio::test]
async fn no_cache_bypasses_the_cache_and_sees_new_rows() {
    let app = spawn_app("no_cache").await;
    app.insert_cdrs(&[cdr(T0 + 5, 10)]).await;
    let q = window_query(T0, T0 + 59, "minute", "");
    let (_, first_source, first) = get(&app, &q, false).await;
    assert_eq!(first_source, "rollup");
    let (_, second_source, second) = get(&app, &q, false).await;
    assert_eq!((second_source.as_str(), &second), ("cache", &first));
    // A late row: the cached answer stays until it expires; no-cache reads it at once.
    app.insert_cdrs(&[cdr(T0 + 6, 0)]).await;
    let before = queries_so_far(&app).await;
    let (_, fresh_source, fresh) = get(&app, &q, true).await;
    assert_ne!(fresh_source, "cache");
    assert_eq!(queries_so_far(&app).await - before, 1);
    let doc: serde_json::Value = serde_json::from_str(&fresh).expect("json");
    assert_eq!(doc["totals"]["total_calls"], 2);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app("metrics").await;
    let q = window_query(T0, T0 + 59, "minute", "");
    assert_eq!(get(&app, &q, false).await.0, 200);
    assert_eq!(get(&app, "sampling=minute", false).await.0, 400);
    let text = metrics_text(&app).await;
    let route = "/api/rest/customer/v1/termination-statistics-quality";
    for needle in [
        format!("cdrstats_http_requests_total{{route=\"{route}\",status=\"200\"}} 1"),
        format!("cdrstats_http_requests_total{{route=\"{route}\",status=\"400\"}} 1"),
        "cdrstats_http_request_duration_seconds_bucket".to_owned(),
        "cdrstats_clickhouse_queries_total{path=\"rollup\"} 1".to_owned(),
        "cdrstats_cache_lookups_total{cache=\"response\",result=\"miss\"} 1".to_owned(),
        "cdrstats_http_requests_in_flight".to_owned(),
    ] {
        assert!(text.contains(&needle), "missing {needle}\n{text}");
    }
}

#[tokio::test]
async fn a_customer_over_its_rate_gets_429_with_retry_after() {
    let app = spawn_app_with("rate_limit", &[("LIMITS_CUSTOMER", "rps=1,burst=3")]).await;
    let q = window_query(T0, T0 + 59, "minute", "");
    let mut statuses = vec![];
    for _ in 0..5 {
        let resp = app
            .http
            .get(format!("{}{TERMINATION}?{q}", app.address))
            .header("Authorization", token(Mint::Access(ACCESS_ALL)))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        if status == 429 {
            let retry: u64 = resp.headers()["retry-after"]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("secs");
            assert!(retry >= 1);
            assert_eq!(
                resp.text().await.expect("body"),
                r#"{"error":"too many requests, slow down"}"#
            );
        }
        statuses.push(status);
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    // A load-test token has its own class and limits: not refused.
    let exp = chrono::Utc::now().timestamp() + 3600; // exp is required (JWT_REQUIRE_EXP)
    let claims = serde_json::json!({"aud": ["customer-v1"], "sub": ACCESS_ALL, "cls": "loadtest", "exp": exp});
    let lt = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encode");
    let resp = app.get_with_token(TERMINATION, &q, &lt).await;
    assert_eq!(resp.status(), 200);
}
