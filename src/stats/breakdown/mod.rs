//! `termination-breakdown` / `origination-breakdown`: where calls go and why they fail. The
//! statistics endpoints' metrics plus PDD per key (destination country, network or prefix,
//! source country or prefix, the side's disconnect code with its most frequent reason), the
//! top `limit` keys by an exact metric plus an exact `other`, totals, and optionally the
//! previous period of the same length beside every figure.
//!
//! Planned like the series endpoints: whole minutes of a listed account-side from the rollup
//! holding the dimensions and filters (whole hours from the hourly one), the rest from raw
//! CDRs; one query, reading the previous window too when comparing. Ordering, the
//! cut and `other` are computed here from exact integer sums.

pub mod document;
pub mod request;

use self::document::{BreakdownDocument, Group, KeyValue, MatchKey, Sums};
use self::request::{BreakdownRequest, Dimension, previous};
use super::plan::{self, Bind, Plan, Window};
use super::price_sql;
use super::query::Executor;
use super::retention::Retention;
use super::time::clickhouse_datetime;
use crate::answer::{Ask, Computed, Family, RequestKey, Source};
use crate::config::Settings;
use crate::domain::{Endpoint, Side};
use crate::error::ApiError;
use clickhouse::Row;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

const BREAKDOWN: &str = include_str!("../../../sql/breakdown.sql");
const PART_RAW: &str = include_str!("../../../sql/breakdown_raw.sql");
const PART_ROLLUP: &str = include_str!("../../../sql/breakdown_rollup.sql");

/// The breakdown endpoints' family.
pub struct Breakdown {
    settle_lag: i64,
    retention: Retention,
    termination_duration: &'static str,
    origination_duration: &'static str,
}

impl Breakdown {
    pub fn new(settings: &Settings) -> Self {
        Self {
            settle_lag: settings.settle_lag_secs,
            retention: Retention::from_settings(settings),
            termination_duration: settings.duration_column(Side::Termination),
            origination_duration: settings.duration_column(Side::Origination),
        }
    }
}

impl Family for Breakdown {
    type Request = BreakdownRequest;
    type Document = BreakdownDocument;
    type Key = RequestKey;
    const CACHE_LABEL: &'static str = "breakdown";

    fn parse(&self, endpoint: Endpoint, query: &str) -> Result<BreakdownRequest, ApiError> {
        BreakdownRequest::parse(endpoint, query)
    }

    fn account(request: &BreakdownRequest) -> Uuid {
        request.account
    }

    fn from_secs(request: &BreakdownRequest) -> Option<i64> {
        Some(request.from.secs)
    }

    fn csv_header(request: &BreakdownRequest) -> String {
        document::csv_header(&request.key_columns(), request.compare)
    }

    /// No buckets to count: the window is bounded by retention and the query time limit.
    fn key(&self, ask: &Ask<'_, BreakdownRequest>) -> Result<RequestKey, ApiError> {
        Ok(RequestKey::of(ask))
    }

    async fn compute(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_, BreakdownRequest>,
    ) -> Result<Computed<BreakdownDocument>, ApiError> {
        let r = ask.request;
        let column = match r.endpoint.side() {
            Side::Termination => self.termination_duration,
            Side::Origination => self.origination_duration,
        };
        let window = r.window(ask.now);
        let (mut rows, mut source) = (Vec::new(), Source::Raw);
        // Nothing to read when the window is shorter than a second (both times inside one
        // second). One query reads the window and, when comparing, the previous one.
        if window.from <= window.to {
            let since = exec.rollup_since(r.endpoint, ask.account).await?;
            let p = plan(r, ask.account, window, column, since);
            self.retention.check(&p, ask.now)?;
            rows = exec.rows::<BreakdownRow>(&p).await?;
            source = p.path.into();
        }
        Ok(Computed {
            doc: build(r, rows),
            source,
            settled: window.to < ask.now - self.settle_lag,
        })
    }

    fn rows(doc: &BreakdownDocument) -> usize {
        doc.rows.len()
    }

    fn to_rows_json(doc: &BreakdownDocument) -> Result<Vec<u8>, ApiError> {
        Ok(doc.to_rows_json())
    }

    fn to_csv(doc: &BreakdownDocument) -> Vec<u8> {
        doc.to_csv()
    }
}

