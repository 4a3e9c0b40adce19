//! `cdrstats demo`: prints a ready-to-paste curl line for the seeded demo customer.

use crate::auth::token::{Mint, mint};
use crate::config::Settings;
use crate::db;
use crate::domain::Endpoint;
use anyhow::Context;
use clickhouse::Row;
use serde::Deserialize;

#[derive(Row, Deserialize)]
struct DemoAccount {
    uuid: String,
}

/// The curl line: api_access 1 (the seeded demo customer), its first account, the last hour.
pub async fn run(settings: &Settings) -> anyhow::Result<String> {
    let url = settings.clickhouse_urls[0].clone();
    let client = db::client(settings, &url, Some(&settings.clickhouse_database));
    let account = client
        .query(
            "SELECT toString(uuid) AS uuid FROM accounts FINAL \
             WHERE contractor_id = (SELECT customer_id FROM api_access FINAL WHERE id = 1) \
             ORDER BY id LIMIT 1",
        )
        .fetch_optional::<DemoAccount>()
        .await
        .with_context(|| format!("reading the demo account from {url}"))?
        .context("no demo account: run `cdrstats seed` first")?;
    let token = mint(
        settings.require_jwt_secret()?,
        Mint::Access(1),
        Some(chrono::Utc::now().timestamp() + 7 * 86_400),
    )?;
    let from = (chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:00Z");
    Ok(format!(
        "curl -s -H 'Authorization: Bearer {token}' \\\n  'http://{addr}{path}?account-id={uuid}&from-time={from}&sampling=minute'",
        addr = settings.listen_addr,
        path = Endpoint::TerminationQuality.path(),
        uuid = account.uuid,
    ))
}
