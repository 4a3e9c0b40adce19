//! `cdrstats sql`: prints the SQL and parameters the gateway would send for a request, as JSON,
//! so the same query can be timed directly against ClickHouse (gateway overhead) or read by a
//! human. Runs one query at most: the account-side's rollup `since` (`rollup_accounts`), when
//! the plan may read a rollup and `--since` is not given.

use crate::domain::{Endpoint, Shape};
use crate::stats::params::StatsRequest;
use crate::stats::plan::{Bind, Scope, Window, plan};

/// Command-line options.
#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// `termination` or `origination`.
    #[arg(long, default_value = "termination")]
    pub endpoint: String,
    /// The internal account id (the gateway resolves `account-id` to it).
    #[arg(long)]
    pub account: u32,
    /// The request's query string (`account-id=…&from-time=…&sampling=…`).
    #[arg(long)]
    pub query: String,
    /// Plan raw CDRs only, as if no rollup existed.
    #[arg(long)]
    pub raw: bool,
    /// "Now" as unix seconds (default: the current time).
    #[arg(long)]
    pub now: Option<i64>,
    /// The account-side's rollup `since` as unix seconds, instead of looking it up in
    /// `rollup_accounts` (4294967295: not rolled up).
    #[arg(long)]
    pub since: Option<i64>,
}

/// The plan as JSON: `{"path": "...", "sql": "...", "params": {"name": "value"}}`.
pub async fn run(settings: &crate::config::Settings, args: &SqlArgs) -> anyhow::Result<String> {
    let endpoint = Endpoint::ALL
        .into_iter()
        .find(|e| e.shape() == Shape::Quality && e.name() == args.endpoint)
        .ok_or_else(|| anyhow::anyhow!("--endpoint must be termination or origination"))?;
    let req = StatsRequest::parse(endpoint, &args.query).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = args.now.unwrap_or_else(|| chrono::Utc::now().timestamp());
    let end = req.to.map_or(now, |t| t.floor().min(now));
    let scope = Scope {
        endpoint,
        account: args.account,
        grid: req.grid(),
        filters: &req.filters,
    };
    let mut p = plan(
        scope,
        &[Window {
            from: req.from.ceil(),
            to: end,
        }],
        !args.raw,
    );
    if let Some((side, account)) = p.unbound_listing() {
        let since = match args.since {
            Some(since) => since,
            None => {
                let url = settings
                    .clickhouse_urls
                    .clone()
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                let client = crate::db::client(settings, &url, Some(&settings.clickhouse_database));
                crate::stats::query::look_up_since(&client, side, account).await?
            }
        };
        p = p.with_rollup_since(since);
    }
    let params: serde_json::Map<String, serde_json::Value> = p
        .binds
        .iter()
        .map(|(name, bind)| {
            let text = match bind {
                Bind::UInt8(v) => v.to_string(),
                Bind::UInt32(v) => v.to_string(),
                Bind::Int32(v) => v.to_string(),
                Bind::Float64(v) => v.to_string(),
                Bind::Text(v) => v.clone(),
            };
            (name.clone(), serde_json::Value::String(text))
        })
        .collect();
    let path = match p.path {
        crate::stats::plan::Path::Rollup => "rollup",
        crate::stats::plan::Path::Raw => "raw",
    };
    Ok(serde_json::json!({ "path": path, "sql": p.sql, "params": params }).to_string())
}
