//! The cluster schema (`schema/cluster/`) must mirror the single-server schema (`schema/`)
//! exactly: same tables with the same column definitions (types and codecs), the same engine
//! family, partitioning, ordering and settings, and the same view queries. This module parses
//! both from their DDL (no server needed) and lists every difference, so a change to one that
//! is not made to the other fails a unit test instead of a cluster deployment.
//!
//! What "counterpart" means on a cluster:
//! - a single-server table `T` becomes `T_local` (engine `Replicated` + the same engine, the
//!   same engine arguments after the Keeper path and replica name) plus `T`, a `Distributed`
//!   table over `T_local` — or, for small directory tables read on every node, `T` itself
//!   replicated in full on every node;
//! - a view `V` keeps its name and SELECT; it may read `S_local` instead of `S` and write into
//!   `T` (Distributed: rows routed to their shard) or `T_local` (rows stay on this shard).

use crate::ddl::{self, Create, first_word};

/// A parsed `CREATE` statement of the shapes our schema uses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Object {
    /// `CREATE TABLE name (columns) ENGINE = engine(args) tail`.
    Table {
        name: String,
        columns: Vec<String>,
        engine: String,
        args: Vec<String>,
        /// `PARTITION BY ... ORDER BY ... SETTINGS ...`, whitespace-normalized.
        tail: String,
    },
    /// `CREATE TABLE name AS local ENGINE = Distributed(cluster, db, local, key)`.
    Distributed {
        name: String,
        local: String,
        args: Vec<String>,
    },
    /// `CREATE MATERIALIZED VIEW name TO target AS select`.
    View {
        name: String,
        target: String,
        select: String,
    },
}

impl Object {
    fn name(&self) -> &str {
        match self {
            Self::Table { name, .. } | Self::Distributed { name, .. } | Self::View { name, .. } => {
                name
            }
        }
    }
}

/// The shape of a parsed `CREATE` this comparison looks at; `None` for others.
fn object(create: Create) -> Option<Object> {
    match create {
        Create::Table {
            name,
            columns,
            engine,
        } => Some(Object::Table {
            name,
            columns,
            engine: engine.name,
            args: engine.args,
            tail: engine.tail,
        }),
        Create::TableAs {
            name,
            source,
            engine,
        } if engine.name == "Distributed" => Some(Object::Distributed {
            name,
            local: source,
            args: engine.args,
        }),
        Create::View {
            name,
            target: Some(target),
            select,
        } => Some(Object::View {
            name,
            target,
            select,
        }),
        Create::TableAs { .. } | Create::View { .. } => None,
    }
}

/// A change a later migration makes to an object created earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    /// `ALTER TABLE name ADD COLUMN IF NOT EXISTS definition`.
    AddColumn { table: String, column: String },
    /// `ALTER TABLE view MODIFY QUERY select`.
    ModifyQuery { view: String, select: String },
    /// `ALTER TABLE name MODIFY COLUMN column CODEC(...)`: the column's codec, nothing else.
    ModifyCodec {
        table: String,
        column: String,
        codec: String,
    },
    /// `DROP TABLE|VIEW IF EXISTS name`: a later file removed the object.
    Drop { name: String },
}

/// Parses an `ALTER TABLE` of the shapes our schema uses; `None` for other statements.
fn parse_change(statement: &str) -> Option<Change> {
    let s = statement
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" ON CLUSTER '{cluster}'", "");
    if let Some(name) = ddl::dropped(&s) {
        return Some(Change::Drop { name });
    }
    let (name, rest) = ddl::first_word(s.strip_prefix("ALTER TABLE ")?);
    if let Some(column) = rest.strip_prefix("ADD COLUMN IF NOT EXISTS ") {
        return Some(Change::AddColumn {
            table: name.to_owned(),
            column: column.trim_end_matches(';').trim().to_owned(),
        });
    }
    if let Some(change) = rest.strip_prefix("MODIFY COLUMN ") {
        let (column, codec) = ddl::first_word(change);
        return codec.starts_with("CODEC(").then(|| Change::ModifyCodec {
            table: name.to_owned(),
            column: column.to_owned(),
            codec: codec.trim_end_matches(';').trim().to_owned(),
        });
    }
    let select = rest.strip_prefix("MODIFY QUERY ")?;
    Some(Change::ModifyQuery {
        view: name.to_owned(),
        select: select.trim_end_matches(';').trim().to_owned(),
    })
}

