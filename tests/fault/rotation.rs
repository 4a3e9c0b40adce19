//! Secret rotation on a running gateway process: the JWT secrets file and the ClickHouse
//! password file are rewritten and the process gets a real SIGHUP; nobody is logged out until
//! the old secret is dropped, and a bad file keeps the old secrets in force.

use crate::live_query;
use crate::processes::*;
use cdrstats::auth::token::{Mint, mint};
use std::path::Path;
use std::time::{Duration, Instant};

const STATS: &str = "/api/rest/customer/v1/termination-statistics-quality";
const OLD: &str = "rotation-old-secret-0123456789";
const NEW: &str = "rotation-new-secret-0123456789";

fn token(secret: &str) -> String {
    mint(
        secret,
        Mint::Access(1),
        Some(chrono::Utc::now().timestamp() + 3600),
    )
    .expect("mint")
}

async fn status(http: &reqwest::Client, base: &str, uuid: &str, secret: &str) -> u16 {
    http.get(format!("{base}{STATS}?{}", live_query(uuid)))
        .header("Authorization", format!("Bearer {}", token(secret)))
        .header("Cache-Control", "no-cache")
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

/// Polls until `secret`'s token gets `want` (a reload is asynchronous), failing after 3 s.
async fn eventually(http: &reqwest::Client, base: &str, uuid: &str, secret: &str, want: u16) {
    let started = Instant::now();
    loop {
        let got = status(http, base, uuid, secret).await;
        if got == want {
            println!(
                "{want} for the {} secret after {:?}",
                if secret == OLD { "old" } else { "new" },
                started.elapsed()
            );
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "still {got}, not {want}, 3 s after SIGHUP"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write secret file");
}

#[tokio::test]
async fn sighup_rotates_jwt_secrets_and_the_clickhouse_password_without_a_restart() {
    let mut engine = Engine::start("rotation", &[]).await;
    let uuid = engine.prepare().await;
    let dir = std::env::temp_dir().join(format!("cdrstats-rotation-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (jwt_file, pw_file) = (dir.join("jwt_secrets"), dir.join("clickhouse_password"));
    write(&jwt_file, &format!("{OLD}\n"));
    write(&pw_file, "\n");
    let gateway = Gateway::start(
        "rotation",
        &engine.url,
        &[
            ("JWT_SECRETS_FILE", &jwt_file.to_string_lossy()),
            ("CLICKHOUSE_PASSWORD_FILE", &pw_file.to_string_lossy()),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let base = &gateway.base;
    assert_eq!(status(&http, base, &uuid, OLD).await, 200);
    assert_eq!(status(&http, base, &uuid, NEW).await, 401);

    // 1. Add the new secret in front: both verify, nobody is logged out.
    write(&jwt_file, &format!("{NEW}\n{OLD}\n"));
    gateway.hangup();
    eventually(&http, base, &uuid, NEW, 200).await;
    assert_eq!(status(&http, base, &uuid, OLD).await, 200);

    // 2. A broken file (a short secret) is refused; the secrets in force stay.
    write(&jwt_file, "short\n");
    gateway.hangup();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(&http, base, &uuid, NEW).await, 200);
    assert_eq!(status(&http, base, &uuid, OLD).await, 200);

    // 3. After one token lifetime, drop the old secret: only its tokens stop working.
    write(&jwt_file, &format!("{NEW}\n"));
    gateway.hangup();
    eventually(&http, base, &uuid, OLD, 401).await;
    assert_eq!(status(&http, base, &uuid, NEW).await, 200);

    // 4. ClickHouse gets a password: the gateway cannot query until it re-reads its file.
    engine.kill();
    engine.set_env("ENGINE_PASSWORD", "rotated-ch-password");
    engine.restart().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let refused = status(&http, base, &uuid, NEW).await;
    assert!(refused >= 500, "old password: {refused}");
    write(&pw_file, "rotated-ch-password\n");
    gateway.hangup();
    eventually(&http, base, &uuid, NEW, 200).await;
    let _ = std::fs::remove_dir_all(&dir);

    // The log names refusals by reason and secrets by key id only: no secret, no token.
    drop(gateway);
    let log = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fault-tests/gateway-rotation.log"),
    )
    .expect("gateway log");
    assert!(log.contains("authentication failed"), "refusals are logged");
    assert!(log.contains("secrets reloaded"));
    for secret in [OLD, NEW, "rotated-ch-password", "eyJ"] {
        assert!(!log.contains(secret), "the log shows {secret}");
    }
}
