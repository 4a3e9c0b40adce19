//! Property test: random bytes in every parameter (and random parameter names, repeats and
//! oversized values) never produce a 5xx; every answer is a 200, 400, 401 or 414 with a JSON
//! body (401 empty).

use crate::helpers::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const ROUNDS: usize = 400;

fn random_value(rng: &mut SmallRng) -> String {
    let len = match rng.random_range(0..10) {
        0 => 0,
        1 => rng.random_range(200..5_000),
        _ => rng.random_range(1..40),
    };
    let bytes: Vec<u8> = (0..len)
        .map(|_| match rng.random_range(0..4) {
            0 => rng.random::<u8>(),
            1 => pick(rng, b"0123456789-:TZ.+ "),
            2 => pick(rng, b"'\";%_\\{}()[]?&=#\0\n"),
            _ => rng.random_range(b'a'..=b'z'),
        })
        .collect();
    // Percent-encode every byte so the raw bytes reach the parser as given.
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

fn pick(rng: &mut SmallRng, from: &[u8]) -> u8 {
    from[rng.random_range(0..from.len())]
}

#[tokio::test]
async fn random_bytes_in_every_parameter_never_give_a_5xx() {
    let app = spawn_app_with("robustness", &[("LIMITS_CUSTOMER", "rps=0,concurrency=0")]).await;
    app.insert_cdrs(&[cdr(T0 + 1, 5)]).await;
    let mut names: Vec<&str> = vec![
        "account-id",
        "from-time",
        "to-time",
        "sampling",
        "foo",
        "sampling[]",
        "week-start",
        "time-zone",
    ];
    names.extend(cdrstats::stats::filters::FILTERS.iter().map(|f| f.param));
    let valid = [
        ("account-id", ACCOUNT_UUID.to_owned()),
        ("from-time", iso(T0)),
        ("to-time", iso(T0 + 3600)),
        ("sampling", "minute".to_owned()),
    ];
    let mut rng = SmallRng::seed_from_u64(7);
    let mut by_status = std::collections::BTreeMap::new();
    for round in 0..ROUNDS {
        // Start from a valid request (so deep validation is reached), then spoil some of it.
        let mut pairs: Vec<(String, String)> = valid
            .iter()
            .filter(|_| rng.random_bool(0.8))
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    form_urlencoded::byte_serialize(v.as_bytes()).collect(),
                )
            })
            .collect();
        for _ in 0..rng.random_range(1..5) {
            let name = names[rng.random_range(0..names.len())].to_owned();
            pairs.push((name, random_value(&mut rng)));
        }
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        // Every endpoint of the family, quality twins twice as often.
        let endpoints = cdrstats::domain::Endpoint::ALL;
        let path = match rng.random_range(0..endpoints.len() + 2) {
            i if i < endpoints.len() => endpoints[i].path(),
            i if i == endpoints.len() => TERMINATION,
            _ => ORIGINATION,
        };
        let resp = app.get(path, &query).await;
        let status = resp.status().as_u16();
        let body = resp.text().await.expect("body");
        assert!(
            status < 500,
            "round {round}: {status} {body} for {path}?{query}"
        );
        if status == 400 || status == 414 {
            let json: serde_json::Value = serde_json::from_str(&body).expect("400s are JSON");
            assert!(json["error"].is_string(), "{body}");
        }
        *by_status.entry(status).or_insert(0) += 1;
    }
    println!("random parameters: {by_status:?}");
    assert!(
        by_status.contains_key(&200) && by_status.contains_key(&400),
        "{by_status:?}"
    );
}

#[tokio::test]
async fn oversized_and_malformed_requests_are_client_errors() {
    let app = spawn_app("oversized").await;
    let huge = format!(
        "{}&foo={}",
        window_query(T0, T0 + 59, "minute", ""),
        "x".repeat(9_000)
    );
    let resp = app.get(TERMINATION, &huge).await;
    assert_eq!(resp.status(), 414);
    assert!(resp.text().await.expect("body").contains("too long"));
    // A token far beyond any real one is simply refused.
    let resp = app
        .get_with_token(
            TERMINATION,
            &window_query(T0, T0 + 59, "minute", ""),
            &"a".repeat(6_000),
        )
        .await;
    assert_eq!(resp.status(), 401);
    // Invalid percent-encoding and non-UTF-8 bytes are values like any other.
    let resp = app
        .get(
            TERMINATION,
            "account-id=%ZZ&from-time=%FF%FE&sampling=%C3%28",
        )
        .await;
    assert_eq!(resp.status(), 400);
}
