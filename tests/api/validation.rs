//! Every 400 of the contract, with its exact message, and JSON errors for unknown routes.

use crate::helpers::*;
use crate::statistics::urlencode;

async fn error_of(app: &TestApp, path: &str, query: &str) -> (u16, String) {
    let resp = app.get(path, query).await;
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

fn err(msg: &str) -> (u16, String) {
    (400, serde_json::json!({ "error": msg }).to_string())
}

#[tokio::test]
async fn each_bad_request_gets_its_exact_message() {
    let app = spawn_app("bad_requests").await;
    let ok = window_query(T0, T0 + 59, "minute", "");
    let from = urlencode(&iso(T0));
    let cases: Vec<(String, (u16, String))> = vec![
        (
            String::new(),
            err("missing required param(s) account-id, from-time, sampling"),
        ),
        (
            "sampling=minute".into(),
            err("missing required param(s) account-id, from-time"),
        ),
        (
            format!("account-id={ACCOUNT_UUID}&from-time={from}"),
            err("missing required param(s) sampling"),
        ),
        (
            format!("account-id=not-a-uuid&from-time={from}&sampling=minute"),
            err("invalid value account-id"),
        ),
        (
            format!("account-id={FOREIGN_UUID}&from-time={from}&sampling=minute"),
            err("invalid value account-id"),
        ),
        (
            format!(
                "account-id=00000000-0000-4000-8000-000000000000&from-time={from}&sampling=minute"
            ),
            err("invalid value account-id"),
        ),
        (
            format!("account-id={ACCOUNT_UUID}&from-time=yesterday&sampling=minute"),
            err("invalid value from-time"),
        ),
        (
            format!("{ok}&to-time=2001-01-01"),
            err("param to-time can't be an array"),
        ),
        (
            format!(
                "account-id={ACCOUNT_UUID}&from-time={from}&to-time=2001-01-01&sampling=minute"
            ),
            err("invalid value to-time"),
        ),
        (
            format!("account-id={ACCOUNT_UUID}&from-time={from}&sampling=weekly"),
            err("invalid sampling"),
        ),
        (
            format!("{ok}&src-country-id=abc"),
            err("invalid value src-country-id"),
        ),
        (
            format!("{ok}&duration-lt=99999999999"),
            err("invalid value duration-lt"),
        ),
        (
            format!("{ok}&vendor-price-gt=NaN"),
            err("invalid value vendor-price-gt"),
        ),
        (
            format!("{ok}&dst-prefix-routing-eq={}", "7".repeat(500)),
            err("invalid value dst-prefix-routing-eq"),
        ),
        (
            format!("{ok}&account-id[]={ACCOUNT_UUID}"),
            err("param account-id can't be an array"),
        ),
        (
            format!("{ok}&duration-eq=1&duration-eq=2"),
            err("param duration-eq can't be an array"),
        ),
    ];
    for (query, want) in cases {
        assert_eq!(error_of(&app, TERMINATION, &query).await, want, "{query}");
    }
    // Unknown parameters are ignored; the other endpoint's filters are unknown here.
    let (status, _) = error_of(
        &app,
        TERMINATION,
        &format!("{ok}&foo=bar&customer-price-eq=x"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = error_of(&app, ORIGINATION, &format!("{ok}&auth-orig-ip=nope")).await;
    assert_eq!((status, body), err("invalid value auth-orig-ip"));
}

#[tokio::test]
async fn too_many_buckets_is_a_400_not_a_slow_query() {
    let app = spawn_app("too_many_buckets").await;
    let q = window_query(T0 - 40 * 86_400, T0, "minute", "");
    let (status, body) = error_of(&app, TERMINATION, &q).await;
    assert_eq!(status, 400);
    assert!(body.contains("too many buckets"), "{body}");
    // The same range by hour is fine.
    let (status, _) = error_of(
        &app,
        TERMINATION,
        &window_query(T0 - 40 * 86_400, T0, "hour", ""),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app("routes").await;
    let resp = app
        .http
        .get(format!("{}/nope", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.text().await.expect("body"), r#"{"error":"not found"}"#);
    let resp = app
        .http
        .post(format!("{}{TERMINATION}", app.address))
        .send()
        .await
        .expect("request");
    // A known path with another method is 405 (error_shapes.rs covers every such answer).
    assert_eq!(resp.status(), 405);
    assert_eq!(
        resp.text().await.expect("body"),
        r#"{"error":"method not allowed"}"#
    );
    let health = app
        .http
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 200);
    let ready = app
        .http
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(ready.status(), 200);
}
