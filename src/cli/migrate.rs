//! `cdrstats migrate`: applies the schema in order, once per file, recorded in
//! `schema_migrations`.
//!
//! Two modes, because a cluster is not N single servers:
//! - single server (default): `schema/*.sql` on the one `CLICKHOUSE_URL`;
//! - `--cluster NAME`: `schema/cluster/*.sql`, run once on the first reachable URL; every
//!   statement carries `ON CLUSTER`, so the server runs it on every node (replicated tables,
//!   Distributed tables, views, access objects), and `schema_migrations` is itself replicated,
//!   so a second run from any node is a no-op.
//!
//! After the files, the retention TTLs are set from `RAW_RETENTION_DAYS` /
//! `ROLLUP_RETENTION_DAYS`. Migrations never backfill derived tables: a database that holds CDRs
//! but empty rollups is told to run `cdrstats rollups rebuild`.

use crate::config::Settings;
use crate::db;
use crate::ddl::statements;
use anyhow::{Context, bail};
use clickhouse::Row;
use serde::Deserialize;
use sha2::{Digest, Sha256};

macro_rules! migration {
    ($name:literal) => {
        ($name, include_str!(concat!("../../schema/", $name)))
    };
}

macro_rules! cluster_migration {
    ($name:literal) => {
        ($name, include_str!(concat!("../../schema/cluster/", $name)))
    };
}

/// The schema files, compiled in so the binary migrates without the source tree. A unit test
/// checks this list against the `schema/` folder.
pub const MIGRATIONS: &[(&str, &str)] = &[
    migration!("001_cdrs.sql"),
    migration!("002_accounts.sql"),
    migration!("003_api_access.sql"),
    migration!("004_rollups.sql"),
    migration!("005_rollup_accounts.sql"),
    migration!("010_family.sql"),
    migration!("011_family_rollups.sql"),
    migration!("012_live_rollups.sql"),
    migration!("020_breakdown.sql"),
    migration!("021_breakdown_rollups.sql"),
    migration!("022_minute_dst_country.sql"),
    migration!("023_zstd_strings.sql"),
    migration!("024_minute_prefix.sql"),
    migration!("025_price_micros.sql"),
    migration!("026_copy_inserted_at.sql"),
];

/// The cluster variant (`schema/cluster/`), in the order applied.
pub const CLUSTER_MIGRATIONS: &[(&str, &str)] = &[
    cluster_migration!("001_cdrs.sql"),
    cluster_migration!("002_directory.sql"),
    cluster_migration!("003_rollups.sql"),
    cluster_migration!("005_rollup_accounts.sql"),
    cluster_migration!("010_family.sql"),
    cluster_migration!("011_family_rollups.sql"),
    cluster_migration!("012_live_rollups.sql"),
    cluster_migration!("020_breakdown.sql"),
    cluster_migration!("021_breakdown_rollups.sql"),
    cluster_migration!("022_minute_dst_country.sql"),
    cluster_migration!("023_zstd_strings.sql"),
    cluster_migration!("024_minute_prefix.sql"),
    cluster_migration!("025_price_micros.sql"),
    cluster_migration!("026_copy_inserted_at.sql"),
    cluster_migration!("900_gateway_user.sql"),
    cluster_migration!("901_pipeline_insert_speed.sql"),
];

const TRACKING_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
     (name String, checksum String, applied_at DateTime('UTC') DEFAULT now()) \
     ENGINE = ReplacingMergeTree ORDER BY name";

#[derive(Row, Deserialize)]
struct Applied {
    name: String,
    checksum: String,
}

/// `schema_migrations` on a cluster: one replicated copy on every node (one ZooKeeper path for
/// all shards), so every node knows what was applied.
const CLUSTER_TRACKING_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
     ON CLUSTER '{cluster}' \
     (name String, checksum String, applied_at DateTime('UTC') DEFAULT now()) \
     ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/schema_migrations', \
     '{replica}') ORDER BY name";

