//! A response shape seen as a table (named columns, typed cells), so one renderer can turn any
//! shape into CSV (and the `format=rows` objects of SPEC §7) without knowing the shape.

use chrono_tz::Tz;

/// One cell of a table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    Int(i64),
    UInt(u64),
    Float(f64),
    /// An exact decimal as text (`"4.87"`): a JSON number in `format=rows`.
    Decimal(&'a str),
    Text(&'a str),
    /// A bucket start, shown as RFC 3339 in the zone (UTC when `None`).
    Time(i64, Option<Tz>),
    Null,
}

impl<'a> Cell<'a> {
    /// A decimal, or null.
    pub fn decimal(v: Option<&'a str>) -> Self {
        v.map_or(Cell::Null, Cell::Decimal)
    }
}

/// A response shape as rows of cells under fixed column names.
pub trait Tabular {
    /// The column names, in output order.
    fn columns(&self) -> &'static [&'static str];
    /// Number of rows.
    fn len(&self) -> usize;
    /// The cell at `row`, `column` (indices into [`Self::columns`]).
    fn cell(&self, row: usize, column: usize) -> Cell<'_>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// RFC 4180 CSV of `table`: a header row, CRLF line ends, empty fields for nulls, and text
/// quoted when it holds a comma, a quote or a line break.
pub fn to_csv(table: &dyn Tabular) -> String {
    let mut out = table.columns().join(",");
    out.push_str("\r\n");
    for row in 0..table.len() {
        for column in 0..table.columns().len() {
            if column > 0 {
                out.push(',');
            }
            match table.cell(row, column) {
                Cell::Int(v) => out.push_str(&v.to_string()),
                Cell::UInt(v) => out.push_str(&v.to_string()),
                Cell::Float(v) => out.push_str(&v.to_string()),
                Cell::Decimal(v) => out.push_str(v),
                Cell::Text(v) => push_field(&mut out, v),
                Cell::Time(secs, tz) => out.push_str(&super::time::rfc3339_in(secs, tz)),
                Cell::Null => {}
            }
        }
        out.push_str("\r\n");
    }
    out
}

fn push_field(out: &mut String, text: &str) {
    if text.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Two;

    impl Tabular for Two {
        fn columns(&self) -> &'static [&'static str] {
            &["n", "name", "x"]
        }
        fn len(&self) -> usize {
            2
        }
        fn cell(&self, row: usize, column: usize) -> Cell<'_> {
            match (row, column) {
                (_, 0) => Cell::Int(row as i64),
                (0, 1) => Cell::Text("a, \"b\""),
                (1, 1) => Cell::Text("plain"),
                (0, _) => Cell::Decimal("4.87"),
                _ => Cell::Null,
            }
        }
    }

    #[test]
    fn csv_quotes_only_what_needs_quoting_and_leaves_nulls_empty() {
        assert_eq!(
            to_csv(&Two),
            "n,name,x\r\n0,\"a, \"\"b\"\"\",4.87\r\n1,plain,\r\n"
        );
    }
}
