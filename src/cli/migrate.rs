//! `cdrstats migrate`: applies `schema/` in order to every configured replica, once per file.

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
    migration!("010_family.sql"),
];

const TRACKING_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
     (name String, checksum String, applied_at DateTime('UTC') DEFAULT now()) \
     ENGINE = ReplacingMergeTree ORDER BY name";

#[derive(Row, Deserialize)]
struct Applied {
    name: String,
}

/// Applies pending migrations to every replica; returns the names applied (per replica).
pub async fn run(settings: &Settings) -> anyhow::Result<Vec<String>> {
    let mut applied = Vec::new();
    for url in settings.clickhouse_urls() {
        applied.extend(migrate_one(settings, &url).await?);
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
    let done: Vec<String> = client
        .query("SELECT name FROM schema_migrations FINAL")
        .fetch_all::<Applied>()
        .await
        .context("reading schema_migrations")?
        .into_iter()
        .map(|a| a.name)
        .collect();

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