/// Where and how to apply the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One server: `schema/*.sql`.
    Single,
    /// A cluster named in the servers' `remote_servers`: `schema/cluster/*.sql`, `ON CLUSTER`.
    Cluster(String),
}

impl Target {
    /// `--cluster NAME`, checked to be a plain name (it is spliced into DDL).
    pub fn from_arg(cluster: Option<&str>) -> anyhow::Result<Self> {
        match cluster {
            None => Ok(Self::Single),
            Some(name)
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) =>
            {
                Ok(Self::Cluster(name.to_owned()))
            }
            Some(name) => bail!("--cluster {name:?}: letters, digits, '_', '-' and '.' only"),
        }
    }

    fn migrations(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Single => MIGRATIONS,
            Self::Cluster(_) => CLUSTER_MIGRATIONS,
        }
    }

    /// A statement as sent: the cluster name and the gateway's database filled in. Server
    /// macros (`{shard}`, `{replica}`, `{database}`) are left to the servers.
    pub fn render(&self, statement: &str, database: &str) -> String {
        match self {
            Self::Single => statement.to_owned(),
            Self::Cluster(name) => statement
                .replace("{cluster}", name)
                .replace("{target_database}", database),
        }
    }
}

/// Applies pending migrations; returns the names applied.
pub async fn run(settings: &Settings) -> anyhow::Result<Vec<String>> {
    run_for(settings, &Target::Single).await
}

/// Applies pending migrations for `target`; returns the names applied.
pub async fn run_for(settings: &Settings, target: &Target) -> anyhow::Result<Vec<String>> {
    let urls = settings.clickhouse_urls.clone();
    match target {
        Target::Single if urls.len() > 1 => bail!(
            "CLICKHOUSE_URL lists {} servers: replicas of a cluster are migrated once with \
             `migrate --cluster NAME` (ON CLUSTER); a single server takes one URL",
            urls.len()
        ),
        Target::Single => finish(settings, &urls[0], target).await,
        Target::Cluster(_) => {
            // ON CLUSTER runs every statement on every node: one reachable node is enough.
            let mut last = None;
            for url in &urls {
                match reachable(settings, url).await {
                    Ok(()) => return finish(settings, url, target).await,
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| anyhow::anyhow!("CLICKHOUSE_URL is empty")))
        }
    }
}

/// The files, then the retention TTLs, then the rebuild notice, all through `url`.
async fn finish(settings: &Settings, url: &str, target: &Target) -> anyhow::Result<Vec<String>> {
    let applied = migrate(settings, url, target).await?;
    let client = db::client(settings, url, Some(&settings.clickhouse_database));
    retention::apply(&client, settings, target)
        .await
        .with_context(|| format!("setting retention TTLs through {url}"))?;
    if let Some(notice) = retention::backfill_notice(&client, target).await? {
        eprintln!("{notice}");
    }
    Ok(applied)
}

async fn reachable(settings: &Settings, url: &str) -> anyhow::Result<()> {
    db::client(settings, url, None)
        .query("SELECT 1")
        .execute()
        .await
        .with_context(|| format!("cannot reach ClickHouse at {url}"))
}

