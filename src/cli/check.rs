//! `cdrstats check`: a preflight against the live ClickHouse the gateway is configured for.
//! Per `CLICKHOUSE_URL`: server version; tables, columns and types against the schema compiled
//! into the binary (`schema/`); the materialized views; the configured user's effective settings
//! and constraints (`readonly`, `max_execution_time` against `QUERY_TIMEOUT_SECS`, a real query
//! with the gateway's settings); and a spot check that the newest complete hour of the minute
//! rollup equals the raw CDRs. `serve` runs it at start and logs the findings.

use crate::cli::migrate::{CLUSTER_MIGRATIONS, MIGRATIONS};
use crate::config::Settings;
use crate::db;
use crate::ddl::{self, Create};
use clickhouse::Row;
use serde::Deserialize;
use std::fmt::Write as _;

/// Oldest server the schema and the gateway's SQL are written for (server-side query
/// parameters, the settings of schema/cluster/900_gateway_user.sql).
const MIN_VERSION: (u32, u32) = (24, 8);

/// How one check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but not as a production deployment should be.
    Warn,
    /// The gateway will fail or answer wrongly.
    Fail,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
        }
    }
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub check: String,
    pub status: Status,
    pub detail: String,
}

fn finding(check: &str, status: Status, detail: impl Into<String>) -> Finding {
    Finding {
        check: check.to_owned(),
        status,
        detail: detail.into(),
    }
}

/// True when nothing failed (warnings allowed).
pub fn passed(findings: &[Finding]) -> bool {
    findings.iter().all(|f| f.status != Status::Fail)
}