/// The key expressions of a dimension in the query: (number, text), one of them constant.
fn key_expressions(dimension: Option<Dimension>, side: Side) -> (String, String) {
    match dimension {
        None => ("toInt64(0)".to_owned(), "''".to_owned()),
        Some(d) if d.numeric() => (format!("toInt64({})", d.column(side)), "''".to_owned()),
        // CAST drops LowCardinality, so every key column is a plain String.
        Some(d) => (
            "toInt64(0)".to_owned(),
            format!("CAST({} AS String)", d.column(side)),
        ),
    }
}

/// The CDR columns a source must hold to answer `request`: its dimensions (with the reason
/// beside the disconnect code) and its filters.
fn needed_columns(request: &BreakdownRequest, side: Side) -> Vec<&'static str> {
    let mut needed: Vec<&'static str> = request.by.iter().map(|d| d.column(side)).collect();
    if request.by.contains(&Dimension::DisconnectCode) {
        needed.push(Dimension::reason_column(side));
    }
    needed.extend(request.filters.iter().map(|(f, _)| f.column));
    needed
}

/// The SQL for `request` over `window` (and the previous window when comparing) for
/// `account`, `duration_column` summed into `total_duration`: whole minutes (and hours) from
/// the rollups holding every needed column from the account-side's `since` on
/// ([`plan::NOT_ROLLED_UP`]: none, as the equivalence tests force), the rest from raw CDRs.
/// Column names come only from the fixed dimension, filter and rollup tables.
///
/// Both windows are one query: its planning, which costs more than reading the rollups' few
/// rows, is done once, and the windows are split apart, so every row a part reads lies in one
/// of them and its time tells which (`period` 1 before `window.from`).
pub fn plan(
    request: &BreakdownRequest,
    account: u32,
    window: Window,
    duration_column: &'static str,
    since: i64,
) -> Plan {
    let side = request.endpoint.side();
    let mut binds = vec![("account".to_owned(), Bind::UInt32(account))];
    let windows = if request.compare {
        binds.push((
            "current_from".to_owned(),
            Bind::Text(clickhouse_datetime(window.from)),
        ));
        vec![previous(window), window]
    } else {
        vec![window]
    };
    let period = |time: &str| {
        if request.compare {
            format!("if({time} >= {{current_from:DateTime('UTC')}}, 0, 1)")
        } else {
            "toUInt8(0)".to_owned()
        }
    };
    let filters = plan::filter_conditions(&request.filters, &mut binds);
    let needed = needed_columns(request, side);
    let minute = plan::rollup_holding(plan::BREAKDOWN_MINUTE, &needed);
    let hour = minute.and_then(|_| plan::rollup_holding(plan::BREAKDOWN_HOUR, &needed));
    let split = plan::Split::graded(
        &windows,
        minute,
        hour.is_some(),
        since,
        plan::side(request.endpoint),
        &mut binds,
    );
    let (k1n, k1s) = key_expressions(request.by.first().copied(), side);
    let (k2n, k2s) = key_expressions(request.by.get(1).copied(), side);
    let reason = if request.by.contains(&Dimension::DisconnectCode) {
        format!("CAST({} AS String)", Dimension::reason_column(side))
    } else {
        "''".to_owned()
    };
    let keys = |template: &str| {
        template
            .replace("%K1N%", &k1n)
            .replace("%K1S%", &k1s)
            .replace("%K2N%", &k2n)
            .replace("%K2S%", &k2s)
            .replace("%REASON%", &reason)
            .replace("%CONDITIONS%", filters.trim_end())
    };
    let mut parts = Vec::new();
    if let Some(ranges) = &split.raw_ranges {
        // Origination counts last CDRs: `cdrs_by_customer` holds exactly those (with the
        // origination side's breakdown columns, schema/020_breakdown.sql), ordered by
        // customer, but not the billed durations; for those, the last CDRs of `cdrs`.
        let table = match (side, duration_column) {
            (Side::Origination, "duration") => "cdrs_by_customer",
            _ => "cdrs",
        };
        let last_cdrs = if request.endpoint.last_cdr_only() && table == "cdrs" {
            "AND is_last_cdr "
        } else {
            ""
        };
        parts.push(
            keys(&PART_RAW.replace("%CONDITIONS%", &format!("{last_cdrs}%CONDITIONS%")))
                .replace("%RAW_TABLE%", table)
                .replace("%DURATION_COLUMN%", duration_column)
                .replace("%PRICE_COLUMN%", price_sql::column(side))
                .replace("%PRICE_MICROS%", price_sql::OF_PRICE_COLUMN)
                .replace("%ACCOUNT_COLUMN%", request.endpoint.account_column())
                .replace("%PERIOD%", &period("time_start"))
                .replace("%RANGES%", ranges),
        );
    }
    let duration_sum = if duration_column == "duration" {
        "full_duration_sum"
    } else {
        "billed_duration_sum"
    };
    let rolled = [
        (minute, &split.rollup_ranges, "minute"),
        (hour, &split.hour_ranges, "hour"),
    ];
    for (rollup, ranges, time) in rolled {
        if let (Some(rollup), Some(ranges)) = (rollup, ranges) {
            parts.push(
                keys(PART_ROLLUP)
                    .replace("%ROLLUP%", rollup.table)
                    .replace("%PERIOD%", &period(time))
                    .replace("%DURATION_SUM%", duration_sum)
                    .replace("%RANGES%", ranges),
            );
        }
    }
    let sql = BREAKDOWN.replace("%PARTS%", &parts.join("UNION ALL\n"));
    split.into_plan(sql, binds)
}

