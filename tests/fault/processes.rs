//! Real processes for fault tests: local engines (Python over chdb) and the gateway binary.

use clickhouse::Row;
use serde::Serialize;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SECRET: &str = "fault-test-secret-0123456789";
const ACCOUNT_UUID: &str = "7c61877c-39c4-11f1-b6d8-82ad38f4dd55";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn wait_until(what: &str, limit: Duration, mut ok: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !ok().await {
        assert!(
            started.elapsed() < limit,
            "{what} not ready after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A local engine process on its own port and data directory.
pub struct Engine {
    pub url: String,
    port: u16,
    dir: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Engine {
    pub async fn start(name: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let dir = root().join("target/fault-tests").join(format!(
            "{name}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        std::fs::create_dir_all(&dir).expect("data dir");
        let mut engine = Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            child: None,
        };
        engine.spawn().await;
        engine
    }

    async fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.join("engine.log")).expect("log");
        let child = Command::new(root().join(".venv/bin/python"))
            .arg(root().join("engine/chdb_http.py"))
            .args([
                "--listen",
                &format!("127.0.0.1:{}", self.port),
                "--pool",
                "4",
            ])
            .arg("--data-dir")
            .arg(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the engine (make venv)");
        self.child = Some(child);
        let ping = format!("{}/ping", self.url);
        let http = reqwest::Client::new();
        wait_until("engine", Duration::from_secs(60), async || {
            http.get(&ping)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
    }

    /// SIGKILL: the engine disappears mid-whatever.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sets an environment variable for the next (re)start.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// Starts again on the same port and data.
    pub async fn restart(&mut self) {
        self.spawn().await;
    }

    pub fn client(&self) -> clickhouse::Client {
        clickhouse::Client::default()
            .with_url(&self.url)
            .with_database("cdrstats")
    }

    /// Migrates, adds the account and api_access 1, and a few CDRs now and in a settled hour.
    /// Returns the account uuid.
    pub async fn prepare(&self) -> String {
        let settings = cdrstats::config::Settings::from_vars(vec![
            ("CLICKHOUSE_URL".to_owned(), self.url.clone()),
            ("JWT_SECRET".to_owned(), SECRET.to_owned()),
        ])
        .expect("settings");
        cdrstats::cli::migrate::run(&settings)
            .await
            .expect("migrate");
        let c = self.client();
        c.query(&format!(
            "INSERT INTO accounts VALUES (1, '{ACCOUNT_UUID}', 1, 'a')"
        ))
        .execute()
        .await
        .expect("account");
        c.query("INSERT INTO api_access VALUES (1, 1, 'l', [], [])")
            .execute()
            .await
            .expect("api_access");
        let now = chrono::Utc::now().timestamp();
        let mut insert = c.insert::<Cdr>("cdrs").await.expect("insert");
        for i in 0..200 {
            for t in [now - 300 + i, 1_734_699_600 + i * 10] {
                insert
                    .write(&Cdr {
                        time_start: u32::try_from(t).expect("time"),
                        customer_acc_id: 1,
                        vendor_acc_id: 1,
                        is_last_cdr: true,
                        duration: (i % 7) as i32,
                        src_country_id: 1,
                        dst_country_id: 2,
                        src_prefix_routing: "1".into(),
                        dst_prefix_routing: "2".into(),
                        auth_orig_ip: "192.0.2.1".into(),
                        customer_price: 0.1,
                        vendor_price: 0.05,
                    })
                    .await
                    .expect("write");
            }
        }
        insert.end().await.expect("end");
        ACCOUNT_UUID.to_owned()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Row, Serialize)]
struct Cdr {
    time_start: u32,
    customer_acc_id: u32,
    vendor_acc_id: u32,
    is_last_cdr: bool,
    duration: i32,
    src_country_id: u32,
    dst_country_id: u32,
    src_prefix_routing: String,
    dst_prefix_routing: String,
    auth_orig_ip: String,
    customer_price: f64,
    vendor_price: f64,
}

/// The gateway binary as a process.
pub struct Gateway {
    pub base: String,
    child: Option<Child>,
}

impl Gateway {
    pub async fn start(name: &str, clickhouse_url: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log =
            std::fs::File::create(root().join(format!("target/fault-tests/gateway-{name}.log")))
                .expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_cdrstats"))
            .arg("serve")
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("CLICKHOUSE_URL", clickhouse_url)
            .env("JWT_SECRET", SECRET)
            .env("SETTLE_LAG_SECS", "3600")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the gateway");
        let gateway = Self {
            base: format!("http://127.0.0.1:{port}"),
            child: Some(child),
        };
        let health = format!("{}/healthz", gateway.base);
        let http = reqwest::Client::new();
        wait_until("gateway", Duration::from_secs(30), async || {
            http.get(&health)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
        gateway
    }

    /// Sends SIGHUP (re-read the secret files).
    pub fn hangup(&self) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .args(["-HUP", &child.id().to_string()])
                .status()
                .expect("kill -HUP");
            assert!(status.success());
        }
    }

    /// SIGTERM, then the exit code (None if it had to be killed after `limit`).
    pub fn terminate_and_wait(mut self, limit: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