/// The findings as an aligned text table.
pub fn table(findings: &[Finding]) -> String {
    let width = findings
        .iter()
        .map(|f| f.check.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("{:<width$}  {:<6}  detail\n", "check", "status");
    for f in findings {
        let _ = writeln!(
            out,
            "{:<width$}  {:<6}  {}",
            f.check,
            f.status.as_str(),
            f.detail
        );
    }
    out
}

/// Logs the findings (for `serve` at start).
pub fn log(findings: &[Finding]) {
    for f in findings {
        match f.status {
            Status::Ok => tracing::info!(check = %f.check, detail = %f.detail, "preflight ok"),
            Status::Warn => {
                tracing::warn!(check = %f.check, detail = %f.detail, "preflight warning")
            }
            Status::Fail => {
                tracing::error!(check = %f.check, detail = %f.detail, "preflight failed")
            }
        }
    }
}

/// Runs every check against every configured URL.
pub async fn run(settings: &Settings) -> Vec<Finding> {
    let urls = settings.clickhouse_urls.clone();
    let mut all = Vec::new();
    for url in &urls {
        let mut findings = check_server(settings, url).await;
        if urls.len() > 1 {
            for f in &mut findings {
                f.check = format!("{url} {}", f.check);
            }
        }
        all.extend(findings);
    }
    all
}

/// The first line of a ClickHouse error, without the stack or query text.
fn short(err: &clickhouse::error::Error) -> String {
    let text = err.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(200).collect()
}

async fn check_server(settings: &Settings, url: &str) -> Vec<Finding> {
    let plain = db::client(settings, url, Some(&settings.clickhouse_database));
    let version = match plain.query("SELECT version()").fetch_one::<String>().await {
        Ok(v) => v,
        Err(e) => return vec![finding("server", Status::Fail, short(&e))],
    };
    let mut findings = vec![judge_version(&version)];
    // A Distributed `cdrs` means a cluster deployment (schema/cluster/).
    let cluster = crate::cli::rollups::is_cluster(&plain)
        .await
        .unwrap_or(false);
    findings.push(finding(
        "layout",
        Status::Ok,
        if cluster {
            "cluster: checked against schema/cluster/ (Distributed tables over *_local)"
        } else {
            "single server: checked against schema/"
        },
    ));
    findings.extend(check_user(settings, url, &plain, cluster).await);
    findings.extend(check_schema(&plain, cluster).await);
    if cluster {
        findings.push(check_sharding(&plain).await);
    }
    findings.push(spot_check(&plain).await);
    findings.push(check_listing(&plain).await);
    findings
}

/// A listing change older than this that has not finished was interrupted.
const STUCK_SECS: u32 = 3600;

/// The rollup listing: how many account-sides are listed, and whether a run was interrupted
/// (sides left `stopping`, `backfilling` or `unlisting`: answered from raw CDRs until a
/// `rollups maintain` round or a `dense` / `rebuild` completes them).
async fn check_listing(plain: &clickhouse::Client) -> Finding {
    let listing = crate::cli::listing::read_all(plain).await;
    let now = crate::cli::listing::server_now(plain).await;
    match (listing, now) {
        (Ok(listing), Ok(now)) => judge_listing(&listing, now),
        (Err(e), _) | (_, Err(e)) => finding("rollup listing", Status::Fail, format!("{e:#}")),
    }
}

fn judge_listing(listing: &[crate::cli::listing::Listing], now: u32) -> Finding {
    let listed = listing.iter().filter(|l| l.state == "listed").count();
    let stuck: Vec<String> = listing
        .iter()
        .filter(|l| {
            matches!(l.state.as_str(), "stopping" | "backfilling" | "unlisting")
                && l.changed_at + STUCK_SECS < now
        })
        .map(|l| format!("{}/{} {}", l.side, l.account_id, l.state))
        .collect();
    if stuck.is_empty() {
        finding(
            "rollup listing",
            Status::Ok,
            format!("{listed} account-side(s) listed"),
        )
    } else {
        finding(
            "rollup listing",
            Status::Warn,
            format!(
                "{listed} listed; interrupted for over an hour (answered from raw CDRs): {}; \
                 is `cdrstats rollups maintain` running?",
                stuck.join(", ")
            ),
        )
    }
}

fn judge_version(version: &str) -> Finding {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let status = if found >= MIN_VERSION {
        Status::Ok
    } else {
        Status::Fail
    };
    finding(
        "server version",
        status,
        format!("{version} (needs {}.{}+)", MIN_VERSION.0, MIN_VERSION.1),
    )
}

#[derive(Row, Deserialize)]
struct SettingRow {
    name: String,
    value: String,
    max: Option<String>,
    /// 1 when the user may not change it.
    readonly: u8,
}

async fn check_user(
    settings: &Settings,
    url: &str,
    plain: &clickhouse::Client,
    cluster: bool,
) -> Vec<Finding> {
    let rows = plain
        .query(
            "SELECT name, value, max, toUInt8(readonly) AS readonly FROM system.settings \
             WHERE name IN ('readonly', 'max_execution_time', 'optimize_skip_unused_shards')",
        )
        .fetch_all::<SettingRow>()
        .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return vec![finding("user settings", Status::Fail, short(&e))],
    };
    let get = |name: &str| rows.iter().find(|r| r.name == name);
    let mut findings = judge_user(
        get("readonly").map_or("0", |r| r.value.as_str()),
        get("max_execution_time").map(|r| (r.value.as_str(), r.max.as_deref(), r.readonly == 1)),
        settings.query_timeout_secs,
    );
    // The proof: a query exactly as the gateway sends it (read-only client, its time limit).
    let gateway = db::read_only_client(settings, url).with_setting(
        "max_execution_time",
        settings.query_timeout_secs.to_string(),
    );
    let status = match gateway.query("SELECT 1").fetch_one::<u8>().await {
        Ok(_) => finding(
            "gateway query settings",
            Status::Ok,
            "accepted (readonly = 2, max_execution_time)",
        ),
        Err(e) => finding("gateway query settings", Status::Fail, short(&e)),
    };
    findings.push(status);
    if let Some(skip) = get("optimize_skip_unused_shards")
        && cluster
    {
        findings.push(finding(
            "optimize_skip_unused_shards",
            if skip.value == "0" {
                Status::Warn
            } else {
                Status::Ok
            },
            format!(
                "{} (1 lets a one-account query read only its shard)",
                skip.value
            ),
        ));
    }
    findings
}