/// The objects the files leave behind, in order: a later definition of a name (a view dropped
/// and created again by a later file) replaces the earlier one, and a later `ALTER TABLE` adds
/// its column to the table (a Distributed table keeps no column list here) or replaces the
/// view's query.
fn objects(files: &[(&str, &str)]) -> Vec<Object> {
    let mut all: Vec<Object> = Vec::new();
    for statement in files.iter().flat_map(|(_, text)| ddl::statements(text)) {
        if let Some(object) = ddl::create(&statement).and_then(object) {
            all.retain(|o| o.name() != object.name());
            all.push(object);
            continue;
        }
        match parse_change(&statement) {
            Some(Change::AddColumn { table, column }) => {
                for o in &mut all {
                    if let Object::Table { name, columns, .. } = o
                        && *name == table
                    {
                        columns.push(column.clone());
                    }
                }
            }
            Some(Change::ModifyCodec {
                table,
                column,
                codec,
            }) => {
                for o in &mut all {
                    if let Object::Table { name, columns, .. } = o
                        && *name == table
                    {
                        for definition in columns.iter_mut() {
                            if ddl::first_word(definition).0 == column {
                                *definition = with_codec(definition, &codec);
                            }
                        }
                    }
                }
            }
            Some(Change::ModifyQuery { view, select: new }) => {
                for o in &mut all {
                    if let Object::View { name, select, .. } = o
                        && *name == view
                    {
                        select.clone_from(&new);
                    }
                }
            }
            Some(Change::Drop { name }) => all.retain(|o| o.name() != name),
            None => {}
        }
    }
    all
}

/// A column definition with its codec replaced by `codec` (`CODEC(...)`, last in a definition).
fn with_codec(definition: &str, codec: &str) -> String {
    let kept = definition
        .find(" CODEC(")
        .map_or(definition, |at| &definition[..at]);
    format!("{kept} {codec}")
}

