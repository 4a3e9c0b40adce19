//! `cdrstats sql`: prints the SQL and parameters the gateway would send for a request, as JSON,
//! so the same query can be timed directly against ClickHouse (gateway overhead) or read by a
//! human: the quality endpoints and the breakdowns. Runs one query at most: the account-side's
//! rollup `since` (`rollup_accounts`), when the plan may read a rollup and `--since` is not given.

use crate::domain::{Endpoint, Shape};
use crate::stats::params::StatsRequest;
use crate::stats::plan::{Bind, Plan, Scope, Window, plan};

/// Command-line options.
#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// `termination`, `origination`, `termination-breakdown` or `origination-breakdown`.
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

/// The plan as JSON: `{"path": "...", "sql": "...", "params": {"name": "value"}}` (a breakdown
/// with `compare=previous-period` reads both windows in this one query).
pub async fn run(settings: &crate::config::Settings, args: &SqlArgs) -> anyhow::Result<String> {
    let endpoint = Endpoint::ALL
        .into_iter()
        .find(|e| {
            matches!(e.shape(), Shape::Quality | Shape::Breakdown) && e.name() == args.endpoint
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--endpoint must be termination, origination, termination-breakdown or \
                 origination-breakdown"
            )
        })?;
    let now = args.now.unwrap_or_else(|| chrono::Utc::now().timestamp());
    if endpoint.shape() == Shape::Breakdown {
        use crate::stats::breakdown::plan as breakdown_plan;
        use crate::stats::breakdown::request::BreakdownRequest;
        let req =
            BreakdownRequest::parse(endpoint, &args.query).map_err(|e| anyhow::anyhow!("{e}"))?;
        let column = settings.duration_column(endpoint.side());
        let p = breakdown_plan(&req, args.account, req.window(now), column, !args.raw);
        let json = bound(settings, args, p).await?;
        return Ok(json.to_string());
    }
    let req = StatsRequest::parse(endpoint, &args.query).map_err(|e| anyhow::anyhow!("{e}"))?;
    let end = req.to.map_or(now, |t| t.floor().min(now));
    let scope = Scope {
        endpoint,
        account: args.account,
        grid: req.grid(),
        filters: &req.filters,
    };
    let p = plan(
        scope,
        &[Window {
            from: req.from.ceil(),
            to: end,
        }],
        !args.raw,
    );
    Ok(bound(settings, args, p).await?.to_string())
}

/// `p` with the account-side's `since` bound (given, or looked up), as JSON.
async fn bound(
    settings: &crate::config::Settings,
    args: &SqlArgs,
    mut p: Plan,
) -> anyhow::Result<serde_json::Value> {
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
    Ok(serde_json::json!({ "path": path, "sql": p.sql, "params": params }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(endpoint: &str, query: &str) -> SqlArgs {
        SqlArgs {
            endpoint: endpoint.into(),
            account: 7,
            query: query.into(),
            raw: false,
            now: Some(1_900_000_000),
            since: Some(1_776_211_200),
        }
    }

    /// A breakdown prints its plan, with compare one query over both windows, `since` bound
    /// from `--since` (no lookup).
    #[tokio::test]
    async fn a_breakdown_prints_one_query_over_both_windows() {
        let settings = crate::config::Settings::from_vars(
            [("JWT_SECRET", "cdrstats-test-secret-0123456789abcdef")]
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .expect("valid");
        let q = "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2026-04-15T09:59:30Z\
                 &to-time=2026-04-15T12:00:29Z&by=dst-country&compare=previous-period";
        let out = run(&settings, &args("termination-breakdown", q))
            .await
            .expect("plan");
        let json: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(json["path"], "rollup");
        assert_eq!(json["params"]["current_from"], "2026-04-15 09:59:30");
        assert_eq!(json["params"]["rollup_since"], "2026-04-15 00:00:00");
        assert!(
            json["sql"]
                .as_str()
                .is_some_and(|s| s.contains("rollup_hour_dst_country"))
        );
        // The previous window's first partial minute is read raw, its time tells its period.
        assert_eq!(json["params"]["r0_from"], "2026-04-15 07:58:30");
        assert!(json.get("previous").is_none());
        let err = run(&settings, &args("termination-statistics", q)).await;
        assert!(err.is_err_and(|e| e.to_string().contains("--endpoint must be")));
    }
}