/// Judges the user's `readonly` level and its `max_execution_time` (value, constraint maximum,
/// whether it is fixed) against `QUERY_TIMEOUT_SECS`.
pub fn judge_user(
    readonly: &str,
    max_execution_time: Option<(&str, Option<&str>, bool)>,
    timeout_secs: u64,
) -> Vec<Finding> {
    let readonly = match readonly {
        "2" => finding(
            "readonly",
            Status::Ok,
            "2: reads only, per-query settings allowed",
        ),
        "0" => finding(
            "readonly",
            Status::Warn,
            "0: the user may write; the gateway runs its queries with readonly = 2, but give it \
             a readonly = 2 profile (schema/cluster/900_gateway_user.sql)",
        ),
        other => finding(
            "readonly",
            Status::Fail,
            format!(
                "{other}: refuses every per-query setting the gateway sends (query_id, \
                 max_execution_time); use readonly = 2"
            ),
        ),
    };
    let timeout = match max_execution_time {
        None => finding(
            "max_execution_time",
            Status::Warn,
            "not reported by the server",
        ),
        Some((value, _, true)) if value != timeout_secs.to_string() => finding(
            "max_execution_time",
            Status::Fail,
            format!(
                "fixed at {value} for this user; QUERY_TIMEOUT_SECS = {timeout_secs} cannot be set"
            ),
        ),
        Some((_, Some(max), _))
            if max
                .parse::<f64>()
                .is_ok_and(|m| m > 0.0 && m < timeout_secs as f64) =>
        {
            finding(
                "max_execution_time",
                Status::Fail,
                format!(
                    "QUERY_TIMEOUT_SECS = {timeout_secs} exceeds the user's constraint MAX {max}: \
                     every query would be refused (452)"
                ),
            )
        }
        Some((value, max, _)) => finding(
            "max_execution_time",
            Status::Ok,
            format!(
                "QUERY_TIMEOUT_SECS = {timeout_secs} allowed (user value {value}, MAX {})",
                max.unwrap_or("none")
            ),
        ),
    };
    vec![readonly, timeout]
}

/// A table's name and its `(column, type)` pairs.
pub type TableColumns = (String, Vec<(String, String)>);

/// Every `CREATE TABLE` of the schema with its columns, and the view names: `schema/` on a
/// single server, `schema/cluster/` on a cluster, where a Distributed table (`CREATE TABLE t
/// ON CLUSTER ... AS t_local ENGINE = Distributed(...)`) has the columns of its local table.
pub fn expected_schema(cluster: bool) -> (Vec<TableColumns>, Vec<String>) {
    let files = if cluster {
        CLUSTER_MIGRATIONS
    } else {
        MIGRATIONS
    };
    let mut tables: Vec<TableColumns> = Vec::new();
    for (_, text) in files {
        for statement in ddl::statements(text) {
            if let Some(gone) = ddl::dropped(&statement) {
                tables.retain(|(t, _)| *t != gone);
                continue;
            }
            if let Some((table, added)) = ddl::added_columns(&statement) {
                if let Some((_, columns)) = tables.iter_mut().find(|(t, _)| *t == table) {
                    for column in added {
                        if !columns.iter().any(|(c, _)| *c == column.0) {
                            columns.push(column);
                        }
                    }
                }
                continue;
            }
            let Some(create) = ddl::create(&statement) else {
                continue;
            };
            let columns = match &create {
                Create::Table { .. } => ddl::columns(&create),
                Create::TableAs { source, .. } => tables
                    .iter()
                    .find(|(t, _)| t == source)
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default(),
                Create::View { .. } => continue,
            };
            // A later file may create an object again (schema/011_family_rollups.sql drops and
            // creates the rollups): the last definition is the expected one.
            let name = create.name().to_owned();
            tables.retain(|(t, _)| *t != name);
            tables.push((name, columns));
        }
    }
    (tables, ddl::view_names(files))
}

