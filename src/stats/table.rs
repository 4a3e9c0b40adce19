//! Bucketed response shapes seen as rows (SPEC §7): `format=rows` and RFC 4180 CSV are rendered
//! from this view for every endpoint, so each shape implements [`Tabular`] once.

/// One cell of a bucket row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell<'a> {
    /// A count or a bucket start.
    Int(i64),
    /// An exact decimal in its contract text (`"86.67"`): a JSON number and a bare CSV field;
    /// `None` is JSON `null` and an empty CSV field.
    Decimal(Option<&'a str>),
}

/// A bucketed document that can also be rendered one row per bucket.
pub trait Tabular {
    /// Columns after `t` and `time`, in the document's order.
    const COLUMNS: &'static [&'static str];
    /// The zone `time` is written in (`None` = UTC).
    fn zone(&self) -> Option<chrono_tz::Tz>;
    /// Number of buckets.
    fn buckets(&self) -> usize;
    /// Bucket `i`: its start and its cells, one per [`Self::COLUMNS`] entry.
    fn bucket(&self, i: usize) -> (i64, Vec<Cell<'_>>);
}

/// `format=rows`: `[{"t":…,"time":"…",<columns>},…]`, no totals; decimals copied from their
/// exact text, so JSON numbers carry the contract's rounding.
pub fn to_rows_json<T: Tabular>(doc: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + doc.buckets() * 96);
    out.push(b'[');
    for i in 0..doc.buckets() {
        let (t, cells) = doc.bucket(i);
        if i > 0 {
            out.push(b',');
        }
        let time = super::time::rfc3339_in(t, doc.zone());
        // Column names are static identifiers and `time` is digits and punctuation.
        out.extend_from_slice(format!("{{\"t\":{t},\"time\":\"{time}\"").as_bytes());
        for (name, cell) in T::COLUMNS.iter().zip(cells) {
            out.extend_from_slice(format!(",\"{name}\":").as_bytes());
            match cell {
                Cell::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
                Cell::Decimal(Some(text)) => out.extend_from_slice(text.as_bytes()),
                Cell::Decimal(None) => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }
    out.push(b']');
    out
}

/// The CSV header row of a shape: `"t","time",…` with CRLF.
pub fn csv_header<T: Tabular>() -> String {
    let names: Vec<String> = ["t", "time"]
        .iter()
        .chain(T::COLUMNS)
        .map(|n| format!("\"{n}\""))
        .collect();
    names.join(",") + "\r\n"
}

/// RFC 4180 CSV: the header, then one CRLF-terminated row per bucket with its RFC 3339 start
/// beside `t`; nulls are empty fields. Text is always quoted and numbers never are (readers
/// using Python's `QUOTE_NONNUMERIC` type the columns correctly).
pub fn to_csv<T: Tabular>(doc: &T) -> Vec<u8> {
    let mut out = csv_header::<T>().into_bytes();
    for i in 0..doc.buckets() {
        let (t, cells) = doc.bucket(i);
        let time = super::time::rfc3339_in(t, doc.zone());
        out.extend_from_slice(format!("{t},\"{time}\"").as_bytes());
        for cell in cells {
            out.push(b',');
            match cell {
                Cell::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
                Cell::Decimal(text) => out.extend_from_slice(text.unwrap_or_default().as_bytes()),
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A CSV text field: always quoted, inner quotes doubled (RFC 4180).
pub fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Two;

    impl Tabular for Two {
        const COLUMNS: &'static [&'static str] = &["calls", "acd"];
        fn zone(&self) -> Option<chrono_tz::Tz> {
            None
        }
        fn buckets(&self) -> usize {
            2
        }
        fn bucket(&self, i: usize) -> (i64, Vec<Cell<'_>>) {
            let acd = if i == 0 { Some("4.87") } else { None };
            (60 * i as i64, vec![Cell::Int(i as i64), Cell::Decimal(acd)])
        }
    }

    #[test]
    fn rows_and_csv_carry_the_same_cells() {
        assert_eq!(
            String::from_utf8(to_rows_json(&Two)).expect("utf-8"),
            r#"[{"t":0,"time":"1970-01-01T00:00:00Z","calls":0,"acd":4.87},{"t":60,"time":"1970-01-01T00:01:00Z","calls":1,"acd":null}]"#
        );
        assert_eq!(
            String::from_utf8(to_csv(&Two)).expect("utf-8"),
            "\"t\",\"time\",\"calls\",\"acd\"\r\n0,\"1970-01-01T00:00:00Z\",0,4.87\r\n60,\"1970-01-01T00:01:00Z\",1,\r\n"
        );
        assert_eq!(quoted("a \"b\", c"), "\"a \"\"b\"\", c\"");
    }
}