async fn migrate(settings: &Settings, url: &str, target: &Target) -> anyhow::Result<Vec<String>> {
    reachable(settings, url).await?;
    let server = db::client(settings, url, None);
    let database = &settings.clickhouse_database;
    // The name was checked to be a plain identifier when the settings were read.
    let create_database = match target {
        Target::Single => format!("CREATE DATABASE IF NOT EXISTS {database}"),
        Target::Cluster(name) => {
            format!("CREATE DATABASE IF NOT EXISTS {database} ON CLUSTER '{name}'")
        }
    };
    server
        .query(&create_database)
        .execute()
        .await
        .with_context(|| format!("creating database {database}"))?;
    let client = db::client(settings, url, Some(database));
    let tracking = match target {
        Target::Single => TRACKING_TABLE.to_owned(),
        Target::Cluster(_) => target.render(CLUSTER_TRACKING_TABLE, database),
    };
    client
        .query(&tracking)
        .execute()
        .await
        .context("creating schema_migrations")?;
    let done: Vec<Applied> = client
        .query("SELECT name, checksum FROM schema_migrations FINAL")
        .fetch_all::<Applied>()
        .await
        .context("reading schema_migrations")?;
    // An applied file that changed since would silently leave the old tables in place.
    if let Some((name, _)) = target.migrations().iter().find(|(name, text)| {
        done.iter()
            .any(|d| d.name == *name && d.checksum != checksum(text))
    }) {
        bail!(
            "schema/{name} changed since it was applied to {url}: this database predates the \
             current data layout; migrate a fresh database and load it (then \
             `cdrstats rollups rebuild`)"
        );
    }
    let done: Vec<String> = done.into_iter().map(|a| a.name).collect();

    let mut applied = Vec::new();
    for (name, text) in target.migrations() {
        if done.iter().any(|d| d == name) {
            continue;
        }
        for (i, statement) in statements(text).into_iter().enumerate() {
            let statement = target.render(&statement, database);
            if let Err(e) = client.query(&statement).execute().await {
                bail!("schema/{name}, statement {}: {e}", i + 1);
            }
        }
        client
            .query("INSERT INTO schema_migrations (name, checksum) SELECT {n:String}, {c:String}")
            .param("n", name)
            .param("c", checksum(text))
            .execute()
            .await
            .with_context(|| format!("recording schema/{name}"))?;
        tracing::info!(url, name, "migration applied");
        applied.push((*name).to_owned());
    }
    Ok(applied)
}

/// Retention TTLs (set on every run, so changing a setting and re-running `migrate` applies it)
/// and the rebuild notice.
pub mod retention {
    use super::Target;
    use crate::cli::derived::DERIVED;
    use crate::config::Settings;
    use anyhow::Context;

    /// The raw tables and their time column; every derived table not listed here is a rollup.
    const RAW: &[(&str, &str)] = &[("cdrs", "time_start"), ("cdrs_by_customer", "time_start")];

    /// Every table with a retention limit, its time column and its limit in days (0 = keep).
    pub fn limits(settings: &Settings) -> Vec<(&'static str, &'static str, u32)> {
        let rollups = DERIVED
            .iter()
            .filter(|d| !RAW.iter().any(|(t, _)| *t == d.table))
            .map(|d| (d.table, d.time_column, settings.rollup_retention_days));
        RAW.iter()
            .map(|(t, c)| (*t, *c, settings.raw_retention_days))
            .chain(rollups)
            .collect()
    }

    /// The table that holds the rows: on a cluster the per-shard `<table>_local` (a TTL on the
    /// Distributed table would be refused: it stores nothing).
    pub fn storage_table(target: &Target, table: &str) -> String {
        match target {
            Target::Single => table.to_owned(),
            Target::Cluster(_) => format!("{table}_local"),
        }
    }

    /// The `ALTER TABLE` that sets (days > 0) or removes (days = 0, `had_ttl`) a table's TTL;
    /// `None` when there is nothing to do. On a cluster it runs `ON CLUSTER` on the replicated
    /// `_local` tables (docs: sql-reference/distributed-ddl, "the local version of the query will
    /// eventually be executed on each host in the cluster"; engines/table-engines/mergetree-family/
    /// replication: ALTER of a Replicated table is itself replicated through Keeper).
    pub fn ttl_statement(
        target: &Target,
        table: &str,
        column: &str,
        days: u32,
        had_ttl: bool,
    ) -> Option<String> {
        let on_cluster = match target {
            Target::Single => String::new(),
            Target::Cluster(name) => format!(" ON CLUSTER '{name}'"),
        };
        let table = storage_table(target, table);
        // Identifiers come from static lists, the cluster name was checked to be plain, and
        // `days` is an integer setting.
        if days > 0 {
            Some(format!(
                "ALTER TABLE {table}{on_cluster} MODIFY TTL {column} + INTERVAL {days} DAY DELETE"
            ))
        } else if had_ttl {
            Some(format!("ALTER TABLE {table}{on_cluster} REMOVE TTL"))
        } else {
            None
        }
    }

