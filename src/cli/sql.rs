//! `cdrstats sql`: prints the SQL and parameters the gateway would send for a request, as JSON,
//! so the same query can be timed directly against ClickHouse (gateway overhead) or read by a
//! human: the quality endpoints and the breakdowns. Runs one query at most: the account-side's
//! rollup `since` (`rollup_accounts`), unless `--since` or `--raw` is given.

use crate::domain::{Endpoint, Shape};
use crate::stats::params::StatsRequest;
use crate::stats::plan::{Bind, NOT_ROLLED_UP, Plan, Scope, Window, plan, side};

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
    let since = rollup_since(settings, args, side(endpoint)).await?;
    if endpoint.shape() == Shape::Breakdown {
        use crate::stats::breakdown::plan as breakdown_plan;
        use crate::stats::breakdown::request::BreakdownRequest;
        let req =
            BreakdownRequest::parse(endpoint, &args.query).map_err(|e| anyhow::anyhow!("{e}"))?;
        let column = settings.duration_column(endpoint.side());
        let p = breakdown_plan(&req, args.account, req.window(now), column, since);
        return Ok(to_json(p).to_string());
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
        since,
    );
    Ok(to_json(p).to_string())
}

/// The account-side's rollup `since`: not rolled up with `--raw`, else `--since`, else looked up.
async fn rollup_since(
    settings: &crate::config::Settings,
    args: &SqlArgs,
    side: u8,
) -> anyhow::Result<i64> {
    if args.raw {
        return Ok(NOT_ROLLED_UP);
    }
    if let Some(since) = args.since {
        return Ok(since);
    }
    let url = settings
        .clickhouse_urls
        .clone()
        .into_iter()
        .next()
        .unwrap_or_default();
    let client = crate::db::client(settings, &url, Some(&settings.clickhouse_database));
    Ok(crate::stats::query::look_up_since(&client, side, args.account).await?)
}

/// `p` as JSON.
fn to_json(p: Plan) -> serde_json::Value {
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
    serde_json::json!({ "path": p.path.as_str(), "sql": p.sql, "params": params })
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

    /// A breakdown prints its plan, with compare one query over both windows, split at
    /// `--since` (no lookup).
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
        // Rolled up since 2026-04-15 00:00 (`--since`): the previous window's whole hour too.
        assert_eq!(json["params"]["h0_from"], "2026-04-15 08:00:00");
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
