//! From per-key integer sums to the answer: exact metrics, order by the exact value of a metric,
//! the top `limit` keys plus `other`, totals, the previous period beside each, and the same rows
//! as `format=rows` and CSV.

use super::request::{Metric, Sort};
use crate::stats::metrics::{format, ratio};
use crate::stats::table::quoted;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::cmp::Ordering;
use std::collections::HashMap;

/// One key column's value: an id or code, or a prefix or reason text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyValue {
    Int(i64),
    Text(String),
}

impl KeyValue {
    /// Numbers numerically, text bytewise (`str`'s order is its bytes').
    fn cmp_same_column(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => a.cmp(b),
            (Self::Text(a), Self::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Self::Int(_), Self::Text(_)) => Ordering::Less,
            (Self::Text(_), Self::Int(_)) => Ordering::Greater,
        }
    }
}

/// The integer sums a row's metrics derive from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sums {
    pub total: u64,
    pub successful: u64,
    /// Seconds of answered calls (`duration`), for `acd`.
    pub answered_duration: i64,
    /// Seconds of the configured duration column, for `total_duration`.
    pub duration: i64,
    /// Prices, each first rounded to 6 places, in millionths.
    pub price_micros: i128,
    /// PDDs over 0, each first rounded to milliseconds, in milliseconds.
    pub pdd_ms: i64,
    /// CDRs with a PDD over 0.
    pub pdd_count: u64,
}

impl std::ops::AddAssign for Sums {
    fn add_assign(&mut self, o: Self) {
        self.total += o.total;
        self.successful += o.successful;
        self.answered_duration += o.answered_duration;
        self.duration += o.duration;
        self.price_micros += o.price_micros;
        self.pdd_ms += o.pdd_ms;
        self.pdd_count += o.pdd_count;
    }
}

/// A metric's exact value as a fraction (denominator > 0), `None` for a null metric.
type Exact = Option<(i128, i128)>;

impl Sums {
    /// The exact value of `metric`, for ordering.
    fn exact(&self, metric: Metric) -> Exact {
        let (t, s) = (i128::from(self.total), i128::from(self.successful));
        match metric {
            Metric::TotalCalls => Some((t, 1)),
            Metric::SuccessfulCalls => Some((s, 1)),
            Metric::FailedCalls => Some((t - s, 1)),
            Metric::TotalDuration => Some((i128::from(self.duration), 60)),
            Metric::Acd => (s > 0).then(|| (i128::from(self.answered_duration), s)),
            Metric::Asr => (t > 0).then(|| (100 * s, t)),
            Metric::TotalPrice => Some((self.price_micros, 1_000_000)),
            Metric::Pdd => {
                let c = i128::from(self.pdd_count);
                (c > 0).then(|| (i128::from(self.pdd_ms), 1000 * c))
            }
        }
    }

    /// The metrics as the answer shows them.
    pub fn line(&self) -> Line {
        let text = |metric| self.exact(metric).map(|(n, d)| format(ratio(n, d)));
        let price = Decimal::from_i128_with_scale(self.price_micros, 6)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        Line {
            total_calls: self.total,
            successful_calls: self.successful,
            failed_calls: self.total - self.successful,
            total_duration: text(Metric::TotalDuration).unwrap_or_default(),
            acd: text(Metric::Acd),
            asr: text(Metric::Asr),
            total_price: format(price),
            pdd: text(Metric::Pdd),
        }
    }
}

/// Orders two exact values; `None` (null) after every number, whatever the direction.
fn cmp_exact(a: Exact, b: Exact, descending: bool) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some((an, ad)), Some((bn, bd))) => {
            let o = cmp_fraction(an, ad, bn, bd);
            if descending { o.reverse() } else { o }
        }
    }
}

