//! `termination-statistics` / `origination-statistics`: calls, minutes and exact price sums per
//! bucket (minute … month), only buckets holding CDRs, plus totals.
//!
//! Answered like the quality endpoints: whole minutes from a per-minute rollup when one holds
//! every filtered column (the rollups also sum both durations and the prices in exact
//! millionths, `schema/011_family_rollups.sql`), raw CDRs for the rest.

use super::filters::Filter;
use super::metrics::{format, ratio};
use super::params::{RawParams, Value};
use super::plan::{self, Bind, Plan, Window};
use super::price_sql;
use super::query::{Executor, per_bucket};
use super::retention::Retention;
use super::table::{Cell, Tabular};
use super::table::{csv_header, to_csv, to_rows_json};
use super::time::{Grid, Instant, Sampling};
use crate::answer::{Ask, Computed, Family, RequestKey, check_bucket_limit};
use crate::config::Settings;
use crate::domain::{Endpoint, Side};
use crate::error::ApiError;
use chrono::{DateTime, Datelike, NaiveDate};
use chrono_tz::Tz;
use clickhouse::Row;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The statistics endpoints' family.
pub struct Statistics {
    settle_lag: i64,
    retention: Retention,
    max_buckets: u64,
    termination_duration: &'static str,
    origination_duration: &'static str,
}

impl Statistics {
    pub fn new(settings: &Settings) -> Self {
        Self {
            settle_lag: settings.settle_lag_secs,
            retention: Retention::from_settings(settings),
            max_buckets: settings.max_buckets,
            termination_duration: settings.duration_column(Side::Termination),
            origination_duration: settings.duration_column(Side::Origination),
        }
    }
}

impl Family for Statistics {
    type Request = TotalsRequest;
    type Document = TotalsDocument;
    type Key = RequestKey;
    const CACHE_LABEL: &'static str = "family";

    fn parse(&self, endpoint: Endpoint, query: &str) -> Result<TotalsRequest, ApiError> {
        TotalsRequest::parse(endpoint, query)
    }

    fn account(request: &TotalsRequest) -> Uuid {
        request.account
    }

    fn from_secs(request: &TotalsRequest) -> Option<i64> {
        Some(request.from.secs)
    }

    fn csv_header(_: &TotalsRequest) -> String {
        csv_header::<TotalsDocument>()
    }

    fn key(&self, ask: &Ask<'_, TotalsRequest>) -> Result<RequestKey, ApiError> {
        let buckets = ask.request.bucket_count(ask.now);
        check_bucket_limit(buckets, self.max_buckets)?;
        Ok(RequestKey::of(ask))
    }

    async fn compute(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_, TotalsRequest>,
    ) -> Result<Computed<TotalsDocument>, ApiError> {
        let r = ask.request;
        let column = match r.endpoint.side() {
            Side::Termination => self.termination_duration,
            Side::Origination => self.origination_duration,
        };
        let window = r.window(ask.now);
        let since = exec.rollup_since(r.endpoint, ask.account).await?;
        let plan = plan(r, ask.account, window, column, since);
        self.retention.check(&plan, ask.now)?;
        let rows = exec.rows::<TotalsRow>(&plan).await?;
        Ok(Computed {
            doc: build(rows, r.time_zone),
            source: plan.path.into(),
            settled: window.to < ask.now - self.settle_lag,
        })
    }

    fn rows(doc: &TotalsDocument) -> usize {
        doc.rows
    }

    fn to_rows_json(doc: &TotalsDocument) -> Result<Vec<u8>, ApiError> {
        Ok(to_rows_json(doc))
    }

    fn to_csv(doc: &TotalsDocument) -> Vec<u8> {
        to_csv(doc)
    }
}

const TOTALS: &str = include_str!("../../sql/totals.sql");
const TOTALS_RAW: &str = include_str!("../../sql/totals_raw.sql");
const TOTALS_ROLLUP: &str = include_str!("../../sql/totals_rollup.sql");

const REQUIRED: [&str; 3] = ["account-id", "from-time", "sampling"];
const SCALARS: [&str; 6] = [
    "account-id",
    "from-time",
    "to-time",
    "sampling",
    "time-zone",
    "week-start",
];

/// The first day of a `week` bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeekStart {
    /// yeti's `toStartOfWeek` default.
    Sunday,
    Monday,
}

