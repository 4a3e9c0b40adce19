//! Test harness: an engine URL, a fresh migrated database per test, the gateway on port 0, and
//! small builders for accounts, credentials and CDRs.

use cdrstats::auth::token::{DynamicCfg, Mint, mint};
use cdrstats::config::Settings;
use cdrstats::startup::Application;
use clickhouse::Row;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::net::TcpListener;

pub const SECRET: &str = "integration-test-secret-0123456789";
/// The customer most tests act as, its accounts, and another customer's account.
pub const CUSTOMER: u32 = 10;
pub const ACCOUNT: u32 = 101;
pub const ACCOUNT_UUID: &str = "7c61877c-39c4-11f1-b6d8-82ad38f4dd55";
pub const SECOND_ACCOUNT: u32 = 102;
pub const SECOND_UUID: &str = "7c61877c-39c4-11f1-b6d8-82ad38f4dd56";
pub const FOREIGN_ACCOUNT: u32 = 201;
pub const FOREIGN_UUID: &str = "0b9f1c2e-0000-4000-8000-000000000201";
/// api_access rows: 1 = every account of CUSTOMER; 2 = only SECOND_ACCOUNT; 3 = only from 10/8.
pub const ACCESS_ALL: u32 = 1;
pub const ACCESS_SECOND_ONLY: u32 = 2;
pub const ACCESS_FROM_TEN_NET: u32 = 3;

/// 2024-12-20T13:06:00Z, a minute boundary (also 5- and 15-minute, not hour).
pub const T0: i64 = 1_734_699_960;

pub fn engine_url() -> String {
    std::env::var("CDRSTATS_TEST_CLICKHOUSE_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:18123".into())
}

/// A running gateway over its own database.
pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub ch: clickhouse::Client,
}

/// Database names derived from the test name, unique per run.
fn database_name(test: &str) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "t_{}_{}",
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        &suffix[..8]
    )
}

/// Starts a gateway over a fresh, migrated database with the standard fixtures.
pub async fn spawn_app(test: &str) -> TestApp {
    spawn_app_with(test, &[]).await
}

/// Like [`spawn_app`] with extra environment settings (`("TRUSTED_PROXIES", "127.0.0.1")`).
pub async fn spawn_app_with(test: &str, extra: &[(&str, &str)]) -> TestApp {
    spawn_app_at(test, extra, None).await
}

/// Like [`spawn_app_with`] over a database migrated only up to the schema file before
/// `first_pending` (a deployment that has not applied it yet); `migrate::run` applies the rest.
pub async fn spawn_app_before(test: &str, extra: &[(&str, &str)], first_pending: &str) -> TestApp {
    spawn_app_at(test, extra, Some(first_pending)).await
}

/// Applies the schema files before `first_pending` and records them as `migrate` does.
async fn migrate_before(settings: &Settings, first_pending: &str) {
    use cdrstats::cli::migrate::{MIGRATIONS, checksum};
    use cdrstats::ddl::statements;
    let server = clickhouse::Client::default().with_url(engine_url());
    let database = &settings.clickhouse_database;
    server
        .query(&format!("CREATE DATABASE IF NOT EXISTS {database}"))
        .execute()
        .await
        .expect("create database");
    let ch = server.with_database(database);
    ch.query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name String, checksum String, \
         applied_at DateTime('UTC') DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY name",
    )
    .execute()
    .await
    .expect("schema_migrations");
    for (name, text) in MIGRATIONS
        .iter()
        .take_while(|(name, _)| *name < first_pending)
    {
        for statement in statements(text) {
            ch.query(&statement).execute().await.expect(name);
        }
        ch.query("INSERT INTO schema_migrations (name, checksum) SELECT {n:String}, {c:String}")
            .param("n", *name)
            .param("c", checksum(text))
            .execute()
            .await
            .expect("record");
    }
}

