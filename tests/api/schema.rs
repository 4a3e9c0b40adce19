//! The cluster variant of the schema cannot run here (no cluster), but ClickHouse's own parser
//! can check every statement of it, exactly as `migrate --cluster` sends it.

use crate::helpers::engine_url;

#[tokio::test]
async fn every_cluster_schema_statement_parses() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/cluster");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("schema/cluster")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let client = clickhouse::Client::default().with_url(engine_url());
    let target = cdrstats::cli::migrate::Target::Cluster("prod".into());
    let mut statements = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for statement in cdrstats::ddl::statements(&text) {
            let statement = target.render(&statement, "cdrstats");
            let formatted: String = client
                .query("SELECT formatQuery({q:String})")
                .param("q", &statement)
                .fetch_one()
                .await
                .unwrap_or_else(|e| panic!("{}: {e}\n{statement}", file.display()));
            assert!(!formatted.is_empty());
            statements += 1;
        }
    }
    assert!(statements >= 12, "{statements}");
}

/// No cluster runs here: ClickHouse's parser checks the retention statements exactly as
/// `migrate --cluster` sends them (on the `_local` tables, `ON CLUSTER`), both directions.
#[tokio::test]
async fn the_cluster_retention_statements_parse_and_name_the_local_tables() {
    use cdrstats::cli::migrate::retention::{limits, ttl_statement};
    let settings: cdrstats::config::Settings = envy::from_iter([
        ("RAW_RETENTION_DAYS".to_owned(), "90".to_owned()),
        ("ROLLUP_RETENTION_DAYS".to_owned(), "400".to_owned()),
    ])
    .expect("settings");
    let client = clickhouse::Client::default().with_url(engine_url());
    let target = cdrstats::cli::migrate::Target::Cluster("prod".into());
    let mut parsed = 0;
    for (table, column, days) in limits(&settings) {
        for (days, had_ttl) in [(days, false), (0, true)] {
            let statement = ttl_statement(&target, table, column, days, had_ttl).expect("a TTL");
            assert!(
                statement.starts_with(&format!("ALTER TABLE {table}_local ON CLUSTER 'prod' ")),
                "{statement}"
            );
            let formatted: String = client
                .query("SELECT formatQuery({q:String})")
                .param("q", &statement)
                .fetch_one()
                .await
                .unwrap_or_else(|e| panic!("{e}\n{statement}"));
            assert!(formatted.contains("TTL"), "{formatted}");
            parsed += 1;
        }
    }
    assert!(parsed >= 10, "{parsed}");
}
