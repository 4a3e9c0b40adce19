//! Every error the gateway answers is our JSON `{"error": …}` with the right status — from the
//! handlers, from actix's routing (404, 405), from the request limits (413, 414, 431) and from
//! the static files under `/dashboard/` — one case at a time. 401 stays empty by contract.

use crate::helpers::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Status, headers (lower-case names) and body of a response.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    async fn of(resp: reqwest::Response) -> Self {
        Self {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.expect("body"),
        }
    }

    /// Asserts our shape: JSON content type, `{"error": "<message>"}`, plus the headers every
    /// answer carries; returns the message.
    fn json_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        let ct = self.headers["content-type"].to_str().expect("ascii");
        assert!(ct.starts_with("application/json"), "{ct}: {}", self.body);
        let json: serde_json::Value = serde_json::from_str(&self.body).expect("JSON body");
        assert_eq!(json.as_object().map(|o| o.len()), Some(1), "{json}");
        assert!(self.headers.contains_key("x-request-id"));
        assert_eq!(self.headers["x-content-type-options"], "nosniff");
        json["error"]
            .as_str()
            .expect("error is a string")
            .to_owned()
    }
}

async fn request(app: &TestApp, method: reqwest::Method, path_and_query: &str) -> Answer {
    let resp = app
        .http
        .request(method, format!("{}{path_and_query}", app.address))
        .header(
            "Authorization",
            format!(
                "Bearer {}",
                token(cdrstats::auth::token::Mint::Access(ACCESS_ALL))
            ),
        )
        .send()
        .await
        .expect("request");
    Answer::of(resp).await
}