/// Orders `a/b` and `c/d` (`b`, `d` > 0) exactly without multiplying (a PDD sum over a count
/// times 1000 could overflow a cross product): whole parts first, then the remainders'
/// fractions by their inverses, as continued fractions are compared.
fn cmp_fraction(a: i128, b: i128, c: i128, d: i128) -> Ordering {
    let (qa, ra) = (a.div_euclid(b), a.rem_euclid(b));
    let (qc, rc) = (c.div_euclid(d), c.rem_euclid(d));
    match (qa.cmp(&qc), ra, rc) {
        (Ordering::Equal, 0, 0) => Ordering::Equal,
        (Ordering::Equal, 0, _) => Ordering::Less,
        (Ordering::Equal, _, 0) => Ordering::Greater,
        // ra/b ≶ rc/d ⇔ d/rc ≶ b/ra, both remainders positive.
        (Ordering::Equal, _, _) => cmp_fraction(d, rc, b, ra),
        (o, _, _) => o,
    }
}

/// One row's (or other's, or the totals') metrics as shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub total_calls: u64,
    pub successful_calls: u64,
    pub failed_calls: u64,
    pub total_duration: String,
    pub acd: Option<String>,
    pub asr: Option<String>,
    pub total_price: String,
    pub pdd: Option<String>,
}

/// A cell of a line: a count, or an exact decimal's text (`None` = null).
enum Cell<'a> {
    Int(u64),
    Decimal(Option<&'a str>),
}

impl Line {
    fn cells(&self) -> [Cell<'_>; 8] {
        [
            Cell::Int(self.total_calls),
            Cell::Int(self.successful_calls),
            Cell::Int(self.failed_calls),
            Cell::Decimal(Some(&self.total_duration)),
            Cell::Decimal(self.acd.as_deref()),
            Cell::Decimal(self.asr.as_deref()),
            Cell::Decimal(Some(&self.total_price)),
            Cell::Decimal(self.pdd.as_deref()),
        ]
    }
}

/// One key's sums in the window (its previous window's are looked up by [`MatchKey`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The key columns' values (a disconnect code is followed by its reason).
    pub key: Vec<KeyValue>,
    pub now: Sums,
}

/// The answer of a breakdown endpoint.
#[derive(Debug, PartialEq)]
pub struct BreakdownDocument {
    pub key_columns: Vec<&'static str>,
    pub compare: bool,
    pub keys: Vec<Vec<KeyValue>>,
    pub rows: Vec<Line>,
    /// With `compare`: the previous window's line of each row.
    pub previous_rows: Vec<Line>,
    pub totals: Line,
    pub previous_totals: Option<Line>,
    /// The cut rows summed (and their previous window), when any were cut.
    pub other: Option<(Line, Option<Line>)>,
}

/// The grouping key that matches a row with its previous window: the key columns without a
/// disconnect reason (the most frequent reason may differ between the windows).
pub type MatchKey = Vec<KeyValue>;

