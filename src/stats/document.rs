//! Reshapes per-bucket sums into the columnar response document, filling empty buckets.

use super::metrics::{Sums, format};
use super::table::{Cell, Tabular};
use super::time::Grid;
use serde::Serialize;

/// The response body of a statistics request.
#[derive(Debug, Serialize, PartialEq)]
pub struct Document {
    pub data: Columns,
    pub rows: usize,
    pub totals: Totals,
    /// The zone of the buckets, for local times in CSV.
    #[serde(skip)]
    pub tz: Option<chrono_tz::Tz>,
    /// Rows whose bucket start from ClickHouse was not on the gateway's grid (placed by the
    /// grid instead; 0 when the two agree, as they should).
    #[serde(skip)]
    pub realigned: usize,
}

/// One array per metric, index-aligned by bucket.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Columns {
    pub t: Vec<i64>,
    pub total_calls: Vec<u64>,
    pub acd: Vec<Option<String>>,
    pub asr: Vec<Option<String>>,
    pub cps: Vec<String>,
}

/// The same metrics over all buckets; `t` is always 0.
#[derive(Debug, Serialize, PartialEq)]
pub struct Totals {
    pub t: i64,
    pub total_calls: u64,
    pub acd: Option<String>,
    pub asr: Option<String>,
    pub cps: String,
}

/// Buckets `first..=last` of `grid` with the sums found in `rows`; buckets without a row are
/// empty. Each bucket's `cps` uses its real length; `totals.cps` uses the nominal sampling
/// width, as the contract says.
///
/// Rows are placed by the gateway's own grid, never dropped: a row whose bucket start
/// ClickHouse computed differently (another time-zone database, a DST edge) is added to the
/// bucket holding that start, clamped to the window (the query read only the window's CDRs),
/// and counted in [`Document::realigned`] and a warning.
pub fn build(rows: &[(i64, Sums)], first: i64, last: i64, grid: Grid) -> Document {
    let mut starts = Vec::new();
    let mut t = first;
    while t <= last {
        starts.push(t);
        t = grid.next(t);
    }
    let mut sums = vec![Sums::default(); starts.len()];
    let mut realigned = 0;
    for (rt, row) in rows {
        let Some(last_index) = starts.len().checked_sub(1) else {
            realigned += 1;
            continue;
        };
        let i = match starts.binary_search(rt) {
            Ok(i) => i,
            Err(after) => {
                realigned += 1;
                after.saturating_sub(1).min(last_index)
            }
        };
        sums[i] += *row;
    }
    if realigned > 0 {
        tracing::warn!(
            rows = realigned,
            "bucket starts from ClickHouse differ from the gateway's grid; \
             rows added to the gateway's buckets"
        );
    }
    let mut columns = Columns::default();
    let mut total = Sums::default();
    for (i, (&t, bucket)) in starts.iter().zip(&sums).enumerate() {
        let next = starts.get(i + 1).copied().unwrap_or_else(|| grid.next(t));
        let m = bucket.metrics(next - t);
        columns.t.push(t);
        columns.total_calls.push(bucket.total_calls);
        columns.acd.push(m.acd.map(format));
        columns.asr.push(m.asr.map(format));
        columns.cps.push(format(m.cps));
        total += *bucket;
    }
    let m = total.metrics(grid.sampling.seconds());
    Document {
        tz: grid.tz,
        rows: columns.t.len(),
        data: columns,
        totals: Totals {
            t: 0,
            total_calls: total.total_calls,
            acd: m.acd.map(format),
            asr: m.asr.map(format),
            cps: format(m.cps),
        },
        realigned,
    }
}

impl Tabular for Document {
    const COLUMNS: &'static [&'static str] = &["total_calls", "acd", "asr", "cps"];

    fn zone(&self) -> Option<chrono_tz::Tz> {
        self.tz
    }

    fn buckets(&self) -> usize {
        self.data.t.len()
    }

    fn bucket(&self, i: usize) -> (i64, Vec<Cell<'_>>) {
        let d = &self.data;
        let count = i64::try_from(d.total_calls[i]).unwrap_or(i64::MAX);
        let cells = vec![
            Cell::Int(count),
            Cell::Decimal(d.acd[i].as_deref()),
            Cell::Decimal(d.asr[i].as_deref()),
            Cell::Decimal(Some(&d.cps[i])),
        ];
        (d.t[i], cells)
    }
}