impl WeekStart {
    /// ClickHouse's `toStartOfWeek` mode: 0 starts on Sunday, 1 on Monday.
    fn mode(self) -> u8 {
        match self {
            Self::Sunday => 0,
            Self::Monday => 1,
        }
    }
}

/// Bucket width of the statistics endpoints: the quality endpoints' samplings plus calendar
/// weeks and months.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucketing {
    Fixed(Sampling),
    Week(WeekStart),
    Month,
}

impl Bucketing {
    /// Every accepted `sampling` value.
    pub const NAMES: [&str; 7] = [
        "minute",
        "5minutes",
        "15minutes",
        "hour",
        "day",
        "week",
        "month",
    ];

    fn parse(sampling: &str, week_start: WeekStart) -> Option<Self> {
        match sampling {
            "week" => Some(Self::Week(week_start)),
            "month" => Some(Self::Month),
            other => Sampling::parse(other).map(Self::Fixed),
        }
    }
}

/// A validated request to a statistics endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct TotalsRequest {
    pub endpoint: Endpoint,
    pub account: Uuid,
    pub from: Instant,
    pub to: Option<Instant>,
    pub bucketing: Bucketing,
    pub time_zone: Option<Tz>,
    pub filters: Vec<(&'static Filter, Value)>,
}

impl TotalsRequest {
    /// Parses the query string; errors in the contract's order (arrays, missing, values).
    pub fn parse(endpoint: Endpoint, query: &str) -> Result<Self, ApiError> {
        let raw = RawParams::collect(endpoint, query, &SCALARS)?;
        raw.require(&REQUIRED)?;
        let account = raw.account()?;
        let (from, to) = raw.window()?;
        let week_start = match raw.get("week-start") {
            None | Some("sunday") => WeekStart::Sunday,
            Some("monday") => WeekStart::Monday,
            Some(_) => return Err(ApiError::InvalidValue("week-start")),
        };
        let bucketing = raw
            .get("sampling")
            .and_then(|s| Bucketing::parse(s, week_start))
            .ok_or(ApiError::InvalidSampling)?;
        Ok(Self {
            endpoint,
            account,
            from,
            to,
            bucketing,
            time_zone: raw.time_zone()?,
            filters: raw.filters()?,
        })
    }

    /// The counted window `[from, end]` answered at `now`.
    pub fn window(&self, now: i64) -> Window {
        Window {
            from: self.from.ceil(),
            to: self.to.map_or(now, |t| t.floor().min(now)),
        }
    }

    /// The buckets the window spans (the bucket limit applies to the window, not to the
    /// non-empty buckets answered).
    pub fn bucket_count(&self, now: i64) -> u64 {
        let last = self.window(now).to;
        let first = self.from.secs;
        let count = match self.bucketing {
            Bucketing::Fixed(sampling) => {
                let grid = Grid {
                    sampling,
                    tz: self.time_zone,
                };
                (grid.floor(last) - grid.floor(first)) / sampling.seconds() + 1
            }
            Bucketing::Week(start) => {
                let (a, b) = (self.local_date(first), self.local_date(last));
                let offset = match start {
                    WeekStart::Sunday => a.weekday().num_days_from_sunday(),
                    WeekStart::Monday => a.weekday().num_days_from_monday(),
                };
                ((b - a).num_days() + i64::from(offset)) / 7 + 1
            }
            Bucketing::Month => {
                let (a, b) = (self.local_date(first), self.local_date(last));
                let months = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
                months(b) - months(a) + 1
            }
        };
        u64::try_from(count.max(0)).unwrap_or(0)
    }

    /// The calendar date of `secs` in the request's zone (UTC by default).
    fn local_date(&self, secs: i64) -> NaiveDate {
        let utc = DateTime::from_timestamp(secs, 0).unwrap_or_default();
        match self.time_zone {
            Some(tz) => utc.with_timezone(&tz).date_naive(),
            None => utc.date_naive(),
        }
    }
}