async fn spawn_app_at(test: &str, extra: &[(&str, &str)], before: Option<&str>) -> TestApp {
    // `TEST_LOG=1 cargo test ...` shows the gateway's logs.
    static LOGS: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("TEST_LOG").is_some() {
        LOGS.call_once(|| std::mem::forget(cdrstats::telemetry::init()));
    }
    let mut vars = vec![
        ("CLICKHOUSE_URL".to_owned(), engine_url()),
        ("CLICKHOUSE_DATABASE".to_owned(), database_name(test)),
        ("JWT_SECRET".to_owned(), SECRET.to_owned()),
        ("LISTEN_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("AUTH_CACHE_TTL_SECS".to_owned(), "1".to_owned()),
    ];
    // A test's own value replaces the default of the same name.
    vars.retain(|(k, _)| !extra.iter().any(|(name, _)| name == k));
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings = Settings::from_vars(vars).expect("test settings");
    match before {
        None => {
            cdrstats::cli::migrate::run(&settings)
                .await
                .expect("migrate the test database (is the engine running? `make test-engine`)");
        }
        Some(first_pending) => migrate_before(&settings, first_pending).await,
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let app = Application::with_listener(settings.clone(), listener).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let ch = cdrstats::db::client(
        &settings,
        &engine_url(),
        Some(&settings.clickhouse_database),
    );
    let test_app = TestApp {
        address,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        ch,
    };
    test_app.insert_fixtures().await;
    test_app
}

#[derive(Row, Serialize)]
struct AccountRow {
    id: u32,
    #[serde(with = "clickhouse::serde::uuid")]
    uuid: uuid::Uuid,
    contractor_id: u32,
    name: String,
}

#[derive(Row, Serialize)]
struct AccessRow {
    id: u32,
    customer_id: u32,
    login: String,
    account_ids: Vec<u32>,
    allowed_ips: Vec<String>,
}

/// One CDR; build with [`cdr`] and adjust fields.
#[derive(Row, Serialize, Clone, Debug)]
pub struct Cdr {
    pub time_start: u32,
    pub customer_acc_id: u32,
    pub vendor_acc_id: u32,
    pub is_last_cdr: bool,
    pub duration: i32,
    pub src_country_id: u32,
    pub dst_country_id: u32,
    pub src_prefix_routing: String,
    pub dst_prefix_routing: String,
    pub auth_orig_ip: String,
    pub customer_price: f64,
    pub vendor_price: f64,
}

/// A new database named `<prefix>_<random>` on the test engine, migrated: the settings that
/// name it (for the admin commands) and a client of it.
pub async fn migrated_database(prefix: &str) -> (cdrstats::config::Settings, clickhouse::Client) {
    let database = format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let settings = cdrstats::config::Settings::from_vars(vec![
        ("CLICKHOUSE_URL".to_owned(), engine_url()),
        ("CLICKHOUSE_DATABASE".to_owned(), database.clone()),
    ])
    .expect("settings");
    cdrstats::cli::migrate::run(&settings)
        .await
        .expect("migrate");
    let client = cdrstats::db::client(&settings, &engine_url(), Some(&database));
    (settings, client)
}

/// The rollup `since` a planner is given: the account-side's listing as the gateway looks it
/// up, or "not rolled up" to force raw CDRs.
pub async fn planned_since(
    app: &TestApp,
    endpoint: cdrstats::domain::Endpoint,
    account: u32,
    allow_rollup: bool,
) -> i64 {
    use cdrstats::stats::plan;
    if !allow_rollup {
        return plan::NOT_ROLLED_UP;
    }
    cdrstats::stats::query::look_up_since(&app.ch, plan::side(endpoint), account)
        .await
        .expect("listing")
}

/// A CDR of ACCOUNT on both sides at `t` lasting `duration` seconds.
pub fn cdr(t: i64, duration: i32) -> Cdr {
    Cdr {
        time_start: u32::try_from(t).expect("time fits DateTime"),
        customer_acc_id: ACCOUNT,
        vendor_acc_id: ACCOUNT,
        is_last_cdr: true,
        duration,
        src_country_id: 1,
        dst_country_id: 44,
        src_prefix_routing: "1".into(),
        dst_prefix_routing: "4420".into(),
        auth_orig_ip: "192.0.2.1".into(),
        customer_price: 0.012,
        vendor_price: 0.01,
    }
}

impl TestApp {
    async fn insert_fixtures(&self) {
        let mut accounts = self
            .ch
            .insert::<AccountRow>("accounts")
            .await
            .expect("insert");
        for (id, uuid, contractor_id) in [
            (ACCOUNT, ACCOUNT_UUID, CUSTOMER),
            (SECOND_ACCOUNT, SECOND_UUID, CUSTOMER),
            (FOREIGN_ACCOUNT, FOREIGN_UUID, CUSTOMER + 1),
        ] {
            accounts
                .write(&AccountRow {
                    id,
                    uuid: uuid.parse().expect("uuid"),
                    contractor_id,
                    name: format!("account {id}"),
                })
                .await
                .expect("write");
        }
        accounts.end().await.expect("end");
        let mut access = self
            .ch
            .insert::<AccessRow>("api_access")
            .await
            .expect("insert");
        for (id, account_ids, allowed_ips) in [
            (ACCESS_ALL, vec![], vec![]),
            (ACCESS_SECOND_ONLY, vec![SECOND_ACCOUNT], vec![]),
            (ACCESS_FROM_TEN_NET, vec![], vec!["10.0.0.0/8".to_owned()]),
        ] {
            access
                .write(&AccessRow {
                    id,
                    customer_id: CUSTOMER,
                    login: format!("login{id}"),
                    account_ids,
                    allowed_ips,
                })
                .await
                .expect("write");
        }
        access.end().await.expect("end");
        // The test accounts are rolled up from the start (schema/005_rollup_accounts.sql), so
        // the rollup paths answer; data_layer.rs tests unlisted accounts and `since`.
        self.ch
            .query(
                "INSERT INTO rollup_accounts (side, account_id, since) \
                 SELECT side, account_id, toDateTime(0, 'UTC') \
                 FROM (SELECT arrayJoin([0, 1]) AS side) AS s \
                 CROSS JOIN (SELECT arrayJoin([?, ?]) AS account_id) AS a",
            )
            .bind(ACCOUNT)
            .bind(SECOND_ACCOUNT)
            .execute()
            .await
            .expect("list the test accounts for rollups");
    }

    /// Inserts as the CDR pipeline does (`db::PIPELINE_INSERT_SETTINGS`).
    pub async fn insert_cdrs(&self, rows: &[Cdr]) {
        let mut insert = cdrstats::db::pipeline_client(&self.ch)
            .insert::<Cdr>("cdrs")
            .await
            .expect("insert");
        for row in rows {
            insert.write(row).await.expect("write");
        }
        insert.end().await.expect("end");
    }

    /// GET `path?query` with a token for api_access 1.
    /// Empties the listing and every rollup: every account-side starts unlisted.
    pub async fn unlist_everything(&self) {
        let tables = cdrstats::cli::derived::rollups().map(|d| d.table);
        for table in std::iter::once("rollup_accounts").chain(tables) {
            let sql = format!("TRUNCATE TABLE {table}");
            self.ch.query(&sql).execute().await.expect(&sql);
        }
    }

    /// Lists `account` on both sides from `since` only, and doubles its rollup rows before
    /// `since` rounded up to a minute: a planner that read them would answer wrong sums.
    pub async fn list_from_with_wrong_rollups_before(&self, account: u32, since: i64) {
        let listed_from = (since + 59) / 60 * 60;
        let mut statements = vec![format!(
            "INSERT INTO rollup_accounts (side, account_id, since) SELECT arrayJoin([0, 1]), {account}, toDateTime({since}, 'UTC')"
        )];
        for rollup in cdrstats::cli::derived::rollups() {
            let (table, time) = (rollup.table, rollup.time_column);
            statements.push(format!(
                "INSERT INTO {table} SELECT * FROM {table} WHERE account_id = {account} \
                 AND {time} < toDateTime({listed_from}, 'UTC')"
            ));
        }
        for sql in &statements {
            self.ch.query(sql).execute().await.expect(sql);
        }
    }

    pub async fn get(&self, path: &str, query: &str) -> reqwest::Response {
        self.get_with_token(path, query, &token(Mint::Access(ACCESS_ALL)))
            .await
    }

    pub async fn get_with_token(&self, path: &str, query: &str, token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}?{query}", self.address))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .expect("request")
    }
}

/// A valid token for `subject`, expiring in an hour.
pub fn token(subject: Mint) -> String {
    mint(SECRET, subject, Some(chrono::Utc::now().timestamp() + 3600)).expect("mint")
}

pub fn dynamic(customer_id: u32, account_ids: Vec<u32>, allowed_ips: Vec<&str>) -> Mint {
    Mint::Dynamic(DynamicCfg {
        customer_id,
        account_ids,
        allowed_ips: allowed_ips.into_iter().map(str::to_owned).collect(),
    })
}

pub const TERMINATION: &str = "/api/rest/customer/v1/termination-statistics-quality";
pub const ORIGINATION: &str = "/api/rest/customer/v1/origination-statistics-quality";

/// RFC 3339 text of unix seconds.
pub fn iso(t: i64) -> String {
    cdrstats::stats::time::rfc3339(t)
}

/// Query string for ACCOUNT from `from` to `to` (inclusive) at `sampling`, plus `extra`.
pub fn window_query(from: i64, to: i64, sampling: &str, extra: &str) -> String {
    format!(
        "account-id={ACCOUNT_UUID}&from-time={}&to-time={}&sampling={sampling}{extra}",
        iso(from),
        iso(to)
    )
}

/// The expected metric text for `num / den`, computed independently of the gateway's code:
/// a rust_decimal division rounded half away from zero.
pub fn expected_ratio(num: i128, den: i128) -> String {
    let d = (Decimal::from_i128_with_scale(num, 0) / Decimal::from_i128_with_scale(den, 0))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        .normalize();
    let s = d.to_string();
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// The expected document for `rows` bucketed by `step` over `[first, last]`, from the rows
/// themselves (the test's own arithmetic).
pub fn expected_document(rows: &[&Cdr], first: i64, last: i64, step: i64) -> serde_json::Value {
    let mut t = vec![];
    let (mut calls, mut acd, mut asr, mut cps) = (vec![], vec![], vec![], vec![]);
    let (mut all_calls, mut all_answered, mut all_dur) = (0i128, 0i128, 0i128);
    let mut b = first;
    while b <= last {
        let in_bucket: Vec<_> = rows
            .iter()
            .filter(|r| i64::from(r.time_start) >= b && i64::from(r.time_start) < b + step)
            .collect();
        let n = in_bucket.len() as i128;
        let answered: Vec<_> = in_bucket.iter().filter(|r| r.duration > 0).collect();
        let a = answered.len() as i128;
        let d: i128 = answered.iter().map(|r| i128::from(r.duration)).sum();
        t.push(serde_json::json!(b));
        calls.push(serde_json::json!(n));
        acd.push(if a > 0 {
            serde_json::json!(expected_ratio(d, a))
        } else {
            serde_json::Value::Null
        });
        asr.push(if n > 0 {
            serde_json::json!(expected_ratio(100 * a, n))
        } else {
            serde_json::Value::Null
        });
        cps.push(serde_json::json!(expected_ratio(n, i128::from(step))));
        all_calls += n;
        all_answered += a;
        all_dur += d;
        b += step;
    }
    let null_or = |ok: bool, v: String| {
        if ok {
            serde_json::json!(v)
        } else {
            serde_json::Value::Null
        }
    };
    serde_json::json!({
        "data": { "t": t, "total_calls": calls, "acd": acd, "asr": asr, "cps": cps },
        "rows": t.len(),
        "totals": {
            "t": 0,
            "total_calls": all_calls,
            "acd": null_or(all_answered > 0, if all_answered > 0 { expected_ratio(all_dur, all_answered) } else { String::new() }),
            "asr": null_or(all_calls > 0, if all_calls > 0 { expected_ratio(100 * all_answered, all_calls) } else { String::new() }),
            "cps": expected_ratio(all_calls, i128::from(step)),
        }
    })
}

/// `x` rounded half away from zero to `dp` places, in the contract's text form.
pub fn decimal_text(x: Decimal, dp: u32) -> String {
    let s = x
        .round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
        .to_string();
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// A price as the switch wrote it (the shortest text of the float), rounded to 6 places.
pub fn price6(p: f64) -> Decimal {
    <Decimal as std::str::FromStr>::from_str(&p.to_string())
        .expect("decimal")
        .round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
}

/// GET `path?query` with a full-access token, bypassing caches (`no-cache`): the body of the
/// 200 answer and its `x-cdrstats-source`.
pub async fn fresh(app: &TestApp, path: &str, query: &str) -> (serde_json::Value, String) {
    let resp = app
        .http
        .get(format!("{}{path}?{query}", app.address))
        .bearer_auth(token(Mint::Access(ACCESS_ALL)))
        .header("Cache-Control", "no-cache")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let source = resp
        .headers()
        .get("x-cdrstats-source")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (resp.json().await.expect("json"), source)
}
