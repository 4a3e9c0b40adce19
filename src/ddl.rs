//! Reading the schema's DDL (`schema/*.sql`, `schema/cluster/*.sql`) without a server:
//! splitting a migration file into statements, and the `CREATE TABLE` and
//! `CREATE MATERIALIZED VIEW` statements of the shapes the schema uses (names, column
//! definitions, engine, view target and query).
//!
//! Every scan here skips quoted text and comments: `'string literals'` (with `\'` and `''`
//! escapes), `"identifiers"` and `` `identifiers` ``, `-- comments` to the end of the line and
//! `/* block comments */`. A `(`, `)`, `,` or `;` inside them is never structure, and a `--`
//! inside a string is not a comment. Keywords are matched in upper case, as the schema files
//! write them.

/// Where a character of DDL text lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Region {
    Code,
    /// Inside a string literal or a quoted identifier, its quotes included.
    Quoted,
    /// Inside a comment, its `--`, `/*` and `*/` included (not the newline ending a `--`).
    Comment,
}

/// Each character of `text` with its byte offset and region.
fn scan(text: &str) -> Vec<(usize, char, Region)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut k = 0;
    while k < chars.len() {
        let (i, c) = chars[k];
        let next = chars.get(k + 1).map(|&(_, d)| d);
        match c {
            '\'' | '"' | '`' => {
                // To the closing quote; a backslash escapes the next character, and a doubled
                // quote closes and reopens, which scans the same.
                out.push((i, c, Region::Quoted));
                k += 1;
                while let Some(&(j, d)) = chars.get(k) {
                    out.push((j, d, Region::Quoted));
                    k += 1;
                    if d == '\\' {
                        if let Some(&(j, e)) = chars.get(k) {
                            out.push((j, e, Region::Quoted));
                            k += 1;
                        }
                    } else if d == c {
                        break;
                    }
                }
            }
            '-' if next == Some('-') => {
                while let Some(&(j, d)) = chars.get(k).filter(|&&(_, d)| d != '\n') {
                    out.push((j, d, Region::Comment));
                    k += 1;
                }
            }
            '/' if next == Some('*') => {
                out.push((i, c, Region::Comment));
                k += 1;
                let mut star = false;
                while let Some(&(j, d)) = chars.get(k) {
                    out.push((j, d, Region::Comment));
                    k += 1;
                    // The `*` of the opening `/*` does not close it (`/*/` is no comment).
                    if star && d == '/' && j > i + 2 {
                        break;
                    }
                    star = d == '*';
                }
            }
            _ => {
                out.push((i, c, Region::Code));
                k += 1;
            }
        }
    }
    out
}

/// `text` without its comments: a line that held nothing but comments and whitespace is
/// dropped whole, a comment after code is cut (a block comment between code becomes a space).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut line = String::new();
    let (mut commented, mut blank, mut in_comment) = (false, true, false);
    for (_, c, region) in scan(text) {
        if c == '\n' {
            if !(commented && blank) {
                out.push_str(&line);
                out.push('\n');
            }
            line.clear();
            (commented, blank) = (false, true);
            in_comment = region == Region::Comment;
            continue;
        }
        if region == Region::Comment {
            if !in_comment && c == '/' {
                line.push(' ');
            }
            (commented, in_comment) = (true, true);
            continue;
        }
        in_comment = false;
        blank &= c.is_whitespace();
        line.push(c);
    }
    if !(commented && blank) {
        out.push_str(&line);
    }
    out
}

/// Splits a migration file into its statements, in order: comments dropped, split at every
/// `;` outside quotes, each statement trimmed, empty ones left out.
pub fn statements(text: &str) -> Vec<String> {
    let code = strip_comments(text);
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c, region) in scan(&code) {
        if c == ';' && region == Region::Code {
            parts.push(&code[start..i]);
            start = i + 1;
        }
    }
    parts.push(&code[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `text` on one line: comments dropped, every run of whitespace outside quotes one space,
/// trimmed. Quoted text is kept as written.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for (_, c, region) in scan(text) {
        match region {
            Region::Comment => space = true,
            Region::Code if c.is_whitespace() => space = true,
            _ => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push(c);
            }
        }
    }
    out
}