/// The SQL for `request` over `window` for `account`, `duration_column` summed into
/// `total_duration`: whole minutes from a rollup when one holds every filtered column (the
/// quality planner's rule and split, [`plan::choose_rollup`], [`plan::Split`]), raw CDRs for
/// the rest. `since` is the account-side's rollup `since` ([`plan::NOT_ROLLED_UP`]: raw CDRs
/// only, as the equivalence tests force).
pub fn plan(
    request: &TotalsRequest,
    account: u32,
    window: Window,
    duration_column: &'static str,
    since: i64,
) -> Plan {
    let rollup = plan::choose_rollup(&request.filters, true);
    let mut binds = vec![("account".to_owned(), Bind::UInt32(account))];
    let bucket = bucket_expression(request, &mut binds);
    let filters = plan::filter_conditions(&request.filters, &mut binds);
    let side = plan::side(request.endpoint);
    let split = plan::Split::new(&[window], rollup, since, side, &mut binds);
    let mut parts = Vec::new();
    if let Some(ranges) = &split.raw_ranges {
        // Origination counts last CDRs: `cdrs_by_customer` holds exactly those, ordered by
        // customer (one account's range, not a scan of `cdrs`), but not the billed durations.
        let table = match (request.endpoint.side(), duration_column) {
            (Side::Origination, "duration") => "cdrs_by_customer",
            _ => "cdrs",
        };
        let mut conditions = String::new();
        if request.endpoint.last_cdr_only() && table == "cdrs" {
            conditions.push_str("AND is_last_cdr ");
        }
        conditions.push_str(&filters);
        parts.push(
            TOTALS_RAW
                .replace("%BUCKET%", &bucket.replace("%TIME%", "time_start"))
                .replace("%RAW_TABLE%", table)
                .replace("%DURATION_COLUMN%", duration_column)
                .replace("%PRICE_COLUMN%", price_sql::column(request.endpoint.side()))
                .replace("%PRICE_MICROS%", price_sql::OF_PRICE_COLUMN)
                .replace("%ACCOUNT_COLUMN%", request.endpoint.account_column())
                .replace("%RANGES%", ranges)
                .replace("%CONDITIONS%", conditions.trim_end()),
        );
    }
    if let (Some(rollup), Some(ranges)) = (rollup, &split.rollup_ranges) {
        // The rollups sum `duration` over every CDR and the side's billed duration
        // (schema/011_family_rollups.sql); origination rows are last CDRs only.
        let duration_sum = match duration_column {
            "duration" => "full_duration_sum",
            _ => "billed_duration_sum",
        };
        parts.push(
            TOTALS_ROLLUP
                .replace("%BUCKET%", &bucket.replace("%TIME%", "minute"))
                .replace("%DURATION_SUM%", duration_sum)
                .replace("%ROLLUP%", rollup.table)
                .replace("%RANGES%", ranges)
                .replace("%CONDITIONS%", filters.trim_end()),
        );
    }
    split.into_plan(TOTALS.replace("%PARTS%", &parts.join("UNION ALL\n")), binds)
}

/// The bucket start of a time column (`%TIME%`): the quality endpoints' grid, or the local
/// midnight starting the calendar week or month.
fn bucket_expression(request: &TotalsRequest, binds: &mut Vec<(String, Bind)>) -> String {
    match request.bucketing {
        Bucketing::Fixed(sampling) => plan::bucket_expression(
            Grid {
                sampling,
                tz: request.time_zone,
            },
            binds,
        ),
        calendar => {
            let zone = request.time_zone.map_or("UTC", |tz| tz.name());
            binds.push(("tz".to_owned(), Bind::Text(zone.to_owned())));
            // toStartOfWeek/Month give the local date; its local midnight is the bucket start.
            match calendar {
                Bucketing::Week(start) => {
                    binds.push(("week_mode".to_owned(), Bind::UInt8(start.mode())));
                    "toDateTime(toStartOfWeek(%TIME%, {week_mode:UInt8}, {tz:String}), {tz:String})"
                }
                _ => "toDateTime(toStartOfMonth(%TIME%, {tz:String}), {tz:String})",
            }
            .to_owned()
        }
    }
}

/// One bucket's sums from one part of the query (sql/totals_raw.sql, sql/totals_rollup.sql).
#[derive(Clone, Debug, Row, Deserialize)]
pub struct TotalsRow {
    pub t: u32,
    #[serde(rename = "c")]
    pub total_calls: u64,
    #[serde(rename = "s")]
    pub successful_calls: u64,
    /// Seconds of answered calls (`duration`), for `acd`.
    #[serde(rename = "ad")]
    pub answered_duration: i64,
    /// Seconds of the configured duration column, for `total_duration`.
    #[serde(rename = "td")]
    pub total_duration: i64,
    /// The price sum in millionths (each price rounded to 6 places first): exact.
    #[serde(rename = "p")]
    pub total_price_micros: i64,
}