/// Every difference between the single-server schema and the cluster schema, as sentences;
/// empty when the cluster mirrors the single server.
pub fn drift(single: &[(&str, &str)], cluster: &[(&str, &str)]) -> Vec<String> {
    let single = objects(single);
    let cluster = objects(cluster);
    let find = |name: &str| cluster.iter().find(|o| o.name() == name);
    let mut problems = Vec::new();
    // Cluster tables accounted for by some single-server object.
    let mut matched: Vec<String> = Vec::new();
    for object in &single {
        match object {
            Object::Table {
                name,
                columns,
                engine,
                args,
                tail,
            } => {
                // The replicated table holding the data: T_local behind a Distributed T, or T.
                let replicated = match find(name) {
                    Some(Object::Distributed {
                        local, args: dargs, ..
                    }) => {
                        matched.push(name.clone());
                        if dargs.get(2) != Some(local) || *local != format!("{name}_local") {
                            problems.push(format!(
                                "{name}: the Distributed table must read {name}_local, reads {:?}",
                                dargs.get(2)
                            ));
                        }
                        if dargs.get(3).is_none() {
                            problems
                                .push(format!("{name}: the Distributed table has no sharding key"));
                        }
                        local.clone()
                    }
                    Some(Object::Table { .. }) => name.clone(),
                    Some(Object::View { .. }) | None => {
                        problems.push(format!("{name}: no cluster counterpart"));
                        continue;
                    }
                };
                let Some(Object::Table {
                    columns: c_columns,
                    engine: c_engine,
                    args: c_args,
                    tail: c_tail,
                    ..
                }) = find(&replicated)
                else {
                    problems.push(format!(
                        "{name}: no replicated table {replicated} on the cluster"
                    ));
                    continue;
                };
                matched.push(replicated.clone());
                for (i, column) in columns.iter().enumerate() {
                    match c_columns.get(i) {
                        Some(c) if c == column => {}
                        Some(c) => problems.push(format!(
                            "{name}: column {} is `{column}` on a single server, `{c}` in {replicated}",
                            i + 1
                        )),
                        None => problems.push(format!("{replicated}: column `{column}` missing")),
                    }
                }
                for extra in c_columns.iter().skip(columns.len()) {
                    problems.push(format!("{replicated}: extra column `{extra}`"));
                }
                if *c_engine != format!("Replicated{engine}") {
                    problems.push(format!(
                        "{replicated}: engine {c_engine}, expected Replicated{engine}"
                    ));
                }
                let path_names_table = c_args
                    .first()
                    .is_some_and(|p| p.ends_with(&format!("/{replicated}'")));
                if c_args.len() != args.len() + 2 || c_args[2..] != args[..] || !path_names_table {
                    problems.push(format!(
                        "{replicated}: engine arguments {c_args:?}, expected the Keeper path \
                         '.../{replicated}', '{{replica}}' and then {args:?}"
                    ));
                }
                if c_tail != tail {
                    problems.push(format!(
                        "{replicated}: `{c_tail}`, on a single server `{tail}`"
                    ));
                }
            }
            Object::View {
                name,
                target,
                select,
            } => {
                let Some(Object::View {
                    target: c_target,
                    select: c_select,
                    ..
                }) = find(name)
                else {
                    problems.push(format!("{name}: no cluster counterpart"));
                    continue;
                };
                matched.push(name.clone());
                if *c_target != *target && *c_target != format!("{target}_local") {
                    problems.push(format!(
                        "{name}: writes into {c_target}, expected {target} or {target}_local"
                    ));
                }
                // The same SELECT, reading the source's local table (the first FROM: later ones
                // belong to subqueries, such as the listing's IN, which read full-copy tables).
                let (head, source) = select
                    .split_once(" FROM ")
                    .map_or((select.as_str(), ""), |(h, s)| (h, s));
                let (source_table, source_rest) = first_word(source);
                let local = format!(
                    "{head} FROM {source_table}_local{}{source_rest}",
                    if source_rest.is_empty() { "" } else { " " }
                );
                if *c_select != *select && *c_select != local {
                    problems.push(format!(
                        "{name}: SELECT differs:\n  single:  {select}\n  cluster: {c_select}"
                    ));
                }
            }
            Object::Distributed { name, .. } => {
                problems.push(format!(
                    "{name}: a Distributed table in the single-server schema"
                ));
            }
        }
    }
    for object in &cluster {
        if !matched.iter().any(|m| m == object.name()) {
            problems.push(format!(
                "{}: on the cluster only, no single-server counterpart",
                object.name()
            ));
        }
    }
    problems
}

/// Every Distributed table of `cluster` with its sharding key.
pub fn sharding_keys(cluster: &[(&str, &str)]) -> Vec<(String, String)> {
    objects(cluster)
        .into_iter()
        .filter_map(|o| match o {
            Object::Distributed { name, args, .. } => Some((name, args.get(3)?.clone())),
            _ => None,
        })
        .collect()
}

/// The sharding key of the Distributed table `table` in `cluster`, if it is one.
pub fn sharding_key(cluster: &[(&str, &str)], table: &str) -> Option<String> {
    objects(cluster).into_iter().find_map(|o| match o {
        Object::Distributed { name, args, .. } if name == table => args.get(3).cloned(),
        _ => None,
    })
}

