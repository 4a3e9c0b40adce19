//! Authentication and authorization: every way a token or a caller can be refused, and the
//! ways it is accepted.

use crate::helpers::*;
use cdrstats::auth::token::{Mint, kid_of};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

fn claims(sub: serde_json::Value, aud: &str, exp_in: i64) -> serde_json::Value {
    serde_json::json!({ "aud": [aud], "sub": sub, "exp": chrono::Utc::now().timestamp() + exp_in })
}

fn sign(alg: Algorithm, secret: &str, claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

fn b64(data: &str) -> String {
    // Unpadded URL-safe base64 via the JWT library's own encoder is not public; do it by hand.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = data.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

async fn status(app: &TestApp, token: &str, query: &str) -> (u16, String) {
    let resp = app.get_with_token(TERMINATION, query, token).await;
    let s = resp.status().as_u16();
    (s, resp.text().await.expect("body"))
}

#[tokio::test]
async fn bad_tokens_are_401_with_an_empty_body() {
    let app = spawn_app("bad_tokens").await;
    let q = window_query(T0, T0 + 59, "minute", "");
    let valid = claims(ACCESS_ALL.into(), "customer-v1", 3600);
    let none_alg = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&valid.to_string())
    );
    let cases = [
        ("alg none", none_alg),
        ("HS384", sign(Algorithm::HS384, SECRET, &valid)),
        ("HS512", sign(Algorithm::HS512, SECRET, &valid)),
        (
            "wrong secret",
            sign(Algorithm::HS256, "some-other-secret-0123456789", &valid),
        ),
        (
            // Beyond the default 30 s leeway.
            "expired",
            sign(
                Algorithm::HS256,
                SECRET,
                &claims(ACCESS_ALL.into(), "customer-v1", -120),
            ),
        ),
        (
            "wrong audience",
            sign(
                Algorithm::HS256,
                SECRET,
                &claims(ACCESS_ALL.into(), "admin-v1", 3600),
            ),
        ),
        (
            "unknown sub",
            sign(
                Algorithm::HS256,
                SECRET,
                &claims(9999.into(), "customer-v1", 3600),
            ),
        ),
        (
            "dynamic without cfg",
            sign(
                Algorithm::HS256,
                SECRET,
                &claims("D".into(), "customer-v1", 3600),
            ),
        ),
        ("garbage", "not-a-token".to_owned()),
        (
            "truncated",
            sign(Algorithm::HS256, SECRET, &valid)[..40].to_owned(),
        ),
    ];
    for (name, token) in cases {
        assert_eq!(
            status(&app, &token, &q).await,
            (401, String::new()),
            "{name}"
        );
    }
    // No token at all.
    let resp = app
        .http
        .get(format!("{}{TERMINATION}?{q}", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"cdrstats\"",
        "a 401 names the scheme it expects (RFC 9110 §11.6.1)"
    );
    // And the valid token works (so the cases above fail for their own reason).
    let ok = sign(Algorithm::HS256, SECRET, &valid);
    assert_eq!(status(&app, &ok, &q).await.0, 200);
    assert_eq!(status(&app, &format!("Bearer {ok}"), &q).await.0, 200);
}

#[tokio::test]
async fn accounts_must_belong_to_the_caller_and_its_list() {
    let app = spawn_app("account_ownership").await;
    let q = |uuid: &str| {
        format!(
            "account-id={uuid}&from-time={}&to-time={}&sampling=minute",
            iso(T0),
            iso(T0 + 59)
        )
    };
    let invalid = (400, r#"{"error":"invalid value account-id"}"#.to_owned());
    let all = token(Mint::Access(ACCESS_ALL));
    assert_eq!(status(&app, &all, &q(ACCOUNT_UUID)).await.0, 200);
    assert_eq!(status(&app, &all, &q(SECOND_UUID)).await.0, 200);
    assert_eq!(
        status(&app, &all, &q(FOREIGN_UUID)).await,
        invalid,
        "other customer's"
    );
    let second_only = token(Mint::Access(ACCESS_SECOND_ONLY));
    assert_eq!(
        status(&app, &second_only, &q(ACCOUNT_UUID)).await,
        invalid,
        "outside account_ids"
    );
    assert_eq!(status(&app, &second_only, &q(SECOND_UUID)).await.0, 200);
    // Dynamic tokens carry the same rules in their cfg.
    let dyn_all = token(dynamic(CUSTOMER, vec![], vec![]));
    assert_eq!(status(&app, &dyn_all, &q(ACCOUNT_UUID)).await.0, 200);
    assert_eq!(status(&app, &dyn_all, &q(FOREIGN_UUID)).await, invalid);
    let dyn_listed = token(dynamic(CUSTOMER, vec![SECOND_ACCOUNT], vec![]));
    assert_eq!(status(&app, &dyn_listed, &q(ACCOUNT_UUID)).await, invalid);
    let other_customer = token(dynamic(CUSTOMER + 1, vec![], vec![]));
    assert_eq!(status(&app, &other_customer, &q(FOREIGN_UUID)).await.0, 200);
    assert_eq!(
        status(&app, &other_customer, &q(ACCOUNT_UUID)).await,
        invalid
    );
}

#[tokio::test]
async fn allowed_ips_are_enforced() {
    let app = spawn_app("allowed_ips").await;
    let q = window_query(T0, T0 + 59, "minute", "");
    // The tests call from 127.0.0.1.
    let ten_net = token(Mint::Access(ACCESS_FROM_TEN_NET));
    assert_eq!(status(&app, &ten_net, &q).await, (401, String::new()));
    let loopback = token(dynamic(CUSTOMER, vec![], vec!["127.0.0.0/8"]));
    assert_eq!(status(&app, &loopback, &q).await.0, 200);
    let elsewhere = token(dynamic(
        CUSTOMER,
        vec![],
        vec!["192.0.2.0/24", "2001:db8::/32"],
    ));
    assert_eq!(status(&app, &elsewhere, &q).await.0, 401);
    // X-Forwarded-For is ignored from an untrusted peer: it cannot unlock 10/8.
    let resp = app
        .http
        .get(format!("{}{TERMINATION}?{q}", app.address))
        .header("Authorization", &ten_net)
        .header("X-Forwarded-For", "10.1.2.3")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn forwarded_for_is_believed_from_trusted_proxies() {
    let app = spawn_app_with("trusted_proxy", &[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let q = window_query(T0, T0 + 59, "minute", "");
    let ten_net = token(Mint::Access(ACCESS_FROM_TEN_NET));
    let call = |xff: &'static str| {
        app.http
            .get(format!("{}{TERMINATION}?{q}", app.address))
            .header("Authorization", &ten_net)
            .header("X-Forwarded-For", xff)
            .send()
    };
    assert_eq!(call("10.1.2.3").await.expect("request").status(), 200);
    assert_eq!(
        call("10.1.2.3, 8.8.8.8").await.expect("request").status(),
        401
    );
}

#[tokio::test]
async fn the_session_cookie_works_and_is_refreshed() {
    let app = spawn_app("cookie").await;
    let q = window_query(T0, T0 + 59, "minute", "");
    let t = token(Mint::Access(ACCESS_ALL));
    let resp = app
        .http
        .get(format!("{}{TERMINATION}?{q}", app.address))
        .header("Cookie", format!("_yeti_customer_v1_session={t}"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cookie.starts_with(&format!("_yeti_customer_v1_session={t}")),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Max-Age="),
        "{cookie}"
    );
    // A header token is preferred and no cookie is set.
    let resp = app.get(TERMINATION, &q).await;
    assert!(resp.headers().get("set-cookie").is_none());
    // A forged cookie is a 401.
    let resp = app
        .http
        .get(format!("{}{TERMINATION}?{q}", app.address))
        .header("Cookie", "_yeti_customer_v1_session=forged")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A token for api_access 1 with `extra` claims (`exp` in an hour unless `extra` says
/// otherwise, or removes it with `null`).
fn token_with(secret: &str, header: Header, extra: serde_json::Value) -> String {
    let mut c = claims(ACCESS_ALL.into(), "customer-v1", 3600);
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            if v.is_null() {
                c.remove(k);
            } else {
                c.insert(k.clone(), v.clone());
            }
        }
    }
    jsonwebtoken::encode(&header, &c, &EncodingKey::from_secret(secret.as_bytes())).expect("encode")
}

fn hs256() -> Header {
    Header::new(Algorithm::HS256)
}

/// `auth_failures_total{reason="…"}` as read from /metrics (0 when absent).
async fn auth_failures(app: &TestApp, reason: &str) -> u64 {
    let text = app
        .http
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let prefix = format!("cdrstats_auth_failures_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

#[tokio::test]
async fn time_claims_are_honoured_with_a_small_leeway_and_counted_by_reason() {
    let app = spawn_app("time_claims").await;
    let q = window_query(T0, T0 + 59, "minute", "");
    let cases = [
        (
            "nbf an hour ahead",
            serde_json::json!({ "nbf": now() + 3600 }),
            Some("not_yet_valid"),
        ),
        (
            "iat an hour ahead",
            serde_json::json!({ "iat": now() + 3600 }),
            Some("issued_in_future"),
        ),
        (
            "no exp",
            serde_json::json!({ "exp": null }),
            Some("missing_exp"),
        ),
        (
            "expired 2 min ago",
            serde_json::json!({ "exp": now() - 120 }),
            Some("expired"),
        ),
        (
            "nbf 10 s ahead (leeway)",
            serde_json::json!({ "nbf": now() + 10 }),
            None,
        ),
        (
            "expired 10 s ago (leeway)",
            serde_json::json!({ "exp": now() - 10 }),
            None,
        ),
        (
            "nbf and iat in the past",
            serde_json::json!({ "nbf": now() - 60, "iat": now() - 60 }),
            None,
        ),
    ];
    for (name, extra, refused) in cases {
        let t = token_with(SECRET, hs256(), extra);
        match refused {
            Some(reason) => {
                let before = auth_failures(&app, reason).await;
                assert_eq!(status(&app, &t, &q).await, (401, String::new()), "{name}");
                assert_eq!(
                    auth_failures(&app, reason).await,
                    before + 1,
                    "{name}: counted as {reason}"
                );
            }
            None => assert_eq!(status(&app, &t, &q).await.0, 200, "{name}"),
        }
    }
}

#[tokio::test]
async fn exp_may_be_optional_and_lifetime_capped_by_configuration() {
    let relaxed = spawn_app_with(
        "exp_optional",
        &[
            ("JWT_REQUIRE_EXP", "false"),
            ("JWT_MAX_LIFETIME_SECS", "3600"),
            ("JWT_LEEWAY_SECS", "0"),
        ],
    )
    .await;
    let q = window_query(T0, T0 + 59, "minute", "");
    let no_exp = |iat: i64| {
        token_with(
            SECRET,
            hs256(),
            serde_json::json!({ "exp": null, "iat": iat }),
        )
    };
    assert_eq!(status(&relaxed, &no_exp(now() - 60), &q).await.0, 200);
    assert_eq!(
        status(&relaxed, &no_exp(now() - 3700), &q).await,
        (401, String::new()),
        "older than JWT_MAX_LIFETIME_SECS"
    );
    assert_eq!(auth_failures(&relaxed, "too_old").await, 1);
    let no_iat = token_with(SECRET, hs256(), serde_json::json!({ "exp": null }));
    assert_eq!(
        status(&relaxed, &no_iat, &q).await.0,
        401,
        "age unmeasurable"
    );
    assert_eq!(auth_failures(&relaxed, "missing_iat").await, 1);
}

#[tokio::test]
async fn several_secrets_verify_and_kid_names_one() {
    const NEW: &str = "the-new-secret-after-rotation-0123";
    let secrets = format!("{NEW},{SECRET}");
    let app = spawn_app_with("rotation", &[("JWT_SECRETS", &secrets)]).await;
    let q = window_query(T0, T0 + 59, "minute", "");
    // Tokens of the old secret, with or without its kid, keep working: nobody is logged out.
    assert_eq!(
        status(&app, &token(Mint::Access(ACCESS_ALL)), &q).await.0,
        200
    );
    let with_kid = |secret: &str, kid: &str| {
        let mut h = hs256();
        h.kid = Some(kid.to_owned());
        token_with(secret, h, serde_json::json!({}))
    };
    assert_eq!(
        status(&app, &with_kid(SECRET, &kid_of(SECRET)), &q).await.0,
        200
    );
    assert_eq!(status(&app, &with_kid(NEW, &kid_of(NEW)), &q).await.0, 200);
    assert_eq!(
        status(&app, &token_with(NEW, hs256(), serde_json::json!({})), &q)
            .await
            .0,
        200
    );
    // A kid that names no secret, or the wrong one, is refused.
    assert_eq!(
        status(&app, &with_kid(NEW, "../../etc/passwd"), &q).await,
        (401, String::new())
    );
    assert_eq!(auth_failures(&app, "unknown_kid").await, 1);
    assert_eq!(
        status(&app, &with_kid(SECRET, &kid_of(NEW)), &q).await.0,
        401
    );
    assert_eq!(auth_failures(&app, "signature").await, 1);
    // A header pointing at a key elsewhere is refused, not silently ignored.
    let mut jku = hs256();
    jku.jku = Some("https://attacker.example/jwks.json".into());
    assert_eq!(
        status(&app, &token_with(SECRET, jku, serde_json::json!({})), &q)
            .await
            .0,
        401
    );
    assert_eq!(auth_failures(&app, "key_header").await, 1);
    // Missing token and disallowed addresses are counted too.
    let resp = app
        .http
        .get(format!("{}{TERMINATION}?{q}", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    assert_eq!(auth_failures(&app, "missing_token").await, 1);
}

/// A secrets file takes precedence over `JWT_SECRET` (which the harness always sets): only
/// the file's secrets verify. (A file on its own, with no variable set, is a unit test in
/// `secrets.rs`.)
#[tokio::test]
async fn a_secrets_file_is_the_source_when_given() {
    let dir = std::env::temp_dir().join(format!("cdrstats-auth-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("jwt_secrets");
    std::fs::write(
        &file,
        "# newest first\nfile-only-secret-0123456789\nfile-older-secret-0123456789\n",
    )
    .expect("write");
    let path = file.to_string_lossy().into_owned();
    let app = spawn_app_with("secret_file", &[("JWT_SECRETS_FILE", &path)]).await;
    let q = window_query(T0, T0 + 59, "minute", "");
    for secret in [
        "file-only-secret-0123456789",
        "file-older-secret-0123456789",
    ] {
        let t = token_with(secret, hs256(), serde_json::json!({}));
        assert_eq!(status(&app, &t, &q).await.0, 200, "{secret}");
    }
    let env_secret = token(Mint::Access(ACCESS_ALL));
    assert_eq!(status(&app, &env_secret, &q).await.0, 401);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_output_never_shows_a_secret() {
    const SECRET_VALUE: &str = "never-print-this-secret-0123456789";
    for args in [&["--help"][..], &["token", "--help"], &["serve", "--help"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cdrstats"))
            .args(args)
            .env("JWT_SECRET", SECRET_VALUE)
            .env("JWT_SECRETS", SECRET_VALUE)
            .env("CLICKHOUSE_PASSWORD", SECRET_VALUE)
            .output()
            .expect("run cdrstats");
        assert!(out.status.success(), "{args:?}");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(SECRET_VALUE), "{args:?}: {text}");
        assert!(!text.is_empty());
    }
}