/// Number of buckets from `first` to `last` inclusive.
pub fn bucket_count(first: i64, last: i64, step: i64) -> u64 {
    if last < first {
        0
    } else {
        ((last - first) / step + 1) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::table::{csv_header, to_csv, to_rows_json};
    use crate::stats::time::Sampling;

    const MINUTE: Grid = Grid {
        sampling: Sampling::Minute,
        tz: None,
    };

    fn sums(total_calls: u64, answered: u64, duration_sum: i64) -> Sums {
        Sums::of(total_calls, answered, duration_sum)
    }

    #[test]
    fn the_seed_document_serializes_in_the_contract_shape() {
        let rows = [
            (1_734_700_000, sums(150, 130, 650)),
            (1_734_700_060, sums(120, 100, 480)),
            (1_734_700_120, sums(180, 150, 720)),
        ];
        let doc = build(&rows, 1_734_700_000, 1_734_700_120, MINUTE);
        assert_eq!(
            serde_json::to_string(&doc).expect("serializes"),
            r#"{"data":{"t":[1734700000,1734700060,1734700120],"total_calls":[150,120,180],"acd":["5.0","4.8","4.8"],"asr":["86.67","83.33","83.33"],"cps":["2.5","2.0","3.0"]},"rows":3,"totals":{"t":0,"total_calls":450,"acd":"4.87","asr":"84.44","cps":"7.5"}}"#
        );
    }

    #[test]
    fn gaps_are_filled_with_empty_buckets() {
        let doc = build(&[(120, sums(3, 1, 10))], 0, 240, MINUTE);
        assert_eq!(doc.rows, 5);
        assert_eq!(doc.data.t, vec![0, 60, 120, 180, 240]);
        assert_eq!(doc.data.total_calls, vec![0, 0, 3, 0, 0]);
        assert_eq!(doc.data.acd[0], None);
        assert_eq!(doc.data.asr[2].as_deref(), Some("33.33"));
        assert_eq!(doc.data.cps[0], "0.0");
        assert_eq!(doc.totals.acd.as_deref(), Some("10.0"));
    }

    #[test]
    fn csv_has_one_row_per_bucket_quoted_text_and_empty_nulls() {
        let doc = build(&[(120, sums(3, 1, 10))], 60, 120, MINUTE);
        let csv = String::from_utf8(to_csv(&doc)).expect("utf-8");
        assert_eq!(
            csv,
            "\"t\",\"time\",\"total_calls\",\"acd\",\"asr\",\"cps\"\r\n\
             60,\"1970-01-01T00:01:00Z\",0,,,0.0\r\n\
             120,\"1970-01-01T00:02:00Z\",3,10.0,33.33,0.05\r\n"
        );
        assert!(csv.starts_with(&csv_header::<Document>()));
    }

    #[test]
    fn rows_carry_exact_decimals_as_numbers_and_keep_nulls() {
        let doc = build(&[(120, sums(3, 1, 10))], 60, 120, MINUTE);
        let rows = String::from_utf8(to_rows_json(&doc)).expect("utf-8");
        assert_eq!(
            rows,
            r#"[{"t":60,"time":"1970-01-01T00:01:00Z","total_calls":0,"acd":null,"asr":null,"cps":0.0},{"t":120,"time":"1970-01-01T00:02:00Z","total_calls":3,"acd":10.0,"asr":33.33,"cps":0.05}]"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&rows).expect("valid JSON");
        assert_eq!(parsed[1]["asr"], serde_json::json!(33.33));
    }

    #[test]
    fn rows_and_csv_write_time_in_the_requested_zone() {
        let berlin = Grid {
            sampling: Sampling::Hour,
            tz: Some(chrono_tz::Europe::Berlin),
        };
        let doc = build(&[], 1_734_699_600, 1_734_699_600, berlin);
        let rows = String::from_utf8(to_rows_json(&doc)).expect("utf-8");
        assert!(
            rows.contains(r#""time":"2024-12-20T14:00:00+01:00""#),
            "{rows}"
        );
        let csv = String::from_utf8(to_csv(&doc)).expect("utf-8");
        assert!(csv.contains("1734699600,\"2024-12-20T14:00:00+01:00\",0,,,0.0\r\n"));
    }

    #[test]
    fn an_empty_document_is_an_empty_array_and_a_bare_header() {
        let doc = build(&[], 60, 0, MINUTE);
        assert_eq!(to_rows_json(&doc), b"[]");
        assert_eq!(to_csv(&doc), csv_header::<Document>().into_bytes());
    }

    #[test]
    fn rows_off_the_grid_are_placed_not_dropped() {
        // ClickHouse said 90 (between minutes), 30 before the window and 500 after it.
        let rows = [
            (30, sums(1, 1, 5)),
            (60, sums(2, 1, 10)),
            (90, sums(4, 2, 20)),
            (500, sums(8, 0, 0)),
        ];
        let doc = build(&rows, 60, 180, MINUTE);
        assert_eq!(doc.data.t, vec![60, 120, 180]);
        assert_eq!(doc.data.total_calls, vec![1 + 2 + 4, 0, 8]);
        assert_eq!(doc.totals.total_calls, 15, "every row counted");
        assert_eq!(doc.realigned, 3);
        let aligned = build(&rows[1..2], 60, 180, MINUTE);
        assert_eq!(aligned.realigned, 0);
    }

    #[test]
    fn bucket_counts() {
        assert_eq!(bucket_count(0, 0, 60), 1);
        assert_eq!(bucket_count(0, 86_340, 60), 1440);
        assert_eq!(bucket_count(60, 0, 60), 0);
    }
}