impl TotalsRow {
    fn add(&mut self, other: &TotalsRow) {
        self.total_calls += other.total_calls;
        self.successful_calls += other.successful_calls;
        self.answered_duration += other.answered_duration;
        self.total_duration += other.total_duration;
        self.total_price_micros += other.total_price_micros;
    }
}

/// The response body of a statistics endpoint.
#[derive(Debug, Serialize, PartialEq)]
pub struct TotalsDocument {
    pub data: TotalsColumns,
    pub rows: usize,
    pub totals: TotalsLine,
    /// The zone of the buckets, for the `time` column of CSV.
    #[serde(skip)]
    pub tz: Option<Tz>,
}

/// One array per column, index-aligned by bucket.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct TotalsColumns {
    pub t: Vec<i64>,
    pub total_calls: Vec<u64>,
    pub successful_calls: Vec<u64>,
    pub failed_calls: Vec<u64>,
    pub total_duration: Vec<String>,
    pub acd: Vec<Option<String>>,
    pub asr: Vec<Option<String>>,
    pub total_price: Vec<String>,
}

/// The same columns over all buckets; `t` is always 0.
#[derive(Debug, Serialize, PartialEq)]
pub struct TotalsLine {
    pub t: i64,
    pub total_calls: u64,
    pub successful_calls: u64,
    pub failed_calls: u64,
    pub total_duration: String,
    pub acd: Option<String>,
    pub asr: Option<String>,
    pub total_price: String,
}

/// Integer and exact-decimal sums of a bucket or of all buckets.
#[derive(Clone, Copy, Default)]
struct Sums {
    total: u64,
    successful: u64,
    answered_duration: i64,
    duration: i64,
    price: Decimal,
}

impl Sums {
    fn line(&self) -> (String, Option<String>, Option<String>, String) {
        let (total, successful) = (i128::from(self.total), i128::from(self.successful));
        (
            format(ratio(i128::from(self.duration), 60)),
            (successful > 0).then(|| format(ratio(i128::from(self.answered_duration), successful))),
            (total > 0).then(|| format(ratio(100 * successful, total))),
            format(
                self.price
                    .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
            ),
        )
    }
}

/// Builds the document from the rows of [`plan`] (only non-empty buckets; a bucket may have a
/// row from each part of the query).
pub fn build(rows: Vec<TotalsRow>, tz: Option<Tz>) -> TotalsDocument {
    let rows = per_bucket(rows, |r| r.t, TotalsRow::add);
    let prices: Vec<Decimal> = rows
        .iter()
        .map(|row| Decimal::new(row.total_price_micros, 6))
        .collect();
    assemble(&rows, &prices, tz)
}

/// The document of an empty window.
pub fn empty(tz: Option<Tz>) -> TotalsDocument {
    assemble(&[], &[], tz)
}

fn assemble(rows: &[TotalsRow], prices: &[Decimal], tz: Option<Tz>) -> TotalsDocument {
    let mut data = TotalsColumns::default();
    let mut all = Sums::default();
    for (row, &price) in rows.iter().zip(prices) {
        let sums = Sums {
            total: row.total_calls,
            successful: row.successful_calls,
            answered_duration: row.answered_duration,
            duration: row.total_duration,
            price,
        };
        let (duration, acd, asr, price) = sums.line();
        data.t.push(i64::from(row.t));
        data.total_calls.push(sums.total);
        data.successful_calls.push(sums.successful);
        data.failed_calls.push(sums.total - sums.successful);
        data.total_duration.push(duration);
        data.acd.push(acd);
        data.asr.push(asr);
        data.total_price.push(price);
        all.total += sums.total;
        all.successful += sums.successful;
        all.answered_duration += sums.answered_duration;
        all.duration += sums.duration;
        all.price += sums.price;
    }
    let (total_duration, acd, asr, total_price) = all.line();
    TotalsDocument {
        rows: data.t.len(),
        data,
        totals: TotalsLine {
            t: 0,
            total_calls: all.total,
            successful_calls: all.successful,
            failed_calls: all.total - all.successful,
            total_duration,
            acd,
            asr,
            total_price,
        },
        tz,
    }
}