#[derive(Row, Deserialize)]
struct ColumnRow {
    table: String,
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

async fn check_schema(plain: &clickhouse::Client, cluster: bool) -> Vec<Finding> {
    let found = plain
        .query(
            "SELECT table, name, type FROM system.columns WHERE database = currentDatabase() \
             ORDER BY table, position",
        )
        .fetch_all::<ColumnRow>()
        .await;
    let found = match found {
        Ok(rows) => rows,
        Err(e) => return vec![finding("schema", Status::Fail, short(&e))],
    };
    let names = plain
        .query("SELECT name FROM system.tables WHERE database = currentDatabase()")
        .fetch_all::<String>()
        .await
        .unwrap_or_default();
    let (tables, views) = expected_schema(cluster);
    let mut findings = Vec::new();
    for (table, columns) in tables {
        let check = format!("table {table}");
        if !names.contains(&table) {
            findings.push(finding(&check, Status::Fail, "missing (cdrstats migrate)"));
            continue;
        }
        let mut problems = Vec::new();
        for (column, ty) in &columns {
            match found.iter().find(|r| r.table == table && &r.name == column) {
                None => problems.push(format!("{column} missing")),
                Some(r) if &r.ty != ty => {
                    problems.push(format!("{column} is {}, schema says {ty}", r.ty));
                }
                Some(_) => {}
            }
        }
        findings.push(if problems.is_empty() {
            finding(
                &check,
                Status::Ok,
                format!("{} columns as in schema/", columns.len()),
            )
        } else {
            finding(&check, Status::Fail, problems.join("; "))
        });
    }
    let missing: Vec<&String> = views.iter().filter(|v| !names.contains(v)).collect();
    findings.push(if missing.is_empty() {
        finding(
            "views",
            Status::Ok,
            format!("{} materialized views present", views.len()),
        )
    } else {
        finding(
            "views",
            Status::Fail,
            format!(
                "missing: {} (rollups would stop updating)",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    });
    findings
}

#[derive(Row, Deserialize)]
struct EngineRow {
    name: String,
    engine_full: String,
}

/// On a cluster: every Distributed table shards by the key of `schema/cluster/` (a one-account
/// query reads one shard only when its account column is the sharding key).
async fn check_sharding(plain: &clickhouse::Client) -> Finding {
    let found = plain
        .query(
            "SELECT name, engine_full FROM system.tables \
             WHERE database = currentDatabase() AND engine = 'Distributed'",
        )
        .fetch_all::<EngineRow>()
        .await;
    match found {
        Ok(rows) => judge_sharding(
            &crate::cli::schema_parity::sharding_keys(CLUSTER_MIGRATIONS),
            &rows
                .into_iter()
                .map(|r| (r.name, r.engine_full))
                .collect::<Vec<_>>(),
        ),
        Err(e) => finding("sharding keys", Status::Fail, short(&e)),
    }
}

/// Compares the expected `(table, sharding key)` pairs with the servers' `(table, engine_full)`.
pub fn judge_sharding(expected: &[(String, String)], found: &[(String, String)]) -> Finding {
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    let problems: Vec<String> = expected
        .iter()
        .filter_map(
            |(table, key)| match found.iter().find(|(name, _)| name == table) {
                None => Some(format!("{table} is not a Distributed table")),
                Some((_, engine)) if !squeeze(engine).contains(&squeeze(key)) => {
                    Some(format!("{table} is not sharded by {key}: {engine}"))
                }
                Some(_) => None,
            },
        )
        .collect();
    if problems.is_empty() {
        finding(
            "sharding keys",
            Status::Ok,
            format!(
                "{} Distributed tables as in schema/cluster/",
                expected.len()
            ),
        )
    } else {
        finding("sharding keys", Status::Fail, problems.join("; "))
    }
}

#[derive(Row, Deserialize, Debug, PartialEq, Eq)]
struct HourSums {
    total_calls: u64,
    answered: u64,
    duration_sum: i64,
}

/// The newest complete hour before the newest CDR: termination sums from raw `cdrs` and from
/// `rollup_minute` must be equal for the account-sides rolled up since before that hour
/// (`rollup_accounts`).
async fn spot_check(plain: &clickhouse::Client) -> Finding {
    const CHECK: &str = "rollup vs raw";
    let newest = plain
        .query("SELECT toInt64(toUnixTimestamp(max(time_start))) FROM cdrs")
        .fetch_one::<i64>()
        .await;
    let newest = match newest {
        Ok(t) if t > 0 => t,
        Ok(_) => return finding(CHECK, Status::Ok, "no CDRs yet: nothing to compare"),
        Err(e) => return finding(CHECK, Status::Fail, short(&e)),
    };
    let to = newest - newest.rem_euclid(3600);
    let from = to - 3600;
    let raw = plain
        .query(
            "SELECT count() AS total_calls, countIf(duration > 0) AS answered, \
             sumIf(toInt64(duration), duration > 0) AS duration_sum FROM cdrs \
             WHERE time_start >= toDateTime({from:Int64}, 'UTC') \
             AND time_start < toDateTime({to:Int64}, 'UTC') \
             AND vendor_acc_id IN (SELECT account_id FROM rollup_accounts FINAL \
             WHERE side = 0 AND since <= toDateTime({from:Int64}, 'UTC'))",
        )
        .param("from", from)
        .param("to", to)
        .fetch_one::<HourSums>()
        .await;
    let rollup = plain
        .query(
            "SELECT toUInt64(sum(total_calls)) AS total_calls, toUInt64(sum(answered)) AS answered, \
             toInt64(sum(duration_sum)) AS duration_sum FROM rollup_minute \
             WHERE side = 0 AND minute >= toDateTime({from:Int64}, 'UTC') \
             AND minute < toDateTime({to:Int64}, 'UTC') \
             AND account_id IN (SELECT account_id FROM rollup_accounts FINAL \
             WHERE side = 0 AND since <= toDateTime({from:Int64}, 'UTC'))",
        )
        .param("from", from)
        .param("to", to)
        .fetch_one::<HourSums>()
        .await;
    let hour = crate::stats::time::rfc3339(from);
    match (raw, rollup) {
        (Ok(raw), Ok(rollup)) if raw == rollup => finding(
            CHECK,
            Status::Ok,
            format!(
                "hour from {hour}: {} CDRs of rolled-up accounts in both",
                raw.total_calls
            ),
        ),
        (Ok(raw), Ok(rollup)) => finding(
            CHECK,
            Status::Fail,
            format!(
                "hour from {hour}: raw {raw:?}, rollup_minute {rollup:?} \
                 (views missing while data arrived, or a double backfill)"
            ),
        ),
        (Err(e), _) | (_, Err(e)) => finding(CHECK, Status::Fail, short(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(findings: &[Finding]) -> Vec<Status> {
        findings.iter().map(|f| f.status).collect()
    }

    /// Judged without a server: the local engine has no users or settings profiles.
    #[test]
    fn readonly_levels_judged_offline_as_the_local_engine_has_no_profiles() {
        let timeout = Some(("0", None, false));
        assert_eq!(statuses(&judge_user("2", timeout, 10))[0], Status::Ok);
        assert_eq!(statuses(&judge_user("0", timeout, 10))[0], Status::Warn);
        assert_eq!(statuses(&judge_user("1", timeout, 10))[0], Status::Fail);
    }

    /// Judged without a server: the local engine has no settings constraints.
    #[test]
    fn query_timeout_above_the_users_constraint_fails_judged_offline_as_the_local_engine_has_none()
    {
        let over = judge_user("2", Some(("30", Some("5"), false)), 10);
        assert_eq!(over[1].status, Status::Fail, "{:?}", over[1]);
        assert!(over[1].detail.contains("MAX 5"));
        assert_eq!(
            judge_user("2", Some(("30", Some("30"), false)), 10)[1].status,
            Status::Ok
        );
        assert_eq!(
            judge_user("2", Some(("0", None, false)), 10)[1].status,
            Status::Ok
        );
        assert_eq!(
            judge_user("2", Some(("5", None, true)), 10)[1].status,
            Status::Fail,
            "a fixed (const) value other than ours"
        );
    }

    #[test]
    fn the_expected_schema_comes_from_the_schema_files() {
        let (tables, views) = expected_schema(false);
        let cdrs = &tables.iter().find(|(t, _)| t == "cdrs").expect("cdrs").1;
        assert!(cdrs.contains(&("time_start".into(), "DateTime('UTC')".into())));
        assert!(
            cdrs.contains(&("duration".into(), "Int32".into())),
            "codec stripped"
        );
        assert!(cdrs.contains(&("auth_orig_ip".into(), "LowCardinality(String)".into())));
        assert!(!cdrs.iter().any(|(c, _)| c == "PROJECTION"));
        let access = &tables
            .iter()
            .find(|(t, _)| t == "api_access")
            .expect("access")
            .1;
        assert!(access.contains(&("account_ids".into(), "Array(UInt32)".into())));
        assert!(views.contains(&"rollup_minute_mv".to_owned()));
        // Columns added by later migrations are expected too.
        assert!(cdrs.contains(&("vendor_duration".into(), "Int32".into())));
        assert!(cdrs.contains(&("pdd".into(), "Float32".into())));
        assert!(cdrs.contains(&(
            "legb_disconnect_reason".into(),
            "LowCardinality(String)".into()
        )));
        let copy = &tables
            .iter()
            .find(|(t, _)| t == "cdrs_by_customer")
            .expect("copy")
            .1;
        assert!(copy.contains(&("lega_disconnect_code".into(), "Int32".into())));
    }

    #[test]
    fn a_listing_interrupted_for_over_an_hour_is_a_warning() {
        use crate::cli::listing::{Listing, NEVER};
        let side = |state: &str, changed_at: u32| Listing {
            side: 0,
            account_id: 7,
            since: NEVER,
            writes_from: NEVER,
            writes_until: NEVER,
            state: state.into(),
            backfill_from: 0,
            gap_from: 0,
            resume_since: 0,
            backfilled_at: 0,
            changed_at,
        };
        let now = 100_000;
        let ok = judge_listing(&[side("listed", 0), side("backfilling", now - 60)], now);
        assert_eq!(ok.status, Status::Ok, "{}", ok.detail);
        let stuck = judge_listing(&[side("backfilling", now - 7200)], now);
        assert_eq!(stuck.status, Status::Warn);
        assert!(stuck.detail.contains("0/7 backfilling"), "{}", stuck.detail);
    }

    /// Static: no cluster runs here.
    #[test]
    fn statically_on_a_cluster_the_distributed_and_local_tables_are_expected_with_the_same_columns()
    {
        let (single, single_views) = expected_schema(false);
        let (cluster, cluster_views) = expected_schema(true);
        for (table, columns) in &single {
            let distributed = cluster.iter().find(|(t, _)| t == table);
            assert_eq!(distributed.map(|(_, c)| c), Some(columns), "{table}");
            // Small tables every node keeps a full replicated copy of (no Distributed table).
            if !matches!(
                table.as_str(),
                "accounts" | "api_access" | "rollup_accounts" | "rollup_lease"
            ) {
                let local = cluster.iter().find(|(t, _)| *t == format!("{table}_local"));
                assert_eq!(local.map(|(_, c)| c), Some(columns), "{table}_local");
            }
        }
        assert!(cluster.iter().any(|(t, _)| t == "cdrs_by_customer_local"));
        assert_eq!(single_views, cluster_views);
    }

    /// Judged without a server: the local engine cannot create a Distributed table.
    #[test]
    fn a_distributed_table_sharded_by_another_key_fails_judged_offline_as_the_local_engine_has_no_cluster()
     {
        let expected = crate::cli::schema_parity::sharding_keys(CLUSTER_MIGRATIONS);
        assert!(expected.contains(&(
            "cdrs_by_customer".to_owned(),
            "cityHash64(customer_acc_id)".to_owned()
        )));
        let engine = |table: &str, key: &str| {
            (
                table.to_owned(),
                format!("Distributed('prod', 'stats', '{table}_local', {key})"),
            )
        };
        let good: Vec<(String, String)> = expected.iter().map(|(t, k)| engine(t, k)).collect();
        assert_eq!(judge_sharding(&expected, &good).status, Status::Ok);
        let mut wrong = good.clone();
        wrong[0] = engine(&expected[0].0, "rand()");
        let verdict = judge_sharding(&expected, &wrong);
        assert_eq!(verdict.status, Status::Fail);
        assert!(verdict.detail.contains("rand()"), "{verdict:?}");
        let verdict = judge_sharding(&expected, &good[1..]);
        assert!(
            verdict.detail.contains("is not a Distributed table"),
            "{verdict:?}"
        );
    }

    #[test]
    fn versions_are_compared_numerically() {
        assert_eq!(judge_version("26.9.2.1").status, Status::Ok);
        assert_eq!(judge_version("24.10.1").status, Status::Ok);
        assert_eq!(judge_version("24.3.5").status, Status::Fail);
        assert_eq!(judge_version("garbage").status, Status::Fail);
    }

    #[test]
    fn the_table_lists_every_finding() {
        let t = table(&[
            finding("a", Status::Ok, "fine"),
            finding("bb", Status::Fail, "broken"),
        ]);
        assert!(t.contains("a      ok      fine"), "{t}");
        assert!(t.contains("FAIL    broken"), "{t}");
        assert!(!passed(&[finding("x", Status::Fail, "")]));
        assert!(passed(&[finding("x", Status::Warn, "")]));
    }
}
