//! Authentication and authorization: every way a token or a caller can be refused, and the
//! ways it is accepted.

use crate::helpers::*;
use cdrstats::auth::token::Mint;
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
            "expired",
            sign(
                Algorithm::HS256,
                SECRET,
                &claims(ACCESS_ALL.into(), "customer-v1", -10),
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