/// The first word of `text` (up to whitespace or `(` outside quotes; a quoted part belongs to
/// the word) and the rest after it, without leading whitespace.
pub fn first_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let end = scan(text)
        .into_iter()
        .find(|&(_, c, region)| region == Region::Code && (c.is_whitespace() || c == '('))
        .map_or(text.len(), |(i, _, _)| i);
    (&text[..end], text[end..].trim_start())
}

/// A name without the backquotes or double quotes around it.
fn unquote(name: &str) -> String {
    for q in ['`', '"'] {
        if let Some(inner) = name.strip_prefix(q).and_then(|n| n.strip_suffix(q))
            && !inner.is_empty()
        {
            return inner.to_owned();
        }
    }
    name.to_owned()
}

/// `text` from `open` (an opening parenthesis) to its matching close, outside quotes and
/// comments: (inside, after).
fn balanced(text: &str, open: usize) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    for (i, c, region) in scan(&text[open..]) {
        match (c, region) {
            ('(', Region::Code) => depth += 1,
            (')', Region::Code) => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some((&text[open + 1..open + i], &text[open + i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits at commas outside parentheses, quotes and comments; each part trimmed, empty parts
/// left out.
fn split_top(text: &str) -> Vec<String> {
    let mut depth = 0i32;
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c, region) in scan(text) {
        match (c, region) {
            ('(', Region::Code) => depth += 1,
            (')', Region::Code) => depth -= 1,
            (',', Region::Code) if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Byte offset of the first `keyword` in `text` that is a whole word of code outside
/// parentheses.
fn find_top(text: &str, keyword: &str) -> Option<usize> {
    let word_char = |c: char| c.is_alphanumeric() || c == '_';
    let mut depth = 0i32;
    for (i, c, region) in scan(text) {
        if region != Region::Code {
            continue;
        }
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 && text[i..].starts_with(keyword) => {
                let before = text[..i].chars().next_back();
                let after = text[i + keyword.len()..].chars().next();
                if !before.is_some_and(word_char) && !after.is_some_and(word_char) {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// A table engine clause: `ENGINE = name(args) tail`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Engine {
    /// `MergeTree`, `ReplicatedSummingMergeTree`, `Distributed`...; empty without an `ENGINE`.
    pub name: String,
    /// The arguments in the parentheses after the name, each trimmed.
    pub args: Vec<String>,
    /// What follows (`PARTITION BY ... ORDER BY ... SETTINGS ...`), on one line.
    pub tail: String,
}

/// A `CREATE` statement of the shapes the schema uses. Texts are on one line (whitespace
/// outside quotes collapsed, comments dropped); names without quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Create {
    /// `CREATE TABLE [IF NOT EXISTS] name [ON CLUSTER c] (columns) [ENGINE = ...]`.
    Table {
        name: String,
        /// Each definition of the column list as written: columns, indexes, projections.
        columns: Vec<String>,
        engine: Engine,
    },
    /// `CREATE TABLE [IF NOT EXISTS] name [ON CLUSTER c] AS source [ENGINE = ...]`: the
    /// columns of `source` (a `Distributed` table over `source`, for one).
    TableAs {
        name: String,
        source: String,
        engine: Engine,
    },
    /// `CREATE MATERIALIZED VIEW [IF NOT EXISTS] name [ON CLUSTER c] [TO target] ... AS select`.
    View {
        name: String,
        target: Option<String>,
        select: String,
    },
}

impl Create {
    /// The name of the table or view created.
    pub fn name(&self) -> &str {
        match self {
            Self::Table { name, .. } | Self::TableAs { name, .. } | Self::View { name, .. } => name,
        }
    }
}

/// `[IF NOT EXISTS] name [ON CLUSTER cluster] rest`: (name, rest).
fn object_name(text: &str) -> Option<(String, &str)> {
    let text = text.strip_prefix("IF NOT EXISTS ").unwrap_or(text);
    let (name, rest) = first_word(text);
    if name.is_empty() {
        return None;
    }
    let rest = rest
        .strip_prefix("ON CLUSTER ")
        .map_or(rest, |r| first_word(r).1);
    Some((unquote(name), rest))
}

/// The `ENGINE = name(args) tail` at the start of `text`; without one, an empty name and all of
/// `text` as the tail.
fn engine(text: &str) -> Option<Engine> {
    let text = text.trim();
    let Some(rest) = text
        .strip_prefix("ENGINE")
        .and_then(|r| r.trim_start().strip_prefix('='))
    else {
        return Some(Engine {
            tail: text.to_owned(),
            ..Engine::default()
        });
    };
    let (name, after) = first_word(rest);
    let (args, tail) = if after.starts_with('(') {
        let (args, tail) = balanced(after, 0)?;
        (split_top(args), tail)
    } else {
        (Vec::new(), after)
    };
    Some(Engine {
        name: name.to_owned(),
        args,
        tail: tail.trim().to_owned(),
    })
}

/// Parses a `CREATE TABLE` or `CREATE MATERIALIZED VIEW` statement (one of [`statements`]);
/// `None` for other statements.
pub fn create(statement: &str) -> Option<Create> {
    let s = normalize(statement);
    let rest = s.strip_prefix("CREATE ")?;
    if let Some(rest) = rest.strip_prefix("MATERIALIZED VIEW ") {
        let (name, rest) = object_name(rest)?;
        let (target, rest) = match rest.strip_prefix("TO ") {
            Some(r) => {
                let (target, r) = first_word(r);
                (Some(unquote(target)), r)
            }
            None => (None, rest),
        };
        let select = &rest[find_top(rest, "AS")? + "AS".len()..];
        return Some(Create::View {
            name,
            target,
            select: select.trim().to_owned(),
        });
    }
    let (name, rest) = object_name(rest.strip_prefix("TABLE ")?)?;
    if let Some(rest) = rest.strip_prefix("AS ") {
        let (source, rest) = first_word(rest);
        return Some(Create::TableAs {
            name,
            source: unquote(source),
            engine: engine(rest)?,
        });
    }
    if !rest.starts_with('(') {
        return None;
    }
    let (columns, rest) = balanced(rest, 0)?;
    Some(Create::Table {
        name,
        columns: split_top(columns),
        engine: engine(rest)?,
    })
}

/// Every `CREATE TABLE` and `CREATE MATERIALIZED VIEW` of `files` (`(name, text)`, in the order
/// applied), in order; an object created again by a later file appears again.
pub fn creates(files: &[(&str, &str)]) -> Vec<Create> {
    files
        .iter()
        .flat_map(|(_, text)| statements(text))
        .filter_map(|s| create(&s))
        .collect()
}

/// The names of the materialized views `files` leave behind (created and not dropped by a later
/// statement), each once, in the order of their last creation.
pub fn view_names(files: &[(&str, &str)]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for statement in files.iter().flat_map(|(_, text)| statements(text)) {
        if let Some(gone) = dropped(&statement) {
            names.retain(|n| *n != gone);
        } else if let Some(Create::View { name, .. }) = create(&statement)
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}

/// `DROP TABLE|VIEW [IF EXISTS] name [ON CLUSTER c] [SYNC]`: the dropped object's name.
pub fn dropped(statement: &str) -> Option<String> {
    let s = normalize(statement);
    let rest = s
        .strip_prefix("DROP TABLE ")
        .or_else(|| s.strip_prefix("DROP VIEW "))?;
    let rest = rest.strip_prefix("IF EXISTS ").unwrap_or(rest);
    object_name(rest).map(|(name, _)| name)
}

/// `ALTER TABLE t [ON CLUSTER c] ADD COLUMN [IF NOT EXISTS] name Type ..., ADD COLUMN ...`: the
/// table and each added column's `(name, type)`; `None` for any other statement.
pub fn added_columns(statement: &str) -> Option<(String, Vec<(String, String)>)> {
    let s = normalize(statement);
    let (table, rest) = object_name(s.strip_prefix("ALTER TABLE ")?)?;
    let added: Vec<(String, String)> = split_top(rest)
        .iter()
        .filter_map(|clause| {
            let clause = clause.trim().strip_prefix("ADD COLUMN ")?;
            column(clause.strip_prefix("IF NOT EXISTS ").unwrap_or(clause))
        })
        .collect();
    (!added.is_empty()).then_some((table, added))
}

/// A column definition's name and type (without its codec, default, alias or comment); `None`
/// for an index, a projection or a constraint.
pub fn column(definition: &str) -> Option<(String, String)> {
    let definition = normalize(definition);
    let (name, rest) = first_word(&definition);
    if rest.is_empty() || ["PROJECTION", "INDEX", "CONSTRAINT"].contains(&name) {
        return None;
    }
    let end = ["CODEC", "DEFAULT", "MATERIALIZED", "ALIAS", "COMMENT"]
        .iter()
        .filter_map(|k| find_top(rest, k))
        .min()
        .unwrap_or(rest.len());
    Some((unquote(name), rest[..end].trim().to_owned()))
}

/// A `CREATE TABLE`'s `(column, type)` pairs (no indexes, projections or constraints); empty for
/// other shapes.
pub fn columns(create: &Create) -> Vec<(String, String)> {
    match create {
        Create::Table { columns, .. } => columns.iter().filter_map(|c| column(c)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_columns_are_read_from_alter_table() {
        let one = "ALTER TABLE cdrs ADD COLUMN IF NOT EXISTS pdd Float32 DEFAULT 0 CODEC(ZSTD(1))";
        assert_eq!(
            added_columns(one),
            Some(("cdrs".into(), vec![("pdd".into(), "Float32".into())]))
        );
        let two = "ALTER TABLE l ON CLUSTER 'c' ADD COLUMN a String DEFAULT 'x, y', \
                   ADD COLUMN IF NOT EXISTS b DateTime('UTC') DEFAULT now()";
        assert_eq!(
            added_columns(two),
            Some((
                "l".into(),
                vec![
                    ("a".into(), "String".into()),
                    ("b".into(), "DateTime('UTC')".into())
                ]
            ))
        );
        assert_eq!(added_columns("ALTER TABLE t MODIFY SETTING x = 1"), None);
        assert_eq!(added_columns("CREATE TABLE t (a UInt8) ENGINE = Log"), None);
    }

    macro_rules! schema_files {
        ($dir:literal: $($name:literal),* $(,)?) => {
            &[$(($name, include_str!(concat!("../schema/", $dir, $name)))),*]
        };
    }

    /// Every file of `schema/` and `schema/cluster/` (checked against the folders below).
    const SINGLE: &[(&str, &str)] = schema_files!("": "001_cdrs.sql", "002_accounts.sql",
        "003_api_access.sql", "004_rollups.sql", "005_rollup_accounts.sql", "010_family.sql",
        "011_family_rollups.sql", "012_live_rollups.sql", "020_breakdown.sql", "021_breakdown_rollups.sql",
        "022_minute_dst_country.sql", "023_zstd_strings.sql", "024_minute_prefix.sql",
        "025_price_micros.sql", "026_copy_inserted_at.sql");
    const CLUSTER: &[(&str, &str)] = schema_files!("cluster/": "001_cdrs.sql",
        "002_directory.sql", "003_rollups.sql", "005_rollup_accounts.sql", "010_family.sql",
        "011_family_rollups.sql", "012_live_rollups.sql", "020_breakdown.sql", "021_breakdown_rollups.sql",
        "022_minute_dst_country.sql", "023_zstd_strings.sql", "024_minute_prefix.sql",
        "025_price_micros.sql", "026_copy_inserted_at.sql", "900_gateway_user.sql", "901_pipeline_insert_speed.sql");

    #[test]
    fn drops_name_the_object_and_remove_a_view_created_earlier() {
        assert_eq!(
            dropped("DROP TABLE IF EXISTS t ON CLUSTER '{cluster}' SYNC").as_deref(),
            Some("t")
        );
        assert_eq!(dropped("DROP VIEW `v`").as_deref(), Some("v"));
        assert_eq!(dropped("ALTER TABLE t DROP COLUMN c"), None);
        let files: &[(&str, &str)] = &[(
            "x.sql",
            "CREATE MATERIALIZED VIEW a_mv TO a AS SELECT 1;\n\
             CREATE MATERIALIZED VIEW b_mv TO b AS SELECT 1;\nDROP VIEW IF EXISTS a_mv;",
        )];
        assert_eq!(view_names(files), ["b_mv"]);
    }

    fn sql_files(dir: &str) -> Vec<String> {
        let dir = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn statements_split_at_semicolons_and_drop_comments() {
        let s = statements(
            "-- a; comment\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\n  -- more\nSELECT 1;\n",
        );
        assert_eq!(
            s,
            vec!["CREATE TABLE a (x UInt8) ENGINE = Memory", "SELECT 1"]
        );
        assert_eq!(
            statements("SELECT 1; -- done\n/* a;\n b */\nSELECT /* c */2"),
            vec!["SELECT 1", "SELECT  2"]
        );
        // Comment lines inside a statement go with their newline.
        assert_eq!(statements("SELECT\n-- x\n1"), vec!["SELECT\n1"]);
    }

    #[test]
    fn a_semicolon_or_dashes_in_quotes_or_a_comment_do_not_split_or_cut() {
        assert_eq!(
            statements("SELECT 'a;b', `c;d`, \"e;f\";\nSELECT '--', 'it''s;', 'x\\';';"),
            vec![
                "SELECT 'a;b', `c;d`, \"e;f\"",
                "SELECT '--', 'it''s;', 'x\\';'"
            ]
        );
        assert_eq!(
            statements("SELECT 1, -- one; two\n2;\nSELECT '\n-- kept\n'"),
            vec!["SELECT 1, \n2", "SELECT '\n-- kept\n'"]
        );
    }

    #[test]
    fn a_table_with_parentheses_and_commas_in_strings_and_comments() {
        let sql = "CREATE TABLE IF NOT EXISTS t ON CLUSTER '{cluster}'
(
    a String DEFAULT '(' COMMENT 'opens (, never closes',
    b String DEFAULT ')', -- a ) in a comment, and a ,
    `c d` Nullable(DateTime('UTC')) CODEC(ZSTD(1)) COMMENT 'x)y',
    /* ( */ e Enum8('DEFAULT' = 1, 'b,)' = 2),
    PROJECTION p (SELECT * ORDER BY a)
)
ENGINE = ReplicatedMergeTree('/p/t', '{replica}')
ORDER BY (a, b)";
        let parsed = create(sql).expect("parsed");
        assert_eq!(parsed.name(), "t");
        let Create::Table {
            columns, engine, ..
        } = &parsed
        else {
            panic!("{parsed:?}")
        };
        assert_eq!(columns.len(), 5, "{columns:?}");
        assert_eq!(columns[1], "b String DEFAULT ')'");
        assert_eq!(engine.name, "ReplicatedMergeTree");
        assert_eq!(engine.args, vec!["'/p/t'", "'{replica}'"]);
        assert_eq!(engine.tail, "ORDER BY (a, b)");
        assert_eq!(
            super::columns(&parsed),
            vec![
                ("a".to_owned(), "String".to_owned()),
                ("b".to_owned(), "String".to_owned()),
                ("c d".to_owned(), "Nullable(DateTime('UTC'))".to_owned()),
                ("e".to_owned(), "Enum8('DEFAULT' = 1, 'b,)' = 2)".to_owned()),
            ]
        );
    }

    #[test]
    fn a_column_is_cut_at_its_codec_default_alias_or_comment() {
        for (definition, name, ty) in [
            ("x UInt8", "x", "UInt8"),
            ("x Int32 DEFAULT duration CODEC(T64, ZSTD(1))", "x", "Int32"),
            (
                "x DateTime('UTC') CODEC(Delta, ZSTD(1))",
                "x",
                "DateTime('UTC')",
            ),
            (
                "x LowCardinality(String) COMMENT 'y'",
                "x",
                "LowCardinality(String)",
            ),
            ("x UInt64 MATERIALIZED y + 1", "x", "UInt64"),
            ("x  String\n   ALIAS y", "x", "String"),
        ] {
            assert_eq!(
                column(definition),
                Some((name.to_owned(), ty.to_owned())),
                "{definition}"
            );
        }
        assert_eq!(column("PROJECTION p (SELECT *)"), None);
        assert_eq!(column("INDEX i x TYPE minmax GRANULARITY 1"), None);
        assert_eq!(column("CONSTRAINT c CHECK x > 0"), None);
    }

    #[test]
    fn a_distributed_table_and_views_parse() {
        let distributed = "CREATE TABLE IF NOT EXISTS t ON CLUSTER '{cluster}' AS t_local
ENGINE = Distributed('{cluster}', currentDatabase(), t_local, cityHash64(b))";
        assert_eq!(
            create(distributed),
            Some(Create::TableAs {
                name: "t".into(),
                source: "t_local".into(),
                engine: Engine {
                    name: "Distributed".into(),
                    args: vec![
                        "'{cluster}'".into(),
                        "currentDatabase()".into(),
                        "t_local".into(),
                        "cityHash64(b)".into()
                    ],
                    tail: String::new(),
                },
            })
        );
        let view = "CREATE MATERIALIZED VIEW IF NOT EXISTS v ON CLUSTER '{cluster}' TO t AS
SELECT a, ' AS ' AS b -- a comment; AS
FROM s_local WHERE b > 0";
        assert_eq!(
            create(view),
            Some(Create::View {
                name: "v".into(),
                target: Some("t".into()),
                select: "SELECT a, ' AS ' AS b FROM s_local WHERE b > 0".into(),
            })
        );
        let inner = "CREATE MATERIALIZED VIEW w ENGINE = MergeTree ORDER BY (a AS x) AS SELECT 1";
        assert_eq!(
            create(inner),
            Some(Create::View {
                name: "w".into(),
                target: None,
                select: "SELECT 1".into(),
            })
        );
        for other in [
            "DROP TABLE IF EXISTS t",
            "ALTER TABLE t ADD COLUMN x UInt8",
            "CREATE USER u",
            "INSERT INTO t VALUES ('CREATE TABLE x (a UInt8)')",
        ] {
            assert_eq!(create(other), None, "{other}");
        }
        let files = [(
            "a.sql",
            "CREATE MATERIALIZED VIEW v TO t AS SELECT 1;\nCREATE MATERIALIZED VIEW u TO t AS SELECT 2;\nDROP VIEW v;\nCREATE MATERIALIZED VIEW v TO t AS SELECT 3;",
        )];
        assert_eq!(
            view_names(&files),
            vec!["u", "v"],
            "v was dropped, then created again"
        );
        assert_eq!(first_word("  'a b'(x) rest"), ("'a b'", "(x) rest"));
    }

    #[test]
    fn every_schema_file_is_here_and_parses() {
        let listed = |files: &[(&str, &str)]| -> Vec<String> {
            files.iter().map(|(n, _)| (*n).to_owned()).collect()
        };
        assert_eq!(sql_files("schema"), listed(SINGLE));
        assert_eq!(sql_files("schema/cluster"), listed(CLUSTER));
        for (dir, files) in [("schema", SINGLE), ("schema/cluster", CLUSTER)] {
            let mut objects = 0;
            for (name, text) in files {
                let statements = statements(text);
                assert!(!statements.is_empty(), "{dir}/{name}");
                for statement in &statements {
                    assert!(!statement.contains("--"), "{dir}/{name}: {statement}");
                    let kind = ["CREATE TABLE ", "CREATE MATERIALIZED VIEW "]
                        .iter()
                        .any(|k| statement.starts_with(k));
                    let parsed = create(statement);
                    assert_eq!(parsed.is_some(), kind, "{dir}/{name}: {statement}");
                    match &parsed {
                        Some(
                            table @ Create::Table {
                                columns, engine, ..
                            },
                        ) => {
                            assert!(!engine.name.is_empty(), "{dir}/{name}: {statement}");
                            let typed = super::columns(table);
                            assert!(!typed.is_empty() && typed.len() <= columns.len());
                            for (column, ty) in typed {
                                assert!(
                                    !ty.is_empty() && !ty.contains(" CODEC"),
                                    "{dir}/{name}: {column} {ty}"
                                );
                            }
                        }
                        Some(Create::TableAs { engine, .. }) => {
                            assert_eq!(engine.name, "Distributed", "{dir}/{name}");
                            assert_eq!(engine.args.len(), 4, "{dir}/{name}");
                        }
                        Some(Create::View { target, select, .. }) => {
                            assert!(target.is_some(), "{dir}/{name}");
                            assert!(select.starts_with("SELECT "), "{dir}/{name}: {select}");
                        }
                        None => {}
                    }
                    objects += usize::from(kind);
                }
            }
            assert!(objects >= 10, "{dir}: {objects}");
        }
    }
}