    /// `ALTER TABLE ... MODIFY TTL` for tables with a limit, `REMOVE TTL` for those that had one
    /// and are now unlimited (ClickHouse answers an error to REMOVE TTL on a table without one,
    /// so the current definition is checked first). Docs: sql-reference/statements/alter/ttl.
    /// With `ttl_only_drop_parts` and monthly partitions, expiry drops whole months.
    pub async fn apply(
        client: &clickhouse::Client,
        settings: &Settings,
        target: &Target,
    ) -> anyhow::Result<()> {
        for (table, column, days) in limits(settings) {
            let had_ttl = days == 0 && has_ttl(client, &storage_table(target, table)).await?;
            let Some(statement) = ttl_statement(target, table, column, days, had_ttl) else {
                continue;
            };
            client
                .query(&statement)
                .execute()
                .await
                .with_context(|| format!("TTL of {}", storage_table(target, table)))?;
        }
        Ok(())
    }

    async fn has_ttl(client: &clickhouse::Client, table: &str) -> anyhow::Result<bool> {
        let engine: String = client
            .query(
                "SELECT engine_full FROM system.tables \
                 WHERE database = currentDatabase() AND name = {t:String}",
            )
            .param("t", table)
            .fetch_one()
            .await
            .with_context(|| format!("reading the definition of {table}"))?;
        Ok(engine.contains(" TTL "))
    }

    /// A message when `cdrs` holds rows but a derived table is empty (an upgrade or a restore):
    /// migrations never backfill, the operator runs the resumable rebuild. On a cluster the
    /// counts go through the Distributed tables (every shard).
    pub async fn backfill_notice(
        client: &clickhouse::Client,
        target: &Target,
    ) -> anyhow::Result<Option<String>> {
        let raw: u64 = client
            .query("SELECT count() FROM cdrs")
            .fetch_one()
            .await
            .context("counting cdrs")?;
        if raw == 0 {
            return Ok(None);
        }
        let listed: u64 = client
            .query("SELECT count() FROM rollup_accounts")
            .fetch_one()
            .await
            .context("counting rollup_accounts")?;
        let mut empty = Vec::new();
        // With no account-side listed, the rollups are empty by design.
        for derived in DERIVED.iter().filter(|d| listed > 0 || !d.listed_only()) {
            let rows: u64 = client
                .query(&format!("SELECT count() FROM {}", derived.table))
                .fetch_one()
                .await
                .with_context(|| format!("counting {}", derived.table))?;
            if rows == 0 {
                empty.push(derived.table);
            }
        }
        let how = match target {
            Target::Single => "run `cdrstats rollups rebuild --from <first day> --to <last day>`",
            Target::Cluster(_) => {
                "rebuild them as schema/cluster/README.md describes (`cdrstats rollups \
                 rebuild` works on a single server only)"
            }
        };
        Ok((!empty.is_empty()).then(|| {
            format!(
                "cdrs holds {raw} rows but these derived tables are empty: {}; {how} \
                 (migrations never backfill)",
                empty.join(", ")
            )
        }))
    }
}