impl Tabular for TotalsDocument {
    const COLUMNS: &'static [&'static str] = &[
        "total_calls",
        "successful_calls",
        "failed_calls",
        "total_duration",
        "acd",
        "asr",
        "total_price",
    ];

    fn zone(&self) -> Option<Tz> {
        self.tz
    }

    fn buckets(&self) -> usize {
        self.rows
    }

    fn bucket(&self, i: usize) -> (i64, Vec<Cell<'_>>) {
        let d = &self.data;
        let int = |n: u64| Cell::Int(i64::try_from(n).unwrap_or(i64::MAX));
        let cells = vec![
            int(d.total_calls[i]),
            int(d.successful_calls[i]),
            int(d.failed_calls[i]),
            Cell::Decimal(Some(&d.total_duration[i])),
            Cell::Decimal(d.acd[i].as_deref()),
            Cell::Decimal(d.asr[i].as_deref()),
            Cell::Decimal(Some(&d.total_price[i])),
        ];
        (d.t[i], cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(extra: &str) -> TotalsRequest {
        let q = format!("account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55{extra}");
        TotalsRequest::parse(Endpoint::TerminationStatistics, &q).expect("valid")
    }

    #[test]
    fn calendar_buckets_are_counted_exactly() {
        // Wednesday 2024-10-02 to Sunday 2024-10-27 (Europe/Berlin dates).
        let week = request(
            "&from-time=2024-10-02T12:00:00Z&to-time=2024-10-27T12:00:00Z&sampling=week&time-zone=Europe%2FBerlin",
        );
        // Sunday weeks starting Sep 29, Oct 6, 13, 20, 27.
        assert_eq!(week.bucket_count(i64::MAX / 2), 5);
        let monday = TotalsRequest {
            bucketing: Bucketing::Week(WeekStart::Monday),
            ..week.clone()
        };
        // Monday weeks starting Sep 30, Oct 7, 14, 21.
        assert_eq!(monday.bucket_count(i64::MAX / 2), 4);
        let month = request("&from-time=2023-12-31&to-time=2024-02-01&sampling=month");
        assert_eq!(month.bucket_count(i64::MAX / 2), 3);
        let minutes =
            request("&from-time=2024-01-01T00:00:30Z&to-time=2024-01-01T00:02:00Z&sampling=minute");
        assert_eq!(minutes.bucket_count(i64::MAX / 2), 3);
    }

    #[test]
    fn week_month_and_zone_are_bound_as_parameters() {
        let req = request(
            "&from-time=2024-10-01&sampling=week&week-start=monday&time-zone=Europe%2FBerlin&vendor-price-gt=0.1",
        );
        let p = plan(&req, 7, req.window(1_730_000_000), "vendor_duration", 0);
        assert!(
            p.sql
                .contains("toStartOfWeek(time_start, {week_mode:UInt8}, {tz:String})")
        );
        assert!(p.sql.contains("sum(toInt64(vendor_duration))"));
        assert!(p.sql.contains("vendor_price AS price"));
        // The one price rule, as the views apply it.
        assert!(
            p.sql
                .contains(&format!("sum({} * toInt64(n))", price_sql::OF_PRICE_COLUMN))
        );
        assert!(p.binds.contains(&("week_mode".into(), Bind::UInt8(1))));
        assert!(
            p.binds
                .contains(&("tz".into(), Bind::Text("Europe/Berlin".into())))
        );
        assert!(!p.sql.contains('%') && !p.sql.contains('?') && !p.sql.contains("is_last_cdr"));
        let o = TotalsRequest {
            endpoint: Endpoint::OriginationStatistics,
            ..request("&from-time=2024-10-01&sampling=month")
        };
        // Counted by `duration`: the last CDRs of `cdrs_by_customer`, no is_last_cdr needed.
        let p = plan(&o, 7, o.window(1_730_000_000), "duration", 0);
        assert!(p.sql.contains("FROM cdrs_by_customer") && p.sql.contains("customer_acc_id"));
        assert!(!p.sql.contains("is_last_cdr"));
        // Counted by `customer_duration`, which only `cdrs` holds: its last CDRs.
        let p = plan(&o, 7, o.window(1_730_000_000), "customer_duration", 0);
        assert!(p.sql.contains("FROM cdrs\n") && p.sql.contains("AND is_last_cdr"));
        assert!(p.binds.contains(&("tz".into(), Bind::Text("UTC".into()))));
    }

    #[test]
    fn whole_minutes_come_from_the_rollup_that_holds_every_filter_and_the_rest_from_cdrs() {
        use super::plan::{NOT_ROLLED_UP, Path};
        let req = request(
            "&from-time=2024-10-01T00:00:30Z&to-time=2024-10-01T02:00:10Z&sampling=week&dst-country-id=44",
        );
        let window = req.window(1_730_000_000);
        let p = plan(&req, 7, window, "vendor_duration", 0);
        assert_eq!(p.path, Path::Rollup);
        // The planner's split: partial minutes raw, whole minutes from the rollup.
        assert_eq!(p.raw_from, Some(window.from));
        assert_eq!(p.rollup_from, Some(window.from + 30));
        assert!(p.sql.contains("FROM rollup_minute_country\n"), "{}", p.sql);
        // Whole minutes before the account-side's `since` are raw too.
        let since = window.from + 30 + 59 * 60;
        let later = plan(&req, 7, window, "vendor_duration", since);
        assert_eq!(later.rollup_from, Some(since));
        let text = |v: &str| Bind::Text(v.into());
        assert_eq!(later.bound("r1_from"), text("2024-10-01 00:01:00"));
        assert_eq!(later.bound("r1_to"), text("2024-10-01 00:59:59"));
        assert_eq!(later.bound("m0_from"), text("2024-10-01 01:00:00"));
        assert_eq!(later.bound("r2_from"), text("2024-10-01 02:00:00"));
        assert!(p.sql.contains("sum(billed_duration_sum) AS td"));
        assert!(p.sql.contains("sum(toInt64(vendor_duration)) AS n_td"));
        assert!(
            p.sql
                .contains("toStartOfWeek(minute, {week_mode:UInt8}, {tz:String})")
        );
        assert_eq!(
            p.sql
                .matches("dst_country_id = {f_dst_country_id:UInt32}")
                .count(),
            2,
            "the filter applies to both parts"
        );
        assert!(!p.sql.contains('%') && !p.sql.contains('?'));
        // Counted by `duration`: the rollup's sum of every CDR's duration.
        let p = plan(&req, 7, window, "duration", 0);
        assert!(p.sql.contains("sum(full_duration_sum) AS td"));
        // A filter no rollup holds, or rollups not allowed: raw CDRs only.
        for (p, why) in [
            (
                plan(
                    &request("&from-time=2024-10-01&sampling=hour&vendor-price-gt=0.1"),
                    7,
                    window,
                    "duration",
                    0,
                ),
                "price filter",
            ),
            (
                plan(&req, 7, window, "duration", NOT_ROLLED_UP),
                "forced raw",
            ),
        ] {
            assert_eq!(p.path, Path::Raw, "{why}");
            assert!(!p.sql.contains("rollup_"), "{why}: {}", p.sql);
            assert_eq!(p.rollup_from, None, "{why}");
        }
    }

    #[test]
    fn prices_add_exactly_and_round_half_away_from_zero() {
        let row = |t, micros| TotalsRow {
            t,
            total_calls: 2,
            successful_calls: 1,
            answered_duration: 61,
            total_duration: 61,
            total_price_micros: micros,
        };
        let doc = build(vec![row(0, 5_000), row(60, 1_004_999)], None);
        assert_eq!(doc.data.total_price, vec!["0.01", "1.0"]);
        assert_eq!(doc.totals.total_price, "1.01");
        assert_eq!(doc.totals.total_duration, "2.03");
        assert_eq!(doc.totals.failed_calls, 2);
        assert_eq!(
            build(vec![row(0, -5_000)], None).totals.total_price,
            "-0.01"
        );
        // A bucket with a row from each part of the query (raw edge, rollup), out of order.
        let doc = build(
            vec![row(60, 2_500_000), row(0, 1), row(60, 2_500_000)],
            None,
        );
        assert_eq!(doc.data.t, vec![0, 60]);
        assert_eq!(doc.data.total_calls, vec![2, 4]);
        assert_eq!(doc.data.total_price, vec!["0.0", "5.0"]);
        assert_eq!(doc.data.acd, vec![Some("61.0".to_owned()); 2]);
    }
}