/// Builds the answer from the current window's groups and the previous window's sums per
/// match key (`previous` is `None` without `compare`). `match_key` maps a row's key to its
/// match key.
pub fn build(
    key_columns: Vec<&'static str>,
    mut groups: Vec<Group>,
    previous: Option<&HashMap<MatchKey, Sums>>,
    match_key: impl Fn(&[KeyValue]) -> MatchKey,
    sort: Sort,
    limit: usize,
) -> BreakdownDocument {
    let mut totals = Sums::default();
    groups.iter().for_each(|g| totals += g.now);
    groups.sort_by(|a, b| {
        cmp_exact(
            a.now.exact(sort.metric),
            b.now.exact(sort.metric),
            sort.descending,
        )
        .then_with(|| {
            a.key
                .iter()
                .zip(&b.key)
                .map(|(x, y)| x.cmp_same_column(y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
    });
    let cut = groups.split_off(groups.len().min(limit));
    let before = |key: &[KeyValue]| {
        previous
            .and_then(|p| p.get(&match_key(key)))
            .copied()
            .unwrap_or_default()
    };
    let other = (!cut.is_empty()).then(|| {
        let (mut now, mut then) = (Sums::default(), Sums::default());
        for g in &cut {
            now += g.now;
            then += before(&g.key);
        }
        (now.line(), previous.map(|_| then.line()))
    });
    let previous_totals = previous.map(|p| {
        let mut all = Sums::default();
        p.values().for_each(|s| all += *s);
        all.line()
    });
    BreakdownDocument {
        key_columns,
        compare: previous.is_some(),
        previous_rows: match previous {
            Some(_) => groups.iter().map(|g| before(&g.key).line()).collect(),
            None => Vec::new(),
        },
        rows: groups.iter().map(|g| g.now.line()).collect(),
        keys: groups.into_iter().map(|g| g.key).collect(),
        totals: totals.line(),
        previous_totals,
        other,
    }
}

/// A line's metrics (and its previous window's) as JSON object entries.
fn put_line<M: SerializeMap>(
    map: &mut M,
    line: &Line,
    previous: Option<&Line>,
) -> Result<(), M::Error> {
    for (metric, cell) in Metric::ALL.iter().zip(line.cells()) {
        put_cell(map, metric.name(), &cell)?;
    }
    if let Some(p) = previous {
        for (metric, cell) in Metric::ALL.iter().zip(p.cells()) {
            put_cell(map, metric.previous_name(), &cell)?;
        }
    }
    Ok(())
}

fn put_cell<M: SerializeMap>(map: &mut M, name: &str, cell: &Cell<'_>) -> Result<(), M::Error> {
    match cell {
        Cell::Int(n) => map.serialize_entry(name, n),
        Cell::Decimal(text) => map.serialize_entry(name, text),
    }
}

/// `totals` / `other`: metrics then `previous_*`.
struct Summary<'a>(&'a Line, Option<&'a Line>);

impl Serialize for Summary<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        put_line(&mut map, self.0, self.1)?;
        map.end()
    }
}

/// `data`: one array per key column, metric and previous metric.
struct Data<'a>(&'a BreakdownDocument);

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let doc = self.0;
        let mut map = s.serialize_map(None)?;
        for (i, name) in doc.key_columns.iter().enumerate() {
            let column: Vec<serde_json::Value> = doc
                .keys
                .iter()
                .map(|k| match &k[i] {
                    KeyValue::Int(n) => serde_json::Value::from(*n),
                    KeyValue::Text(t) => serde_json::Value::from(t.as_str()),
                })
                .collect();
            map.serialize_entry(name, &column)?;
        }
        let columns = |lines: &[Line], prefix_previous: bool, map: &mut S::SerializeMap| {
            for (m, metric) in Metric::ALL.iter().enumerate() {
                let name = if prefix_previous {
                    metric.previous_name()
                } else {
                    metric.name()
                };
                let column: Vec<serde_json::Value> = lines
                    .iter()
                    .map(|l| match &l.cells()[m] {
                        Cell::Int(n) => serde_json::Value::from(*n),
                        Cell::Decimal(t) => {
                            t.map_or(serde_json::Value::Null, serde_json::Value::from)
                        }
                    })
                    .collect();
                map.serialize_entry(name, &column)?;
            }
            Ok(())
        };
        columns(&doc.rows, false, &mut map)?;
        if doc.compare {
            columns(&doc.previous_rows, true, &mut map)?;
        }
        map.end()
    }
}

impl Serialize for BreakdownDocument {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("data", &Data(self))?;
        map.serialize_entry("rows", &self.rows.len())?;
        map.serialize_entry(
            "totals",
            &Summary(&self.totals, self.previous_totals.as_ref()),
        )?;
        if let Some((line, previous)) = &self.other {
            map.serialize_entry("other", &Summary(line, previous.as_ref()))?;
        }
        map.end()
    }
}