/// The checksum `schema_migrations` records for a file's text.
pub fn checksum(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_is_compiled_in_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/schema");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("schema dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, listed);
    }

    #[test]
    fn every_cluster_schema_file_is_compiled_in_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/cluster");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("schema/cluster dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<&str> = CLUSTER_MIGRATIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, listed);
    }

    /// Words of a statement: identifiers, quoted strings (quotes kept) and single punctuation.
    fn words(statement: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut chars = statement.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_whitespace() {
                continue;
            }
            if c == '\'' {
                let mut w = String::from(c);
                for d in chars.by_ref() {
                    w.push(d);
                    if d == '\'' {
                        break;
                    }
                }
                out.push(w);
            } else if c.is_alphanumeric() || c == '_' || c == '{' || c == '}' || c == '.' {
                let mut w = String::from(c);
                while let Some(&d) = chars.peek() {
                    if d.is_alphanumeric() || matches!(d, '_' | '{' | '}' | '.') {
                        w.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(w);
            } else {
                out.push(c.to_string());
            }
        }
        out
    }

    /// (objects a statement creates, objects it names that must already exist). Covers the
    /// shapes our DDL uses: `CREATE <kind> IF NOT EXISTS name`, `AS table ENGINE`, a view's
    /// `TO` and `FROM`, `Distributed(cluster, db, table, ...)`, a user's `SETTINGS PROFILE
    /// 'name'`, and the grantee of a quota or grant (`TO user`).
    fn dependencies(statement: &str) -> (Vec<String>, Vec<String>) {
        let w = words(statement);
        let upper: Vec<String> = w.iter().map(|x| x.to_ascii_uppercase()).collect();
        let unquote = |s: &str| s.trim_matches('\'').to_owned();
        let mut created = Vec::new();
        let mut referenced = Vec::new();
        for i in 0..w.len() {
            let next = |k: usize| w.get(i + k).map(|s| unquote(s)).unwrap_or_default();
            match upper[i].as_str() {
                "EXISTS" if upper.first().is_some_and(|f| f == "CREATE") && created.is_empty() => {
                    created.push(next(1));
                }
                "AS" if upper.get(i + 2).is_some_and(|n| n == "ENGINE") => referenced.push(next(1)),
                "TO" | "FROM" => referenced.push(next(1)),
                "PROFILE"
                    if upper.first().is_some_and(|f| f == "CREATE")
                        && upper.get(1).is_some_and(|k| k == "USER") =>
                {
                    referenced.push(next(1));
                }
                "DISTRIBUTED" if upper.get(i + 1).is_some_and(|p| p == "(") => {
                    // The third argument at depth 1: the local table.
                    let (mut depth, mut arg) = (0, 0);
                    for (j, x) in w.iter().enumerate().skip(i + 1) {
                        match x.as_str() {
                            "(" => depth += 1,
                            ")" => depth -= 1,
                            "," if depth == 1 => arg += 1,
                            _ if depth == 1 && arg == 2 && upper[j] != "(" => {
                                referenced.push(unquote(x));
                                break;
                            }
                            _ => {}
                        }
                        if depth == 0 {
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
        // ALTER SETTINGS PROFILE [IF EXISTS] name: the profile must exist already.
        if upper.starts_with(&["ALTER".into(), "SETTINGS".into(), "PROFILE".into()]) {
            let skip = if upper.get(3).is_some_and(|x| x == "IF") {
                5
            } else {
                3
            };
            referenced.push(w.get(skip).map(|s| unquote(s)).unwrap_or_default());
        }
        (created, referenced)
    }

    /// Objects of `files` (in order) referenced before any statement created them.
    fn used_before_created(files: &[(&str, &str)]) -> Vec<String> {
        let mut known: Vec<String> = Vec::new();
        let mut problems = Vec::new();
        for (name, text) in files {
            for statement in statements(text) {
                let (created, referenced) = dependencies(&statement);
                for r in referenced {
                    if !known.contains(&r) && !created.contains(&r) {
                        problems.push(format!("{name}: {r} used before it is created"));
                    }
                }
                known.extend(created);
            }
        }
        problems
    }

    /// Static: no cluster runs here (the local engine has no `remote_servers` or Keeper).
    #[test]
    fn statically_every_object_a_cluster_ddl_file_names_is_created_earlier_in_migrate_order() {
        assert_eq!(
            used_before_created(CLUSTER_MIGRATIONS),
            Vec::<String>::new()
        );
        assert_eq!(used_before_created(MIGRATIONS), Vec::<String>::new());
        // The checker sees what matters: every file creates something, and the references
        // of the cluster files are the ones we know of.
        let mut all_refs = Vec::new();
        for (_, text) in CLUSTER_MIGRATIONS {
            for statement in statements(text) {
                all_refs.extend(dependencies(&statement).1);
            }
        }
        for must in [
            "cdrs_local",
            "cdrs_by_customer",
            "rollup_minute_country",
            "rollup_minute_country_local",
            "rollup_minute_local",
            "cdrstats_gateway_profile",
            "cdrstats_gateway",
        ] {
            assert!(all_refs.iter().any(|r| r == must), "{must} not seen");
        }
    }

    /// The cluster's pipeline profile and `cdrstats seed` insert with the same settings.
    #[test]
    fn the_cluster_pipeline_profile_sets_the_pipeline_insert_settings() {
        let (_, text) = CLUSTER_MIGRATIONS
            .iter()
            .find(|(name, _)| *name == "901_pipeline_insert_speed.sql")
            .expect("901 is applied on a cluster");
        let statement = statements(text).concat();
        let (_, settings) = statement
            .split_once("MODIFY SETTINGS")
            .expect("a MODIFY SETTINGS clause");
        let pairs: Vec<(String, String)> = settings
            .split(',')
            .map(|p| {
                let (n, v) = p.split_once('=').expect("name = value");
                (
                    n.trim().to_owned(),
                    v.trim().trim_end_matches(';').to_owned(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = crate::db::PIPELINE_INSERT_SETTINGS
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(pairs, expected);
        assert_eq!(
            dependencies(&statement).1,
            vec!["cdrstats_pipeline_profile".to_owned()],
            "the profile it alters is checked to exist (created in 900)"
        );
    }

    #[test]
    fn a_quota_for_a_user_created_later_is_caught() {
        // The order the server rejected: the quota names a user that does not exist yet.
        let wrong = "CREATE QUOTA IF NOT EXISTS q ON CLUSTER '{cluster}' \
                     FOR INTERVAL 1 hour MAX queries = 1 TO gw;\n\
                     CREATE USER IF NOT EXISTS gw ON CLUSTER '{cluster}' \
                     SETTINGS PROFILE 'p';";
        assert_eq!(
            used_before_created(&[("x.sql", wrong)]),
            vec![
                "x.sql: gw used before it is created",
                "x.sql: p used before it is created"
            ]
        );
        let view_first = "CREATE MATERIALIZED VIEW IF NOT EXISTS v TO r AS SELECT 1 FROM s;\n\
                          CREATE TABLE IF NOT EXISTS r AS s ENGINE = Distributed('c', db, s, 1);";
        assert_eq!(
            used_before_created(&[("y.sql", view_first)]),
            vec![
                "y.sql: r used before it is created",
                "y.sql: s used before it is created",
                "y.sql: s used before it is created",
                "y.sql: s used before it is created"
            ]
        );
    }

    /// Static: no cluster runs here.
    #[test]
    fn statically_cluster_ddl_runs_on_every_node_with_replicated_or_distributed_engines() {
        for (name, text) in CLUSTER_MIGRATIONS {
            for statement in statements(text) {
                // INSERT has no ON CLUSTER; rollup_accounts is replicated in full on every node.
                if statement.starts_with("INSERT INTO rollup_accounts ") {
                    continue;
                }
                assert!(
                    statement.contains("ON CLUSTER '{cluster}'"),
                    "{name}: every statement runs ON CLUSTER: {statement}"
                );
                if let Some(engine) = statement.split("ENGINE = ").nth(1) {
                    assert!(
                        engine.starts_with("Replicated") || engine.starts_with("Distributed("),
                        "{name}: a plain MergeTree on a cluster is one unreplicated copy per node"
                    );
                }
            }
        }
        let target = Target::Cluster("prod".into());
        let rendered = target.render(
            "GRANT ON CLUSTER '{cluster}' SELECT ON {target_database}.* TO u",
            "stats",
        );
        assert_eq!(rendered, "GRANT ON CLUSTER 'prod' SELECT ON stats.* TO u");
        assert!(Target::from_arg(Some("prod'; DROP")).is_err());
        assert_eq!(Target::from_arg(None).expect("single"), Target::Single);
    }

    /// Static: no cluster runs here.
    #[test]
    fn statically_distributed_tables_shard_by_the_account_each_side_queries() {
        let text: String = CLUSTER_MIGRATIONS.iter().map(|(_, t)| *t).collect();
        // Termination reads cdrs by vendor, origination reads cdrs_by_customer by customer.
        assert!(text.contains("cdrs_local, cityHash64(vendor_acc_id))"));
        assert!(text.contains("cdrs_by_customer_local, cityHash64(customer_acc_id))"));
        for rollup in [
            "rollup_minute",
            "rollup_minute_country",
            "rollup_minute_destination",
            "rollup_hour_destination",
            "rollup_hour_dst_country",
            "rollup_minute_disconnect",
        ] {
            assert!(text.contains(&format!(
                "Distributed('{{cluster}}', currentDatabase(), {rollup}_local, cityHash64(account_id))"
            )));
        }
        // Views on raw CDRs route rows through the Distributed tables; the view of a view stays
        // on its shard (same sharding key, checked by schema_parity::views_keep_rows_on_their_shard).
        for view in [
            "cdrs_by_customer",
            "rollup_minute_country",
            "rollup_minute_destination",
            "rollup_minute_disconnect",
        ] {
            assert!(text.contains(&format!("TO {view} AS")), "{view}_mv");
        }
        assert!(text.contains("TO rollup_minute_local AS"));
        assert!(text.contains("FROM rollup_minute_country_local\nGROUP BY"));
        assert!(text.contains("TO rollup_hour_destination_local AS"));
        assert!(text.contains("FROM rollup_minute_destination_local\nGROUP BY"));
        assert!(text.contains("optimize_skip_unused_shards = 1"));
    }

    #[test]
    fn retention_ttls_go_to_the_local_tables_on_cluster_and_to_the_tables_on_a_single_server() {
        let cluster = Target::Cluster("prod".into());
        assert_eq!(
            retention::ttl_statement(&cluster, "cdrs", "time_start", 90, false).as_deref(),
            Some(
                "ALTER TABLE cdrs_local ON CLUSTER 'prod' MODIFY TTL time_start + INTERVAL 90 DAY DELETE"
            )
        );
        assert_eq!(
            retention::ttl_statement(&cluster, "rollup_minute", "minute", 0, true).as_deref(),
            Some("ALTER TABLE rollup_minute_local ON CLUSTER 'prod' REMOVE TTL")
        );
        assert_eq!(
            retention::ttl_statement(&Target::Single, "cdrs", "time_start", 7, false).as_deref(),
            Some("ALTER TABLE cdrs MODIFY TTL time_start + INTERVAL 7 DAY DELETE")
        );
        assert_eq!(
            retention::ttl_statement(&cluster, "cdrs", "time_start", 0, false),
            None
        );
        // Every table a TTL is set on exists in the cluster schema under its _local name.
        let settings: crate::config::Settings = envy::from_iter([
            ("RAW_RETENTION_DAYS".to_owned(), "90".to_owned()),
            ("ROLLUP_RETENTION_DAYS".to_owned(), "400".to_owned()),
        ])
        .expect("settings");
        let text: String = CLUSTER_MIGRATIONS.iter().map(|(_, t)| *t).collect();
        let limits = retention::limits(&settings);
        assert!(limits.len() >= 5, "{limits:?}");
        assert!(limits.contains(&("cdrs_by_customer", "time_start", 90)));
        assert!(limits.contains(&("rollup_minute", "minute", 400)));
        for (table, _, _) in limits {
            let local = retention::storage_table(&cluster, table);
            assert!(
                text.contains(&format!("CREATE TABLE IF NOT EXISTS {local} ON CLUSTER")),
                "{local}"
            );
        }
    }

    #[test]
    fn every_schema_file_has_statements_and_no_placeholder_mark() {
        for (_, text) in MIGRATIONS.iter().chain(CLUSTER_MIGRATIONS) {
            assert!(!statements(text).is_empty());
            assert!(!text.contains('?'), "the driver reads `?` as a placeholder");
        }
    }
}