/// One key's sums in one period as ClickHouse returns them.
#[derive(Clone, Debug, Row, Deserialize)]
pub struct BreakdownRow {
    /// 0: the window; 1: the previous window.
    pub period: u8,
    pub k1n: i64,
    pub k1s: String,
    pub k2n: i64,
    pub k2s: String,
    /// The most frequent disconnect reason ('' unless grouped by disconnect code).
    pub reason: String,
    pub total_calls: u64,
    pub successful_calls: u64,
    pub answered_duration: i64,
    pub total_duration: i64,
    pub price_micros: i64,
    pub pdd_ms: i64,
    pub pdd_count: u64,
}

impl BreakdownRow {
    fn sums(&self) -> Sums {
        Sums {
            total: self.total_calls,
            successful: self.successful_calls,
            answered_duration: self.answered_duration,
            duration: self.total_duration,
            price_micros: i128::from(self.price_micros),
            pdd_ms: self.pdd_ms,
            pdd_count: self.pdd_count,
        }
    }

    /// The key columns' values in `by` order, the reason after the code.
    fn key(&self, by: &[Dimension]) -> Vec<KeyValue> {
        let mut key = Vec::new();
        for (d, (n, s)) in by
            .iter()
            .zip([(self.k1n, &self.k1s), (self.k2n, &self.k2s)])
        {
            key.push(if d.numeric() {
                KeyValue::Int(n)
            } else {
                KeyValue::Text(s.clone())
            });
            if *d == Dimension::DisconnectCode {
                key.push(KeyValue::Text(self.reason.clone()));
            }
        }
        key
    }
}

/// A row's key without its disconnect reason: how it is found in the previous window.
fn match_key(by: &[Dimension], key: &[KeyValue]) -> MatchKey {
    let mut out = Vec::new();
    let mut i = 0;
    for d in by {
        out.push(key[i].clone());
        i += if *d == Dimension::DisconnectCode {
            2
        } else {
            1
        };
    }
    out
}

