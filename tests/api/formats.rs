//! SPEC §7 on every statistics endpoint: `format=rows`, RFC 4180 CSV, `HEAD`, the token in
//! `Authorization: Basic`, and the chart page served from the binary itself.

use crate::helpers::*;
use crate::statistics::seed_rows;
use base64::{Engine, prelude::BASE64_STANDARD};
use cdrstats::auth::token::Mint;
use serde_json::Value;

const ENDPOINTS: [&str; 2] = [TERMINATION, ORIGINATION];

async fn get_with_auth(app: &TestApp, path: &str, query: &str, auth: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}?{query}", app.address))
        .header("Authorization", auth)
        .send()
        .await
        .expect("request")
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        BASE64_STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn rows_hold_the_document_numbers_as_json_numbers_on_every_endpoint() {
    let app = spawn_app("rows_numbers").await;
    app.insert_cdrs(&seed_rows()).await;
    // One empty minute after the seed's three: nulls must survive.
    let q = window_query(T0, T0 + 239, "minute", "");
    for endpoint in ENDPOINTS {
        let doc: Value = app.get(endpoint, &q).await.json().await.expect("json");
        let resp = app.get(endpoint, &format!("{q}&format=rows")).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        let text = resp.text().await.expect("body");
        // The contract's first row, byte for byte: decimals are numbers, not strings.
        assert!(
            text.starts_with(
                r#"[{"t":1734699960,"time":"2024-12-20T13:06:00Z","total_calls":150,"acd":5.0,"asr":86.67,"cps":2.5},"#
            ),
            "{endpoint}: {text}"
        );
        let rows: Vec<Value> = serde_json::from_str(&text).expect("a JSON array");
        assert_eq!(rows.len() as u64, doc["rows"].as_u64().expect("rows"));
        for (i, row) in rows.iter().enumerate() {
            // (serde_json sorts keys; the order itself is checked on the first row's text above.)
            let keys: Vec<&str> = row
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, ["acd", "asr", "cps", "t", "time", "total_calls"]);
            let t = doc["data"]["t"][i].as_i64().expect("t");
            assert_eq!(row["t"], t);
            assert_eq!(row["time"], iso(t));
            assert_eq!(row["total_calls"], doc["data"]["total_calls"][i]);
            for metric in ["acd", "asr", "cps"] {
                // The number's shortest text equals the document's exact decimal text.
                let as_text = match &row[metric] {
                    Value::Null => Value::Null,
                    n => Value::String(n.to_string()),
                };
                assert_eq!(
                    as_text, doc["data"][metric][i],
                    "{endpoint} row {i} {metric}"
                );
            }
        }
        assert_eq!(rows[3]["acd"], Value::Null);
        assert_eq!(rows[3]["asr"], Value::Null);
        assert_eq!(rows[3]["cps"], 0.0);
    }
}

#[tokio::test]
async fn csv_quotes_text_leaves_numbers_bare_and_nulls_empty() {
    let app = spawn_app("csv_rfc4180").await;
    app.insert_cdrs(&seed_rows()).await;
    let q = window_query(T0 + 120, T0 + 239, "minute", "&format=csv");
    for endpoint in ENDPOINTS {
        let resp = app.get(endpoint, &q).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"],
            "text/csv; charset=utf-8; header=present"
        );
        assert_eq!(
            resp.text().await.expect("body"),
            "\"t\",\"time\",\"total_calls\",\"acd\",\"asr\",\"cps\"\r\n\
             1734700080,\"2024-12-20T13:08:00Z\",180,4.8,83.33,3.0\r\n\
             1734700140,\"2024-12-20T13:09:00Z\",0,,,0.0\r\n"
        );
    }
}

#[tokio::test]
async fn a_future_window_is_an_empty_array_or_a_bare_csv_header() {
    let app = spawn_app("future_formats").await;
    let q = format!(
        "account-id={ACCOUNT_UUID}&from-time={}&sampling=minute",
        iso(chrono::Utc::now().timestamp() + 3600)
    );
    let rows = app.get(TERMINATION, &format!("{q}&format=rows")).await;
    assert_eq!(rows.status(), 200);
    assert_eq!(rows.text().await.expect("body"), "[]");
    let csv = app.get(TERMINATION, &format!("{q}&format=csv")).await;
    assert_eq!(
        csv.text().await.expect("body"),
        "\"t\",\"time\",\"total_calls\",\"acd\",\"asr\",\"cps\"\r\n"
    );
}

#[tokio::test]
async fn an_unknown_or_repeated_format_is_a_400() {
    let app = spawn_app("bad_format").await;
    let q = window_query(T0, T0 + 59, "minute", "");
    for (extra, error) in [
        ("&format=xml", "invalid value format"),
        ("&format=csv&format=rows", "param format can't be an array"),
        ("&format[]=csv", "param format can't be an array"),
    ] {
        let resp = app.get(TERMINATION, &format!("{q}{extra}")).await;
        assert_eq!(resp.status(), 400, "{extra}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"], error, "{extra}");
    }
    let upper = app.get(TERMINATION, &format!("{q}&format=ROWS")).await;
    assert_eq!(upper.status(), 200);
}