/// The cluster's views, checked for where their rows land: every view reads a `_local` table
/// (a view fires on the node that receives an insert into its source; the pipeline inserts into
/// the local tables, so a view on a Distributed table would never fire), and a view that writes
/// into a `_local` table (no routing) reads a table sharded by the same key as its target, so a
/// row already on its account's shard stays there — unless the target's Distributed table is
/// sharded by `rand()`: no account owns its rows, they are per-shard facts derived on each
/// shard (the active-call snapshot list), read only as the union of the shards.
/// Lists the violations.
pub fn views_keep_rows_on_their_shard(cluster: &[(&str, &str)]) -> Vec<String> {
    let cluster = objects(cluster);
    let key_of = |local: &str| {
        cluster.iter().find_map(|o| match o {
            Object::Distributed { local: l, args, .. } if l == local => args.get(3).cloned(),
            _ => None,
        })
    };
    let mut problems = Vec::new();
    for object in &cluster {
        let Object::View {
            name,
            target,
            select,
        } = object
        else {
            continue;
        };
        // The first FROM is the view's source; later ones belong to subqueries (the listing's IN).
        let source = select
            .split_once(" FROM ")
            .map(|(_, rest)| first_word(rest).0)
            .unwrap_or_default();
        if !source.ends_with("_local") {
            problems.push(format!("{name}: reads {source}, not a _local table"));
        }
        let per_shard_facts = cluster.iter().any(|o| {
            matches!(o, Object::Distributed { local, args, .. }
                if local == target && args.get(3).is_some_and(|k| k == "rand()"))
        });
        if target.ends_with("_local") && !per_shard_facts {
            let (from_key, to_key) = (key_of(source), key_of(target));
            if from_key.is_none() || from_key != to_key {
                problems.push(format!(
                    "{name}: writes into {target} (sharded by {to_key:?}) from {source} \
                     (sharded by {from_key:?}): rows would land on the wrong shard"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::migrate::{CLUSTER_MIGRATIONS, MIGRATIONS};

    /// Static (no cluster runs here): the guard that keeps `schema/cluster/` in step with
    /// `schema/`.
    #[test]
    fn statically_every_single_server_object_has_an_identical_cluster_counterpart() {
        assert_eq!(drift(MIGRATIONS, CLUSTER_MIGRATIONS), Vec::<String>::new());
        // The comparison saw the objects that matter (a parser that sees nothing finds no drift).
        let names: Vec<String> = objects(MIGRATIONS)
            .iter()
            .map(|o| o.name().to_owned())
            .collect();
        for must in [
            "cdrs",
            "cdrs_by_customer",
            "cdrs_by_customer_mv",
            "accounts",
            "api_access",
            "rollup_minute",
            "rollup_minute_mv",
            "rollup_minute_country",
            "rollup_minute_destination_mv",
            "rollup_hour_destination_mv",
            "rollup_minute_disconnect",
        ] {
            assert!(
                names.iter().any(|n| n == must),
                "{must} not parsed: {names:?}"
            );
        }
        // A table a later file dropped is gone from the comparison.
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("rollup_minute_dst_prefix"))
        );
    }

    /// Columns added and view queries replaced by later migrations are compared too.
    #[test]
    fn statically_later_alters_are_part_of_what_is_compared() {
        let columns_of = |files: &[(&str, &str)], table: &str| {
            objects(files)
                .into_iter()
                .find_map(|o| match o {
                    Object::Table { name, columns, .. } if name == table => Some(columns),
                    _ => None,
                })
                .unwrap_or_default()
        };
        let view_of = |files: &[(&str, &str)]| {
            objects(files)
                .into_iter()
                .find_map(|o| match o {
                    Object::View { name, select, .. } if name == "cdrs_by_customer_mv" => {
                        Some(select)
                    }
                    _ => None,
                })
                .unwrap_or_default()
        };
        for (files, cdrs, by_customer) in [
            (MIGRATIONS, "cdrs", "cdrs_by_customer"),
            (CLUSTER_MIGRATIONS, "cdrs_local", "cdrs_by_customer_local"),
        ] {
            let cdrs = columns_of(files, cdrs);
            assert!(
                cdrs.iter().any(|c| c.starts_with("pdd Float32 DEFAULT 0")),
                "{cdrs:?}"
            );
            assert!(
                cdrs.iter()
                    .any(|c| c.starts_with("legb_disconnect_reason "))
            );
            let copy = columns_of(files, by_customer);
            assert!(copy.iter().any(|c| c.starts_with("lega_disconnect_code ")));
            assert!(!copy.iter().any(|c| c.starts_with("legb_")), "{copy:?}");
            assert!(
                copy.iter()
                    .any(|c| c.starts_with("inserted_at DateTime('UTC') DEFAULT 0"))
            );
            assert!(view_of(files).contains("lega_disconnect_reason, pdd, inserted_at FROM"));
            // A later codec change replaces the column's codec, keeping its type and default.
            assert!(
                cdrs.iter().any(|c| c
                    == "legb_disconnect_reason LowCardinality(String) DEFAULT '' CODEC(ZSTD(1))"),
                "{cdrs:?}"
            );
            assert!(cdrs.iter().any(|c| c == "is_last_cdr Bool CODEC(ZSTD(1))"));
        }
        let altered = "CREATE TABLE IF NOT EXISTS t (a UInt32) ENGINE = MergeTree ORDER BY a;\
             ALTER TABLE t ADD COLUMN IF NOT EXISTS b UInt32 DEFAULT 0;";
        assert_eq!(
            drift(&[("a.sql", altered)], &[("a.sql", SINGLE_T_ON_CLUSTER)]).len(),
            1,
            "a column added on one side only is drift"
        );
        let recoded = "CREATE TABLE IF NOT EXISTS t (a UInt32) ENGINE = MergeTree ORDER BY a;\
             ALTER TABLE t MODIFY COLUMN a CODEC(ZSTD(1));";
        assert_eq!(
            drift(&[("a.sql", recoded)], &[("a.sql", SINGLE_T_ON_CLUSTER)]).len(),
            1,
            "a codec changed on one side only is drift"
        );
    }

    const SINGLE_T_ON_CLUSTER: &str = "CREATE TABLE IF NOT EXISTS t_local ON CLUSTER '{cluster}' (a UInt32) \
         ENGINE = ReplicatedMergeTree('/p/{shard}/t_local', '{replica}') ORDER BY a;\
         CREATE TABLE IF NOT EXISTS t ON CLUSTER '{cluster}' AS t_local \
         ENGINE = Distributed('{cluster}', currentDatabase(), t_local, rand());";

    const SINGLE: &str = "CREATE TABLE IF NOT EXISTS t
(
    a DateTime('UTC') CODEC(Delta, ZSTD(1)),
    b UInt32
)
ENGINE = SummingMergeTree((b))
PARTITION BY toYYYYMM(a)
ORDER BY (b, a)
SETTINGS ttl_only_drop_parts = 1;
CREATE MATERIALIZED VIEW IF NOT EXISTS v TO t AS SELECT a, b FROM s WHERE b > 0;";

    const CLUSTER: &str = "CREATE TABLE IF NOT EXISTS t_local ON CLUSTER '{cluster}'
(
    a DateTime('UTC') CODEC(Delta, ZSTD(1)),
    b UInt32
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/t_local', '{replica}', (b))
PARTITION BY toYYYYMM(a)
ORDER BY (b, a)
SETTINGS ttl_only_drop_parts = 1;
CREATE TABLE IF NOT EXISTS t ON CLUSTER '{cluster}' AS t_local
ENGINE = Distributed('{cluster}', currentDatabase(), t_local, cityHash64(b));
CREATE MATERIALIZED VIEW IF NOT EXISTS v ON CLUSTER '{cluster}' TO t AS SELECT a, b FROM s_local WHERE b > 0;";

    fn drift_of(single: &str, cluster: &str) -> Vec<String> {
        drift(&[("s.sql", single)], &[("c.sql", cluster)])
    }

    #[test]
    fn a_mirrored_table_and_view_show_no_drift() {
        assert_eq!(drift_of(SINGLE, CLUSTER), Vec::<String>::new());
    }

    #[test]
    fn a_parenthesis_in_a_string_neither_hides_a_table_nor_its_drift() {
        let comment = |sql: &str| sql.replace("b UInt32\n)", "b UInt32 COMMENT 'b (total'\n)");
        assert_eq!(
            drift_of(&comment(SINGLE), &comment(CLUSTER)),
            Vec::<String>::new()
        );
        assert_eq!(drift_of(&comment(SINGLE), CLUSTER).len(), 1);
    }

    #[test]
    fn a_changed_codec_type_order_or_setting_is_drift() {
        for (from, to) in [
            ("CODEC(Delta, ZSTD(1)),\n    b", "CODEC(ZSTD(1)),\n    b"),
            ("b UInt32\n)", "b UInt64\n)"),
            ("ORDER BY (b, a)\nSETTINGS", "ORDER BY (a, b)\nSETTINGS"),
            (
                "SETTINGS ttl_only_drop_parts = 1;\nCREATE TABLE",
                ";\nCREATE TABLE",
            ),
            ("'{replica}', (b))", "'{replica}')"),
            ("{database}/t_local'", "{database}/other_local'"),
            ("WHERE b > 0", "WHERE b >= 0"),
        ] {
            let changed = CLUSTER.replacen(from, to, 1);
            assert_ne!(changed, CLUSTER, "{from}");
            assert_eq!(drift_of(SINGLE, &changed).len(), 1, "{from} -> {to}");
        }
    }

    #[test]
    fn a_table_or_view_missing_on_either_side_is_drift() {
        let single_more = format!(
            "{SINGLE}\nCREATE TABLE IF NOT EXISTS u (x UInt8) ENGINE = MergeTree ORDER BY x;"
        );
        assert_eq!(
            drift_of(&single_more, CLUSTER),
            vec!["u: no cluster counterpart"]
        );
        let cluster_more = format!(
            "{CLUSTER}\nCREATE TABLE IF NOT EXISTS w ON CLUSTER '{{cluster}}' (x UInt8) \
             ENGINE = ReplicatedMergeTree('/p/w', '{{replica}}') ORDER BY x;"
        );
        assert_eq!(
            drift_of(SINGLE, &cluster_more),
            vec!["w: on the cluster only, no single-server counterpart"]
        );
        let no_view = CLUSTER
            .split("CREATE MATERIALIZED")
            .next()
            .unwrap_or_default();
        assert_eq!(drift_of(SINGLE, no_view), vec!["v: no cluster counterpart"]);
    }

    /// Static (no cluster runs here).
    #[test]
    fn statically_cluster_views_read_local_tables_and_keep_rows_on_their_shard() {
        assert_eq!(
            views_keep_rows_on_their_shard(CLUSTER_MIGRATIONS),
            Vec::<String>::new()
        );
        let local = CLUSTER.replace(
            "TO t AS SELECT a, b FROM s_local",
            "TO t_local AS SELECT a, b FROM s_local",
        );
        let with_source = format!(
            "{local}\nCREATE TABLE IF NOT EXISTS s ON CLUSTER '{{cluster}}' AS s_local \
             ENGINE = Distributed('{{cluster}}', currentDatabase(), s_local, cityHash64(a));"
        );
        assert_eq!(
            views_keep_rows_on_their_shard(&[("c.sql", &with_source)]).len(),
            1,
            "other key"
        );
        let same_key = with_source.replace("s_local, cityHash64(a)", "s_local, cityHash64(b)");
        assert_eq!(
            views_keep_rows_on_their_shard(&[("c.sql", &same_key)]),
            Vec::<String>::new()
        );
        let on_distributed = CLUSTER.replace("FROM s_local", "FROM s");
        assert_eq!(
            views_keep_rows_on_their_shard(&[("c.sql", &on_distributed)]).len(),
            1
        );
    }

    /// Static (no cluster runs here): `optimize_skip_unused_shards` can skip shards only when
    /// the query constrains the sharding key's column, so every table the planner reads for one
    /// account must be sharded by the column it filters that account on.
    #[test]
    fn statically_every_table_the_planner_reads_is_sharded_by_the_account_it_filters_on() {
        use crate::domain::Endpoint;
        use crate::stats::plan::raw_table;
        for endpoint in Endpoint::ALL {
            assert_eq!(
                sharding_key(CLUSTER_MIGRATIONS, raw_table(endpoint)),
                Some(format!("cityHash64({})", endpoint.account_column())),
                "{endpoint:?}"
            );
        }
        let sql = include_str!("../../sql/part_rollup.sql");
        assert!(sql.contains("account_id = {account:UInt32}"));
        for derived in crate::cli::derived::DERIVED {
            if derived.table.starts_with("rollup_") {
                assert_eq!(
                    sharding_key(CLUSTER_MIGRATIONS, derived.table).as_deref(),
                    Some("cityHash64(account_id)"),
                    "{}",
                    derived.table
                );
            }
        }
    }

    #[test]
    fn a_view_may_write_into_the_local_table_but_not_elsewhere() {
        let local = CLUSTER.replace("TO t AS", "TO t_local AS");
        assert_eq!(drift_of(SINGLE, &local), Vec::<String>::new());
        let elsewhere = CLUSTER.replace("TO t AS", "TO x AS");
        assert_eq!(drift_of(SINGLE, &elsewhere).len(), 1);
    }
}