/// The answer from the query's rows.
pub fn build(request: &BreakdownRequest, rows: Vec<BreakdownRow>) -> BreakdownDocument {
    let by = &request.by;
    let mut groups = Vec::new();
    let mut before: HashMap<MatchKey, Sums> = HashMap::new();
    for row in rows {
        let key = row.key(by);
        if row.period == 0 {
            groups.push(Group {
                key,
                now: row.sums(),
            });
        } else {
            *before.entry(match_key(by, &key)).or_default() += row.sums();
        }
    }
    document::build(
        request.key_columns(),
        groups,
        request.compare.then_some(&before),
        |key| match_key(by, key),
        request.sort,
        request.limit,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(endpoint: Endpoint, extra: &str) -> BreakdownRequest {
        let q = format!(
            "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2026-04-15T10:00:30Z&to-time=2026-04-15T11:00:29Z{extra}"
        );
        BreakdownRequest::parse(endpoint, &q).expect("valid")
    }

    #[test]
    fn the_previous_window_is_read_by_the_same_query_with_every_value_bound() {
        let r = request(
            Endpoint::TerminationBreakdown,
            "&by=disconnect-code,dst-prefix&compare=previous-period&dst-prefix-routing-starts-with=%27%29%20OR%201%3D1&disconnect-code=486",
        );
        let window = r.window(1_900_000_000);
        let p = plan(&r, 7, window, "duration", 0);
        // No rollup holds both a prefix and a disconnect code.
        assert_eq!(p.path, plan::Path::Raw);
        assert_eq!(p.raw_from, Some(window.from - 3600));
        // A row's period is told by its time: 1 before the asked window's first second.
        assert!(p.binds.contains(&(
            "current_from".into(),
            Bind::Text("2026-04-15 10:00:30".into())
        )));
        assert!(
            p.sql
                .contains("if(time_start >= {current_from:DateTime('UTC')}, 0, 1) AS period"),
            "{}",
            p.sql
        );
        assert!(
            p.sql.contains("toInt64(legb_disconnect_code) AS k1n"),
            "{}",
            p.sql
        );
        assert!(p.sql.contains("CAST(dst_prefix_routing AS String) AS k2s"));
        assert!(
            p.sql
                .contains("CAST(legb_disconnect_reason AS String) AS reason")
        );
        assert!(
            p.sql.contains("FROM cdrs\n") && p.sql.contains("vendor_acc_id = {account:UInt32}")
        );
        assert!(
            p.sql
                .contains("legb_disconnect_code = {f_disconnect_code:Int32}")
        );
        assert!(!p.sql.contains("OR 1=1") && !p.sql.contains('%') && !p.sql.contains('?'));
        assert!(!p.sql.contains("is_last_cdr"));
        assert!(
            p.binds
                .contains(&("r0_from".into(), Bind::Text("2026-04-15 09:00:30".into())))
        );
        assert!(
            p.binds
                .contains(&("r0_to".into(), Bind::Text("2026-04-15 10:00:29".into())))
        );
        assert!(
            p.binds
                .contains(&("r1_to".into(), Bind::Text("2026-04-15 11:00:29".into())))
        );
        let alone = request(Endpoint::TerminationBreakdown, "&by=disconnect-code");
        let p = plan(&alone, 7, window, "duration", 0);
        assert_eq!(
            p.raw_from,
            Some(window.from),
            "no previous window without compare"
        );
        assert!(p.sql.contains("toUInt8(0) AS period") && !p.sql.contains("current_from"));
    }

    #[test]
    fn the_sql_text_depends_on_which_filters_are_given_never_on_their_values() {
        use crate::stats::params::Value;
        let evil = "%27%29%20OR%201%3D1%20--%20%25RANGES%25";
        let r = request(
            Endpoint::OriginationBreakdown,
            &format!(
                "&by=src-prefix,dst-network&compare=previous-period&src-prefix-routing-contains={evil}\
                 &auth-orig-ip=::1&disconnect-code=-1&dst-network-id=4294967295&customer-price-gt=0.5"
            ),
        );
        assert_eq!(r.filters.len(), 5);
        let neutral = BreakdownRequest {
            filters: r
                .filters
                .iter()
                .map(|(f, v)| {
                    let v = match v {
                        Value::Text(_) => Value::Text("x".into()),
                        Value::UInt32(_) => Value::UInt32(0),
                        Value::Int32(_) => Value::Int32(0),
                        Value::Price(_) => Value::Price(0.0),
                        other => other.clone(),
                    };
                    (*f, v)
                })
                .collect(),
            ..r.clone()
        };
        let window = r.window(1_900_000_000);
        let (p, same) = (
            plan(&r, 7, window, "duration", 0),
            plan(&neutral, 7, window, "duration", 0),
        );
        assert_eq!(p.sql, same.sql);
        assert!(!p.sql.contains('%') && !p.sql.contains("OR 1=1"));
        assert!(
            p.sql
                .contains("lega_disconnect_code = {f_disconnect_code:Int32}")
        );
    }

    #[test]
    fn origination_reads_last_cdrs_with_the_a_leg_code() {
        let r = request(Endpoint::OriginationBreakdown, "&by=disconnect-code");
        let window = r.window(1_900_000_000);
        let p = plan(&r, 7, window, "duration", plan::NOT_ROLLED_UP);
        assert!(p.sql.contains("FROM cdrs_by_customer\n"), "{}", p.sql);
        assert!(p.sql.contains("toInt64(lega_disconnect_code) AS k1n"));
        assert!(p.sql.contains("customer_price AS price"));
        assert!(
            p.sql
                .contains(&format!("sum({} * toInt64(n))", price_sql::OF_PRICE_COLUMN))
        );
        assert_eq!(
            p.raw_from,
            Some(window.from),
            "no previous window without compare"
        );
        let p = plan(&r, 7, window, "customer_duration", plan::NOT_ROLLED_UP);
        assert!(p.sql.contains("FROM cdrs\n") && p.sql.contains("AND is_last_cdr"));
    }

    /// Which rollups serve which breakdowns: the window 10:00:30–11:00:29 holds the whole
    /// minutes 10:01–10:59 and no whole hour; 09:59:30–12:00:29 holds the hours 10 and 11.
    #[test]
    fn breakdowns_read_the_rollup_holding_their_dimensions_and_filters() {
        let tables = |extra: &str, from: &str, to: &str| {
            let q = format!(
                "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time={from}&to-time={to}{extra}"
            );
            let r = BreakdownRequest::parse(Endpoint::TerminationBreakdown, &q).expect("valid");
            let p = plan(&r, 7, r.window(1_900_000_000), "duration", 0);
            assert!(!p.sql.contains('%'), "{}", p.sql);
            [
                "cdrs\n",
                "rollup_minute_destination\n",
                "rollup_hour_dst_country\n",
                "rollup_hour_destination\n",
                "rollup_minute_disconnect\n",
            ]
            .into_iter()
            .filter(|t| p.sql.contains(&format!("FROM {t}")))
            .map(|t| t.trim_end())
            .collect::<Vec<_>>()
        };
        let (a, b) = ("2026-04-15T10:00:30Z", "2026-04-15T11:00:29Z");
        let (c, d) = ("2026-04-15T09:59:30Z", "2026-04-15T12:00:29Z");
        assert_eq!(
            tables("&by=dst-country", a, b),
            ["cdrs", "rollup_minute_destination"]
        );
        // Two whole hours and partial minutes at the edges: no minute is read from a rollup.
        assert_eq!(
            tables("&by=dst-country", c, d),
            ["cdrs", "rollup_hour_dst_country"]
        );
        assert_eq!(
            tables("&by=dst-prefix,dst-network&dst-country-id=44", c, d),
            ["cdrs", "rollup_hour_destination"]
        );
        assert_eq!(
            tables("&by=dst-country", a, d),
            [
                "cdrs",
                "rollup_minute_destination",
                "rollup_hour_dst_country"
            ]
        );
        assert_eq!(
            tables("&by=disconnect-code&disconnect-code=486", c, d),
            ["cdrs", "rollup_minute_disconnect"]
        );
        // No rollup holds a source country, a disconnect code beside a destination, or a duration.
        assert_eq!(tables("&by=src-country", c, d), ["cdrs"]);
        assert_eq!(tables("&by=dst-country,disconnect-code", c, d), ["cdrs"]);
        assert_eq!(tables("&by=dst-country&duration-gt=5", c, d), ["cdrs"]);
    }

    #[test]
    fn rows_match_their_previous_window_by_key_without_the_reason() {
        let r = request(
            Endpoint::TerminationBreakdown,
            "&by=dst-country,disconnect-code&compare=previous-period",
        );
        let row = |period, reason: &str, total| BreakdownRow {
            period,
            k1n: 44,
            k1s: String::new(),
            k2n: 486,
            k2s: String::new(),
            reason: reason.into(),
            total_calls: total,
            successful_calls: 0,
            answered_duration: 0,
            total_duration: 0,
            price_micros: 0,
            pdd_ms: 0,
            pdd_count: 0,
        };
        let doc = build(&r, vec![row(0, "Busy Here", 3), row(1, "Busy", 5)]);
        assert_eq!(
            doc.keys,
            vec![vec![
                KeyValue::Int(44),
                KeyValue::Int(486),
                KeyValue::Text("Busy Here".into())
            ]]
        );
        assert_eq!(doc.previous_rows[0].total_calls, 5);
        assert_eq!(doc.previous_totals.as_ref().map(|l| l.total_calls), Some(5));
    }
}