/// Sends `head` (request line and headers, no body) over a raw connection and returns the
/// status and body, for requests an HTTP client would not send.
async fn raw(app: &TestApp, head: &str) -> (u16, String) {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn handler_errors_are_json_and_401_is_empty() {
    let app = spawn_app("shape_handlers").await;
    let a = request(
        &app,
        reqwest::Method::GET,
        &format!("{TERMINATION}?sampling=minute"),
    )
    .await;
    assert_eq!(
        a.json_error(400),
        "missing required param(s) account-id, from-time"
    );
    let resp = app
        .http
        .get(format!("{}{TERMINATION}", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.text().await.expect("body"), "");
}

#[tokio::test]
async fn unknown_paths_are_json_404() {
    let app = spawn_app("shape_404").await;
    for path in [
        "/nope",
        "/api/rest/customer/v1/",
        "/api/rest/customer/v1/cdrs",
    ] {
        let a = request(&app, reqwest::Method::GET, path).await;
        assert_eq!(a.json_error(404), "not found", "{path}");
    }
}

#[tokio::test]
async fn wrong_methods_are_json_405_and_keep_allow() {
    let app = spawn_app("shape_405").await;
    for (method, path) in [
        (reqwest::Method::POST, TERMINATION),
        (reqwest::Method::DELETE, ORIGINATION),
        (reqwest::Method::PUT, "/healthz"),
        (reqwest::Method::PATCH, "/metrics"),
    ] {
        let a = request(&app, method.clone(), path).await;
        assert_eq!(a.json_error(405), "method not allowed", "{method} {path}");
        let allow = a.headers["allow"].to_str().expect("ascii");
        assert!(allow.contains("GET"), "{method} {path}: allow {allow}");
    }
}

/// What the chart page's file service answers for bad requests, as (method, path, status,
/// message). The page is embedded in the binary: hidden files, encoded slashes and `*` are simply
/// not assets. The point is that every one of them is our JSON and none leaks a file.
const STATIC_CASES: &[(&str, &str, u16, &str)] = &[
    ("GET", "/dashboard/.env", 404, "not found"),
    ("GET", "/dashboard/a%2F..%2F.env", 404, "not found"),
    ("GET", "/dashboard/../Cargo.toml", 404, "not found"),
    ("GET", "/dashboard/*.js", 404, "not found"),
    ("GET", "/dashboard/missing.js", 404, "not found"),
    ("GET", "/dashboard/%FF.js", 404, "not found"),
    ("POST", "/dashboard/index.html", 405, "method not allowed"),
];

#[tokio::test]
async fn static_file_errors_are_json() {
    let app = spawn_app("shape_static").await;
    let ok = request(&app, reqwest::Method::GET, "/dashboard/index.html").await;
    assert_eq!(ok.status, 200, "the page itself is served");
    for &(method, path, status, message) in STATIC_CASES {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let a = request(&app, method.clone(), path).await;
        assert_eq!(a.status, status, "{method} {path}: {}", a.body);
        assert_eq!(a.json_error(status), message, "{method} {path}");
        assert!(!a.body.contains("[package]"));
    }
}

#[tokio::test]
async fn an_over_long_query_string_is_json_414() {
    let app = spawn_app("shape_414").await;
    // A probe of 10 000 parameters (`a=1&` each, 40 000 bytes of query string).
    let many = "a=1&".repeat(10_000);
    let (status, body) = raw(
        &app,
        &format!("GET {TERMINATION}?{many} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 414, "{body}");
    assert_eq!(
        body,
        r#"{"error":"query string too long (at most 8192 bytes)"}"#
    );
    // Just over the limit, through an ordinary client, with all the usual headers.
    let over = format!("{TERMINATION}?{}", "b=2&".repeat(2_100));
    let a = request(&app, reqwest::Method::GET, &over).await;
    assert_eq!(
        a.json_error(414),
        "query string too long (at most 8192 bytes)"
    );
    let long_path = format!("/{}", "a".repeat(2_000));
    let a = request(&app, reqwest::Method::GET, &long_path).await;
    assert_eq!(a.json_error(414), "path too long (at most 1024 bytes)");
}

/// The boundary, stated rather than hidden: a request target over 64 KiB is not a valid URI
/// for the `http` crate, so actix-http's parser answers 400 with an empty body before any
/// application code runs (as does a request head over 128 KiB, with 431, below).
#[tokio::test]
async fn uris_beyond_the_http_crate_limit_get_actix_http_own_empty_400() {
    let app = spawn_app("shape_414_parser").await;
    let huge = "p=1&".repeat(17_000);
    let (status, body) = raw(
        &app,
        &format!("GET /healthz?{huge} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!((status, body.as_str()), (400, ""));
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_json_431() {
    let app = spawn_app("shape_431").await;
    let q = window_query(T0, T0 + 59, "minute", "");
    let mut many = app.http.get(format!("{}{TERMINATION}?{q}", app.address));
    for i in 0..70 {
        many = many.header(format!("x-filler-{i}"), "1");
    }
    let a = Answer::of(many.send().await.expect("request")).await;
    let message = a.json_error(431);
    assert!(
        message.starts_with("request headers too large"),
        "{message}"
    );
    let big = app
        .http
        .get(format!("{}{TERMINATION}?{q}", app.address))
        .header("x-filler", "x".repeat(20_000))
        .send()
        .await
        .expect("request");
    Answer::of(big).await.json_error(431);
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_json_413() {
    let app = spawn_app("shape_413").await;
    let (status, body) = raw(
        &app,
        &format!(
            "POST {TERMINATION} HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\
             Content-Type: application/json\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        body,
        r#"{"error":"request body too large (at most 65536 bytes)"}"#
    );
}

/// The other boundary: a request head of 128 KiB never reaches the application — actix-http's
/// HTTP/1 parser answers 431 itself, with an empty body. (Exactly 128 KiB are sent, so the
/// server has read everything when it closes and the answer is not lost to a TCP reset.)
#[tokio::test]
async fn heads_beyond_the_actix_http_parser_limit_get_its_own_empty_431() {
    let app = spawn_app("shape_431_parser").await;
    let mut head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: {}",
        "x".repeat(128 * 1024)
    );
    head.truncate(128 * 1024);
    let (status, body) = raw(&app, &head).await;
    assert_eq!((status, body.as_str()), (431, ""));
}
