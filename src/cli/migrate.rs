//! `cdrstats migrate`: applies `schema/` in order to every configured replica, once per file,
//! then sets the retention TTLs from `RAW_RETENTION_DAYS` / `ROLLUP_RETENTION_DAYS`. It never
//! backfills derived tables: a database that holds CDRs but empty rollups is told to run
//! `cdrstats rollups rebuild`.

use crate::config::Settings;
use crate::db;
use anyhow::{Context, bail};
use clickhouse::Row;
use serde::Deserialize;
use sha2::{Digest, Sha256};

macro_rules! migration {
    ($name:literal) => {
        ($name, include_str!(concat!("../../schema/", $name)))
    };
}

/// The schema files, compiled in so the binary migrates without the source tree. A unit test
/// checks this list against the `schema/` folder.
pub const MIGRATIONS: &[(&str, &str)] = &[
    migration!("001_cdrs.sql"),
    migration!("002_accounts.sql"),
    migration!("003_api_access.sql"),
    migration!("004_rollups.sql"),
];

const TRACKING_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
     (name String, checksum String, applied_at DateTime('UTC') DEFAULT now()) \
     ENGINE = ReplacingMergeTree ORDER BY name";

#[derive(Row, Deserialize)]
struct Applied {
    name: String,
    checksum: String,
}

/// Applies pending migrations to every replica; returns the names applied (per replica).
pub async fn run(settings: &Settings) -> anyhow::Result<Vec<String>> {
    let mut applied = Vec::new();
    for url in settings.clickhouse_urls() {
        applied.extend(migrate_one(settings, &url).await?);
        let client = db::client(settings, &url, Some(&settings.clickhouse_database));
        retention::apply(&client, settings)
            .await
            .with_context(|| format!("setting retention TTLs on {url}"))?;
        if let Some(notice) = retention::backfill_notice(&client).await? {
            eprintln!("{notice}");
        }
    }
    Ok(applied)
}

async fn migrate_one(settings: &Settings, url: &str) -> anyhow::Result<Vec<String>> {
    let server = db::client(settings, url, None);
    server
        .query("SELECT 1")
        .execute()
        .await
        .with_context(|| format!("cannot reach ClickHouse at {url}"))?;
    let database = &settings.clickhouse_database;
    // The name was checked to be a plain identifier when the settings were read.
    server
        .query(&format!("CREATE DATABASE IF NOT EXISTS {database}"))
        .execute()
        .await
        .with_context(|| format!("creating database {database}"))?;
    let client = db::client(settings, url, Some(database));
    client
        .query(TRACKING_TABLE)
        .execute()
        .await
        .context("creating schema_migrations")?;
    let done: Vec<Applied> = client
        .query("SELECT name, checksum FROM schema_migrations FINAL")
        .fetch_all::<Applied>()
        .await
        .context("reading schema_migrations")?;
    // An applied file that changed since would silently leave the old tables in place.
    if let Some((name, _)) = MIGRATIONS.iter().find(|(name, text)| {
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
    for (name, text) in MIGRATIONS {
        if done.iter().any(|d| d == name) {
            continue;
        }
        for (i, statement) in statements(text).into_iter().enumerate() {
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
mod retention {
    use crate::cli::rollups::DERIVED;
    use crate::config::Settings;
    use anyhow::Context;

    /// The raw tables and their time column; every derived table not listed here is a rollup.
    const RAW: &[(&str, &str)] = &[("cdrs", "time_start"), ("cdrs_by_customer", "time_start")];

    /// `ALTER TABLE ... MODIFY TTL` for tables with a limit, `REMOVE TTL` for those that had one
    /// and are now unlimited (ClickHouse answers an error to REMOVE TTL on a table without one,
    /// so the current definition is checked first). Docs: sql-reference/statements/alter/ttl.
    /// With `ttl_only_drop_parts` and daily partitions, expiry drops whole days.
    pub async fn apply(client: &clickhouse::Client, settings: &Settings) -> anyhow::Result<()> {
        let rollups = DERIVED
            .iter()
            .filter(|d| !RAW.iter().any(|(t, _)| *t == d.table))
            .map(|d| (d.table, d.time_column));
        for (table, column) in RAW.iter().copied().chain(rollups) {
            let days = if RAW.iter().any(|(t, _)| *t == table) {
                settings.raw_retention_days
            } else {
                settings.rollup_retention_days
            };
            // Identifiers come from the static lists above; `days` is an integer setting.
            let statement = if days > 0 {
                format!("ALTER TABLE {table} MODIFY TTL {column} + INTERVAL {days} DAY DELETE")
            } else if has_ttl(client, table).await? {
                format!("ALTER TABLE {table} REMOVE TTL")
            } else {
                continue;
            };
            client
                .query(&statement)
                .execute()
                .await
                .with_context(|| format!("TTL of {table}"))?;
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
    /// migrations never backfill, the operator runs the resumable rebuild.
    pub async fn backfill_notice(client: &clickhouse::Client) -> anyhow::Result<Option<String>> {
        let raw: u64 = client
            .query("SELECT count() FROM cdrs")
            .fetch_one()
            .await
            .context("counting cdrs")?;
        if raw == 0 {
            return Ok(None);
        }
        let mut empty = Vec::new();
        for derived in DERIVED {
            let rows: u64 = client
                .query(&format!("SELECT count() FROM {}", derived.table))
                .fetch_one()
                .await
                .with_context(|| format!("counting {}", derived.table))?;
            if rows == 0 {
                empty.push(derived.table);
            }
        }
        Ok((!empty.is_empty()).then(|| {
            format!(
                "cdrs holds {raw} rows but these derived tables are empty: {}; run \
                 `cdrstats rollups rebuild --from <first day> --to <last day>` \
                 (migrations never backfill)",
                empty.join(", ")
            )
        }))
    }
}

/// Splits a schema file into statements: `--` comment lines dropped, split at `;`.
/// Our schema files keep `;` out of strings, which this relies on.
pub fn statements(text: &str) -> Vec<String> {
    let without_comments: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn checksum(text: &str) -> String {
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
    fn statements_split_and_drop_comments() {
        let s =
            statements("-- a; comment\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\nSELECT 1;\n");
        assert_eq!(
            s,
            vec!["CREATE TABLE a (x UInt8) ENGINE = Memory", "SELECT 1"]
        );
        for (_, text) in MIGRATIONS {
            assert!(!statements(text).is_empty());
            assert!(!text.contains('?'), "the driver reads `?` as a placeholder");
        }
    }
}