/// Every column of `format=rows` and CSV, in order.
pub fn column_names(key_columns: &[&'static str], compare: bool) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = key_columns.to_vec();
    names.extend(Metric::ALL.iter().map(|m| m.name()));
    if compare {
        names.extend(Metric::ALL.iter().map(|m| m.previous_name()));
    }
    names
}

/// The CSV header: every column name quoted, CRLF.
pub fn csv_header(key_columns: &[&'static str], compare: bool) -> String {
    let names: Vec<String> = column_names(key_columns, compare)
        .iter()
        .map(|n| quoted(n))
        .collect();
    names.join(",") + "\r\n"
}

/// One output row: key values (`None` for other's) and the lines.
struct OutRow<'a> {
    key: Option<&'a [KeyValue]>,
    line: &'a Line,
    previous: Option<&'a Line>,
}

impl BreakdownDocument {
    fn out_rows(&self) -> Vec<OutRow<'_>> {
        let mut out: Vec<OutRow<'_>> = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, key)| OutRow {
                key: Some(key),
                line: &self.rows[i],
                previous: self.previous_rows.get(i),
            })
            .collect();
        if let Some((line, previous)) = &self.other {
            out.push(OutRow {
                key: None,
                line,
                previous: previous.as_ref(),
            });
        }
        out
    }

    /// `format=rows`: one object per row, `other` last with null keys; numbers as JSON
    /// numbers copied from their exact text.
    pub fn to_rows_json(&self) -> Vec<u8> {
        let mut out = b"[".to_vec();
        for (r, row) in self.out_rows().iter().enumerate() {
            if r > 0 {
                out.push(b',');
            }
            out.push(b'{');
            let mut first = true;
            let mut field = |out: &mut Vec<u8>, name: &str, value: &str| {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(format!("\"{name}\":{value}").as_bytes());
            };
            for (i, name) in self.key_columns.iter().enumerate() {
                let value = match row.key.map(|k| &k[i]) {
                    None => "null".to_owned(),
                    Some(KeyValue::Int(n)) => n.to_string(),
                    Some(KeyValue::Text(t)) => serde_json::to_string(t).unwrap_or_default(),
                };
                field(&mut out, name, &value);
            }
            let lines = [Some(row.line), row.previous];
            for (line, previous) in lines.iter().zip([false, true]) {
                let Some(line) = line else { continue };
                for (metric, cell) in Metric::ALL.iter().zip(line.cells()) {
                    let name = if previous {
                        metric.previous_name()
                    } else {
                        metric.name()
                    };
                    let value = match cell {
                        Cell::Int(n) => n.to_string(),
                        Cell::Decimal(t) => t.unwrap_or("null").to_owned(),
                    };
                    field(&mut out, name, &value);
                }
            }
            out.push(b'}');
        }
        out.push(b']');
        out
    }

    /// RFC 4180 CSV: the header, then one CRLF-terminated row per key and `other` last with
    /// empty key fields; text quoted, numbers bare, nulls empty.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = csv_header(&self.key_columns, self.compare).into_bytes();
        for row in self.out_rows() {
            let mut fields: Vec<String> = Vec::new();
            for i in 0..self.key_columns.len() {
                fields.push(match row.key.map(|k| &k[i]) {
                    None => String::new(),
                    Some(KeyValue::Int(n)) => n.to_string(),
                    Some(KeyValue::Text(t)) => quoted(t),
                });
            }
            for line in [Some(row.line), row.previous].into_iter().flatten() {
                for cell in line.cells() {
                    fields.push(match cell {
                        Cell::Int(n) => n.to_string(),
                        Cell::Decimal(t) => t.unwrap_or_default().to_owned(),
                    });
                }
            }
            out.extend_from_slice(fields.join(",").as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums(total: u64, successful: u64, answered_duration: i64) -> Sums {
        Sums {
            total,
            successful,
            answered_duration,
            duration: answered_duration,
            ..Sums::default()
        }
    }

    fn group(country: i64, now: Sums) -> Group {
        Group {
            key: vec![KeyValue::Int(country)],
            now,
        }
    }

    fn doc(groups: Vec<Group>, sort: Sort, limit: usize) -> BreakdownDocument {
        build(
            vec!["dst_country_id"],
            groups,
            None,
            <[KeyValue]>::to_vec,
            sort,
            limit,
        )
    }

    fn countries(d: &BreakdownDocument) -> Vec<i64> {
        d.keys
            .iter()
            .map(|k| match k[0] {
                KeyValue::Int(n) => n,
                KeyValue::Text(_) => -1,
            })
            .collect()
    }

    #[test]
    fn rows_sort_by_the_exact_value_with_nulls_last_and_ties_by_key() {
        // acd 10/3 = 3.333… and 3.33 = 333/100 round alike but differ; 5 has no acd.
        let groups = vec![
            group(9, sums(4, 3, 10)),
            group(7, sums(100, 100, 333)),
            group(5, sums(2, 0, 0)),
            group(8, sums(4, 3, 10)),
        ];
        let by = |descending| Sort {
            metric: Metric::Acd,
            descending,
        };
        assert_eq!(
            countries(&doc(groups.clone(), by(true), 10)),
            vec![8, 9, 7, 5]
        );
        assert_eq!(countries(&doc(groups, by(false), 10)), vec![7, 8, 9, 5]);
    }

    #[test]
    fn fractions_compare_exactly_without_overflow() {
        use Ordering::{Equal, Greater, Less};
        assert_eq!(cmp_fraction(1, 3, 333, 1000), Greater);
        assert_eq!(cmp_fraction(2, 4, 1, 2), Equal);
        assert_eq!(cmp_fraction(-1, 3, -1, 4), Less);
        assert_eq!(cmp_fraction(-5, 2, -2, 1), Less);
        assert_eq!(cmp_fraction(0, 7, 0, 1), Equal);
        let big = i128::from(i64::MAX);
        let den = 1000 * i128::from(u64::MAX);
        assert_eq!(cmp_fraction(big, den, big - 1, den), Greater);
        assert_eq!(cmp_fraction(big, den, big, den - 1), Less);
    }

    #[test]
    fn other_sums_the_cut_rows_and_recomputes_ratios() {
        let groups = vec![
            group(1, sums(10, 5, 50)),
            group(2, sums(3, 1, 7)),
            group(3, sums(1, 1, 2)),
        ];
        let d = doc(
            groups,
            Sort {
                metric: Metric::TotalCalls,
                descending: true,
            },
            1,
        );
        let (other, previous) = d.other.clone().expect("cut");
        assert_eq!(previous, None);
        assert_eq!((other.total_calls, other.successful_calls), (4, 2));
        assert_eq!(other.acd.as_deref(), Some("4.5"));
        assert_eq!(other.asr.as_deref(), Some("50.0"));
        assert_eq!(d.totals.total_calls, 14);
        let json = serde_json::to_string(&d).expect("json");
        assert!(
            json.starts_with(r#"{"data":{"dst_country_id":[1],"total_calls":[10],"#),
            "{json}"
        );
        assert!(
            json.contains(r#""rows":1,"totals":{"total_calls":14,"#),
            "{json}"
        );
        assert!(json.ends_with(r#""other":{"total_calls":4,"successful_calls":2,"failed_calls":2,"total_duration":"0.15","acd":"4.5","asr":"50.0","total_price":"0.0","pdd":null}}"#), "{json}");
        let csv = String::from_utf8(d.to_csv()).expect("utf-8");
        assert!(csv.ends_with("\r\n,4,2,2,0.15,4.5,50.0,0.0,\r\n"), "{csv}");
        let rows = String::from_utf8(d.to_rows_json()).expect("utf-8");
        assert!(
            rows.contains(r#"{"dst_country_id":null,"total_calls":4,"#),
            "{rows}"
        );
    }

    #[test]
    fn pdd_and_price_round_half_away_from_zero() {
        let s = Sums {
            total: 2,
            price_micros: 5_000,
            pdd_ms: 2_345 + 2_000,
            pdd_count: 2,
            ..Sums::default()
        };
        let line = s.line();
        assert_eq!(line.total_price, "0.01");
        // (2.345 + 2.0) / 2 = 2.1725 → 2.17
        assert_eq!(line.pdd.as_deref(), Some("2.17"));
        assert_eq!(Sums::default().line().pdd, None);
        assert_eq!(Sums::default().line().total_duration, "0.0");
    }
}