#[tokio::test]
async fn head_answers_the_status_and_headers_of_get_without_a_body() {
    let app = spawn_app("head").await;
    app.insert_cdrs(&seed_rows()).await;
    let auth = format!("Bearer {}", token(Mint::Access(ACCESS_ALL)));
    let q = window_query(T0, T0 + 179, "minute", "");
    for endpoint in ENDPOINTS {
        for format in ["", "&format=rows", "&format=csv"] {
            let url = format!("{}{endpoint}?{q}{format}", app.address);
            let get = app
                .http
                .get(&url)
                .header("Authorization", &auth)
                .send()
                .await
                .expect("get");
            let head = app
                .http
                .head(&url)
                .header("Authorization", &auth)
                .send()
                .await
                .expect("head");
            assert_eq!(head.status(), 200, "{url}");
            for name in ["content-type", "etag", "cache-control", "vary"] {
                assert_eq!(head.headers()[name], get.headers()[name], "{name} of {url}");
            }
            let get_len = get.bytes().await.expect("get body").len();
            assert!(get_len > 0);
            assert_eq!(
                head.headers()["content-length"],
                get_len.to_string().as_str()
            );
            assert!(head.bytes().await.expect("head body").is_empty());
        }
        let anonymous = app
            .http
            .head(format!("{}{endpoint}?{q}", app.address))
            .send()
            .await
            .expect("head");
        assert_eq!(anonymous.status(), 401);
    }
    for path in [
        "/healthz",
        "/openapi.json",
        "/dashboard/",
        "/dashboard/vendor/uplot/uPlot.iife.min.js",
    ] {
        let resp = app
            .http
            .head(format!("{}{path}", app.address))
            .send()
            .await
            .expect("head");
        assert_eq!(resp.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn basic_auth_carries_the_token_as_the_password() {
    let app = spawn_app("basic_auth").await;
    app.insert_cdrs(&seed_rows()).await;
    let good = token(Mint::Access(ACCESS_ALL));
    let q = window_query(T0, T0 + 179, "minute", "");
    let bearer: Value = app.get(TERMINATION, &q).await.json().await.expect("json");
    for user in ["excel", "", "power bi user"] {
        let resp = get_with_auth(&app, TERMINATION, &q, &basic(user, &good)).await;
        assert_eq!(resp.status(), 200, "user {user:?}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body, bearer);
    }
    let forged = format!("{}x", &good[..good.len() - 1]);
    for auth in [
        basic("excel", &forged),
        // The token as the user name is not where Basic carries it.
        basic(&good, ""),
        "Basic %%%".to_owned(),
    ] {
        let resp = get_with_auth(&app, TERMINATION, &q, &auth).await;
        assert_eq!(resp.status(), 401, "{auth}");
        assert!(resp.bytes().await.expect("body").is_empty());
    }
    // Basic is also restricted by the token's own rules: api_access 2 may not use ACCOUNT.
    let second_only = token(Mint::Access(ACCESS_SECOND_ONLY));
    let resp = get_with_auth(&app, TERMINATION, &q, &basic("x", &second_only)).await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn a_token_in_the_url_is_never_accepted() {
    let app = spawn_app("token_in_url").await;
    let good = token(Mint::Access(ACCESS_ALL));
    let q = window_query(T0, T0 + 59, "minute", "");
    for name in ["token", "access_token", "jwt", "auth", "authorization"] {
        let resp = app
            .http
            .get(format!("{}{TERMINATION}?{q}&{name}={good}", app.address))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 401, "{name}");
    }
}

#[tokio::test]
async fn the_chart_page_and_its_vendored_library_are_served_from_the_binary() {
    let app = spawn_app("dashboard").await;
    let get = |path: &str| app.http.get(format!("{}{path}", app.address)).send();
    let page = get("/dashboard/").await.expect("page");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let etag = page.headers()["etag"].clone();
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"<script src="vendor/uplot/uPlot.iife.min.js"></script>"#));

    let lib = get("/dashboard/vendor/uplot/uPlot.iife.min.js")
        .await
        .expect("uPlot");
    assert_eq!(lib.status(), 200);
    assert!(
        lib.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .contains("javascript")
    );
    let vendored: &[u8] = include_bytes!("../../dashboard/src/vendor/uplot/uPlot.iife.min.js");
    assert_eq!(lib.bytes().await.expect("body").as_ref(), vendored);
    let license = get("/dashboard/vendor/uplot/LICENSE")
        .await
        .expect("license");
    assert!(license.text().await.expect("text").contains("Leon Sorokin"));

    let again = app
        .http
        .get(format!("{}/dashboard/", app.address))
        .header("If-None-Match", etag)
        .send()
        .await
        .expect("revalidate");
    assert_eq!(again.status(), 304);
    let redirect = get("/dashboard").await.expect("redirect");
    assert_eq!(redirect.status(), 308);
    let missing = get("/dashboard/nope.js").await.expect("missing");
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let escape = get("/dashboard/../Cargo.toml").await.expect("escape");
    assert_eq!(escape.status(), 404);
}
