//! Query planning: which source answers (a rollup or raw CDRs) and the SQL for it. The SQL text
//! is assembled only from the templates in `sql/`, the static filter table and the static rollup
//! table below; request values travel as server-side parameters (`{name:Type}`).

use super::filters::Filter;
use super::params::Value;
use super::time::{Grid, Sampling, clickhouse_datetime};
use crate::domain::{Endpoint, Side};

const BUCKETS: &str = include_str!("../../sql/buckets.sql");
const PART_RAW: &str = include_str!("../../sql/part_raw.sql");
const PART_ROLLUP: &str = include_str!("../../sql/part_rollup.sql");
/// The listing's answer: `since` of `rollup_accounts` rounded up to a minute, or
/// [`NOT_ROLLED_UP`] for an account-side that is not rolled up.
pub const ROLLUP_SINCE_LOOKUP: &str = "SELECT toInt64(toUnixTimestamp(ifNull(minOrNull(\
     toDateTime(intDiv(toUInt32(since) + 59, 60) * 60, 'UTC')), toDateTime(4294967295, 'UTC')))) \
     FROM rollup_accounts FINAL WHERE side = {side:UInt8} AND account_id = {account:UInt32}";
/// The `since` of an account-side that is not rolled up (2106-02-07): every minute is read raw.
pub const NOT_ROLLED_UP: i64 = 4_294_967_295;

/// Rollups cover whole minutes: a range is split where its edges are not minute-aligned.
const ROLLUP_GRAIN: i64 = 60;
/// The hourly rollup covers whole hours.
const HOUR: i64 = 3600;

/// A per-minute rollup table and the CDR columns it keeps (under the same names).
#[derive(Debug, PartialEq)]
pub struct Rollup {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    /// Ordered by the hour of `minute` before its key columns: its time ranges also bound
    /// `toStartOfHour(minute)`, which is what the primary key can prune on.
    pub hour_first: bool,
    /// Holds the statistics endpoints' sums (total duration, billed duration, price), not only
    /// the quality series' calls, answered calls and answered duration.
    pub statistics: bool,
}

/// The per-minute rollups of `schema/` the series endpoints read, coarsest first.
pub static ROLLUPS: &[Rollup] = &[
    Rollup {
        table: "rollup_minute",
        columns: &[],
        hour_first: false,
        statistics: true,
    },
    // One row per minute and destination country: a country filter of the quality series
    // reads no source country's rows (`schema/022_minute_dst_country.sql`).
    Rollup {
        table: "rollup_minute_dst_country",
        columns: &["dst_country_id"],
        hour_first: false,
        statistics: false,
    },
    Rollup {
        table: "rollup_minute_country",
        columns: &["src_country_id", "dst_country_id"],
        hour_first: false,
        statistics: true,
    },
    // Ordered by prefix first: a prefix filter of the quality series reads one range, not one
    // per hour of the destination rollup (`schema/024_minute_prefix.sql`).
    Rollup {
        table: "rollup_minute_prefix",
        columns: &["dst_prefix_routing"],
        hour_first: false,
        statistics: false,
    },
    DESTINATION,
];

/// Per prefix with its country and network (`schema/021_breakdown_rollups.sql`), ordered by
/// hour first so that a few minutes of every prefix are a few granules.
const DESTINATION: Rollup = Rollup {
    table: "rollup_minute_destination",
    columns: &["dst_prefix_routing", "dst_country_id", "dst_network_id"],
    hour_first: true,
    statistics: true,
};

/// The rollups with the PDD sums too, which the breakdowns read, coarsest first per grain: the
/// minute ones, then the hourly one for whole hours. The disconnect rollup names its code and
/// reason by both legs' column names (ALIAS columns: each row holds its side's leg).
pub static BREAKDOWN_MINUTE: &[Rollup] = &[
    DESTINATION,
    Rollup {
        table: "rollup_minute_disconnect",
        columns: &[
            "legb_disconnect_code",
            "legb_disconnect_reason",
            "lega_disconnect_code",
            "lega_disconnect_reason",
        ],
        hour_first: false,
        statistics: true,
    },
];
pub static BREAKDOWN_HOUR: &[Rollup] = &[
    Rollup {
        table: "rollup_hour_dst_country",
        columns: &["dst_country_id"],
        hour_first: false,
        statistics: true,
    },
    Rollup {
        table: "rollup_hour_destination",
        columns: DESTINATION.columns,
        hour_first: false,
        statistics: true,
    },
];

/// The first of `rollups` holding every column in `needed`.
pub fn rollup_holding(rollups: &'static [Rollup], needed: &[&str]) -> Option<&'static Rollup> {
    rollups
        .iter()
        .find(|r| needed.iter().all(|c| r.columns.contains(c)))
}

/// The coarsest rollup holding every filtered column (and the statistics endpoints' sums when
/// `statistics`), if any.
pub fn choose_rollup(
    filters: &[(&'static Filter, Value)],
    statistics: bool,
) -> Option<&'static Rollup> {
    ROLLUPS.iter().find(|r| {
        (r.statistics || !statistics) && filters.iter().all(|(f, _)| r.columns.contains(&f.column))
    })
}

/// A typed value for a server-side parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Bind {
    UInt8(u8),
    UInt32(u32),
    Int32(i32),
    Float64(f64),
    /// Text for String and DateTime parameters.
    Text(String),
}

/// A time range in unix seconds, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

/// Which kind of source a plan reads; reported to clients as a transparency header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Rollup,
    Raw,
}

impl Path {
    /// The name in the `x-cdrstats-source` header and the query metrics' label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rollup => "rollup",
            Self::Raw => "raw",
        }
    }
}

/// What a query reads and with which parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub sql: String,
    pub binds: Vec<(String, Bind)>,
    pub path: Path,
    /// The earliest second read from raw CDRs and from a rollup (for the retention check).
    pub raw_from: Option<i64>,
    pub rollup_from: Option<i64>,
}

/// The raw table of an endpoint: termination counts every CDR (`cdrs`, ordered by vendor);
/// origination counts last CDRs only, kept ordered by customer in `cdrs_by_customer`
/// (`schema/001_cdrs.sql`).
pub fn raw_table(endpoint: Endpoint) -> &'static str {
    match endpoint.side() {
        Side::Termination => "cdrs",
        Side::Origination => "cdrs_by_customer",
    }
}

/// What is being asked: everything but the time ranges.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    pub endpoint: Endpoint,
    pub account: u32,
    pub grid: Grid,
    pub filters: &'a [(&'static Filter, Value)],
}

/// Plans the bucket query for `windows` (disjoint, ascending): whole minutes from the
/// account-side's rollup `since` on (the listing's value, `stats::listing`) from a rollup where
/// one serves the filters, the rest from raw CDRs. `since` = [`NOT_ROLLED_UP`] reads raw CDRs
/// only.
pub fn plan(scope: Scope<'_>, windows: &[Window], since: i64) -> Plan {
    let rollup = choose_rollup(scope.filters, false);
    let mut binds = vec![("account".to_owned(), Bind::UInt32(scope.account))];
    let bucket = bucket_expression(scope.grid, &mut binds);
    let conditions = filter_conditions(scope.filters, &mut binds);
    let split = Split::new(windows, rollup, since, side(scope.endpoint), &mut binds);
    let mut parts = Vec::new();
    if let Some(raw_ranges) = &split.raw_ranges {
        parts.push(
            PART_RAW
                .replace("%BUCKET%", &bucket.replace("%TIME%", "time_start"))
                .replace("%RAW_TABLE%", raw_table(scope.endpoint))
                .replace("%ACCOUNT_COLUMN%", scope.endpoint.account_column())
                .replace("%RANGES%", raw_ranges)
                .replace("%CONDITIONS%", conditions.trim_end()),
        );
    }
    if let (Some(rollup), Some(rollup_ranges)) = (rollup, &split.rollup_ranges) {
        parts.push(
            PART_ROLLUP
                .replace("%BUCKET%", &bucket.replace("%TIME%", "minute"))
                .replace("%ROLLUP%", rollup.table)
                .replace("%RANGES%", rollup_ranges)
                .replace("%CONDITIONS%", conditions.trim_end()),
        );
    }
    split.into_plan(
        BUCKETS.replace("%PARTS%", &parts.join("UNION ALL\n")),
        binds,
    )
}

impl Plan {
    /// A plan of raw rows only, with no CDR retention to check (the `active_calls` queries:
    /// that table has its own fixed TTL, schema/010_family.sql).
    pub(crate) fn raw_only(sql: String, binds: Vec<(String, Bind)>) -> Plan {
        Plan {
            sql,
            binds,
            path: Path::Raw,
            raw_from: None,
            rollup_from: None,
        }
    }
}

#[cfg(test)]
impl Plan {
    /// The value bound under `name`, for tests.
    pub(crate) fn bound(&self, name: &str) -> Bind {
        self.binds
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone())
            .expect(name)
    }
}

/// Where some windows are read: conditions selecting raw CDRs (on `time_start`) and rollup
/// rows (on `minute`, and `hour` for an hourly rollup), their bounds bound as parameters.
#[derive(Debug)]
pub(crate) struct Split {
    /// Partial minutes at the window edges, and whole minutes before the account-side's
    /// `since` (all of them when no rollup serves the filters).
    pub raw_ranges: Option<String>,
    /// Whole minutes from `since` on (on `minute`).
    pub rollup_ranges: Option<String>,
    /// Whole hours from `since` on (on `hour`), when an hourly rollup serves.
    pub hour_ranges: Option<String>,
    /// The earliest second read raw (for the retention check).
    pub raw_from: Option<i64>,
    /// The earliest whole minute read from a rollup.
    pub rollup_from: Option<i64>,
}

impl Split {
    /// Splits `windows` (disjoint, ascending) for a query of the account-side `side` whose
    /// rollups are complete from `since` (a minute) on: whole minutes from `since` on go to
    /// the rollup (when `rollup`), everything else to raw CDRs.
    pub(crate) fn new(
        windows: &[Window],
        rollup: Option<&Rollup>,
        since: i64,
        side: u8,
        binds: &mut Vec<(String, Bind)>,
    ) -> Self {
        Self::graded(windows, rollup, false, since, side, binds)
    }

    /// As [`Split::new`], and with `hours` the whole hours of the rolled-up minutes go to an
    /// hourly rollup; the minutes around them to the minute rollup.
    pub(crate) fn graded(
        windows: &[Window],
        minutes_from: Option<&Rollup>,
        hours: bool,
        since: i64,
        side: u8,
        binds: &mut Vec<(String, Bind)>,
    ) -> Self {
        let (mut raw, mut minutes, mut whole_hours) = (Vec::new(), Vec::new(), Vec::new());
        for w in windows {
            if minutes_from.is_none() || w.to < since {
                raw.push(*w);
                continue;
            }
            let mut rolled = Vec::new();
            split_for_rollup(*w, &mut raw, &mut rolled);
            for mut m in rolled {
                // Whole minutes before `since` are not in the rollup (yet): raw.
                if m.to < since {
                    raw.push(m);
                    continue;
                }
                if m.from < since {
                    raw.push(Window {
                        from: m.from,
                        to: since - 1,
                    });
                    m.from = since;
                }
                if hours {
                    split_whole_hours(m, &mut minutes, &mut whole_hours);
                } else {
                    minutes.push(m);
                }
            }
        }
        raw.sort_unstable_by_key(|w| w.from);
        let raw_names = bind_windows("r", &raw, binds);
        let minute_names = bind_windows("m", &minutes, binds);
        let hour_names = bind_windows("h", &whole_hours, binds);
        if !minute_names.is_empty() || !hour_names.is_empty() {
            binds.push(("side".to_owned(), Bind::UInt8(side)));
        }
        let on_minute = match minutes_from {
            Some(r) if r.hour_first => hour_keyed_ranges(&minute_names),
            _ => ranges("minute", &minute_names),
        };
        Self {
            raw_ranges: (!raw_names.is_empty()).then(|| ranges("time_start", &raw_names)),
            rollup_ranges: (!minute_names.is_empty()).then_some(on_minute),
            hour_ranges: (!hour_names.is_empty()).then(|| ranges("hour", &hour_names)),
            raw_from: raw.first().map(|w| w.from),
            rollup_from: minutes.iter().chain(&whole_hours).map(|w| w.from).min(),
        }
    }

    /// The plan running `sql` over this split.
    pub(crate) fn into_plan(self, sql: String, binds: Vec<(String, Bind)>) -> Plan {
        Plan {
            sql,
            binds,
            path: self.path(),
            raw_from: self.raw_from,
            rollup_from: self.rollup_from,
        }
    }

    /// `Rollup` when some minutes are read from a rollup.
    pub(crate) fn path(&self) -> Path {
        if self.rollup_ranges.is_some() || self.hour_ranges.is_some() {
            Path::Rollup
        } else {
            Path::Raw
        }
    }
}

/// The bucket start of a time column (`%TIME%`): fixed widths in UTC via toStartOfInterval,
/// local hours/days via toStartOfHour/toStartOfDay in the request's zone (bound as a parameter).
pub(crate) fn bucket_expression(grid: Grid, binds: &mut Vec<(String, Bind)>) -> String {
    match (grid.local_zone(), grid.sampling) {
        (Some(tz), Sampling::Hour) => {
            binds.push(("tz".to_owned(), Bind::Text(tz.name().to_owned())));
            "toStartOfHour(%TIME%, {tz:String})".to_owned()
        }
        (Some(tz), _) => {
            binds.push(("tz".to_owned(), Bind::Text(tz.name().to_owned())));
            "toStartOfDay(%TIME%, {tz:String})".to_owned()
        }
        (None, sampling) => {
            // A bucket width fits u32 by construction (at most 86 400).
            binds.push(("step".to_owned(), Bind::UInt32(sampling.seconds() as u32)));
            "toStartOfInterval(%TIME%, toIntervalSecond({step:UInt32}))".to_owned()
        }
    }
}

/// The rollup side code of an endpoint (see `schema/004_rollups.sql`).
pub fn side(endpoint: Endpoint) -> u8 {
    match endpoint.side() {
        Side::Termination => 0,
        Side::Origination => 1,
    }
}

/// Whole minutes go to the rollup; the partial minutes at either edge to raw CDRs.
fn split_for_rollup(w: Window, raw: &mut Vec<Window>, rolled: &mut Vec<Window>) {
    split_at_grain(w, ROLLUP_GRAIN, raw, rolled);
}

/// Splits whole minutes `w` into the whole hours inside it and the minutes around them.
fn split_whole_hours(w: Window, minutes: &mut Vec<Window>, hours: &mut Vec<Window>) {
    split_at_grain(w, HOUR, minutes, hours);
}

/// Splits `w` into the whole `grain`-second spans inside it (`whole`) and what is left at
/// either edge (`edges`).
fn split_at_grain(w: Window, grain: i64, edges: &mut Vec<Window>, whole: &mut Vec<Window>) {
    let first_whole = w.from.div_euclid(grain) * grain
        + if w.from.rem_euclid(grain) == 0 {
            0
        } else {
            grain
        };
    let end_whole = (w.to + 1).div_euclid(grain) * grain; // exclusive
    if first_whole >= end_whole {
        edges.push(w);
        return;
    }
    if w.from < first_whole {
        edges.push(Window {
            from: w.from,
            to: first_whole - 1,
        });
    }
    whole.push(Window {
        from: first_whole,
        to: end_whole - 1,
    });
    if end_whole <= w.to {
        edges.push(Window {
            from: end_whole,
            to: w.to,
        });
    }
}

/// Binds the bounds of `windows` as `{prefix}{i}_from` / `_to`; returns their names.
pub(crate) fn bind_windows(
    prefix: &str,
    windows: &[Window],
    binds: &mut Vec<(String, Bind)>,
) -> Vec<(String, String)> {
    windows
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let (from, to) = (format!("{prefix}{i}_from"), format!("{prefix}{i}_to"));
            binds.push((from.clone(), Bind::Text(clickhouse_datetime(w.from))));
            binds.push((to.clone(), Bind::Text(clickhouse_datetime(w.to))));
            (from, to)
        })
        .collect()
}

/// `(col >= {p0_from} AND col <= {p0_to}) OR ...` over bound windows.
pub(crate) fn ranges(column: &str, names: &[(String, String)]) -> String {
    names
        .iter()
        .map(|(from, to)| {
            format!(
                "({column} >= {{{from}:DateTime('UTC')}} AND {column} <= {{{to}:DateTime('UTC')}})"
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// [`ranges`] on `minute` that also bound `toStartOfHour(minute)`, for a rollup whose primary
/// key holds the hour before its key columns: ClickHouse prunes on the key expression as
/// written, not through a condition on `minute` alone (seen on the local engine, 26.9: a
/// 45-minute range read every granule of the account without the hour bounds, 3 with them; the
/// same on servers: ClickHouse/ClickHouse#33056 and #82161, where a predicate on the key's
/// expression is the workaround).
fn hour_keyed_ranges(names: &[(String, String)]) -> String {
    names
        .iter()
        .map(|(from, to)| {
            let (f, t) = (
                format!("{{{from}:DateTime('UTC')}}"),
                format!("{{{to}:DateTime('UTC')}}"),
            );
            format!(
                "(minute >= {f} AND minute <= {t} AND toStartOfHour(minute) >= toStartOfHour({f}) \
                 AND toStartOfHour(minute) <= toStartOfHour({t}))"
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

pub(crate) fn filter_conditions(
    filters: &[(&'static Filter, Value)],
    binds: &mut Vec<(String, Bind)>,
) -> String {
    let mut conditions = String::new();
    for (filter, value) in filters {
        conditions.push_str("AND ");
        conditions.push_str(&filter.condition());
        conditions.push(' ');
        binds.push((filter.bind_name(), to_bind(value)));
    }
    conditions
}

fn to_bind(value: &Value) -> Bind {
    match value {
        Value::UInt8(v) => Bind::UInt8(*v),
        Value::UInt16(v) => Bind::UInt32(u32::from(*v)),
        Value::UInt32(v) => Bind::UInt32(*v),
        Value::Int32(v) => Bind::Int32(*v),
        Value::Price(v) => Bind::Float64(*v),
        Value::Text(v) => Bind::Text(v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gateway replaces template markers (`%NAME%`) wherever they appear: one in a comment
    /// would be replaced too, and a multi-line fragment there would end the comment early.
    #[test]
    fn no_sql_template_names_a_marker_in_a_comment() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sql");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).expect("sql/") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("template");
            for line in text.lines().filter(|l| l.trim_start().starts_with("--")) {
                let mut parts = line.split('%');
                parts.next();
                let marker = parts.collect::<Vec<_>>().windows(2).any(|w| {
                    !w[0].is_empty()
                        && w[0]
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
                });
                assert!(!marker, "{}: {line}", path.display());
            }
            checked += 1;
        }
        assert!(checked >= 10, "only {checked} templates");
    }
    use crate::stats::params::StatsRequest;

    fn request(endpoint: Endpoint, extra: &str) -> StatsRequest {
        let q = format!(
            "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2026-04-15&sampling=hour{extra}"
        );
        StatsRequest::parse(endpoint, &q).expect("valid")
    }

    fn plan_of(req: &StatsRequest, windows: &[Window]) -> Plan {
        let scope = Scope {
            endpoint: req.endpoint,
            account: 7,
            grid: req.grid(),
            filters: &req.filters,
        };
        plan(scope, windows, 0)
    }

    const DAY: Window = Window {
        from: 1_776_211_200,
        to: 1_776_297_599,
    };

    #[test]
    fn request_text_never_reaches_the_sql() {
        let evil = "%27%29%20OR%201%3D1%20--";
        let req = request(
            Endpoint::TerminationQuality,
            &format!("&dst-prefix-routing-starts-with={evil}&src-prefix-routing-contains={evil}"),
        );
        let plan = plan_of(&req, &[DAY]);
        assert!(!plan.sql.contains("OR 1=1"), "{}", plan.sql);
        assert!(
            plan.sql.contains(
                "startsWith(dst_prefix_routing, {f_dst_prefix_routing_starts_with:String})"
            )
        );
        assert!(plan.binds.contains(&(
            "f_dst_prefix_routing_starts_with".into(),
            Bind::Text("') OR 1=1 --".into())
        )));
        assert!(
            !plan.sql.contains('?'),
            "the driver would read `?` as a placeholder"
        );
        assert!(!plan.sql.contains('%'), "every template marker is replaced");
    }

    #[test]
    fn the_coarsest_sufficient_rollup_is_chosen() {
        let table = |extra: &str| {
            choose_rollup(&request(Endpoint::TerminationQuality, extra).filters, false)
                .map(|r| r.table)
        };
        assert_eq!(table(""), Some("rollup_minute"));
        assert_eq!(
            table("&dst-country-id=44"),
            Some("rollup_minute_dst_country")
        );
        // The statistics endpoints need sums the per-minute country rows do not carry.
        assert_eq!(
            choose_rollup(
                &request(Endpoint::TerminationQuality, "&dst-country-id=44").filters,
                true
            )
            .map(|r| r.table),
            Some("rollup_minute_country")
        );
        assert_eq!(
            table("&dst-country-id=44&src-country-id=1"),
            Some("rollup_minute_country")
        );
        assert_eq!(
            table("&dst-prefix-routing-starts-with=44"),
            Some("rollup_minute_prefix")
        );
        assert_eq!(
            choose_rollup(
                &request(
                    Endpoint::TerminationQuality,
                    "&dst-prefix-routing-starts-with=44"
                )
                .filters,
                true
            )
            .map(|r| r.table),
            Some("rollup_minute_destination")
        );
        assert_eq!(
            table("&dst-prefix-routing-eq=44&dst-country-id=44"),
            Some("rollup_minute_destination")
        );
        assert_eq!(table("&duration-gt=0"), None);
        // The destination rollup is ordered by hour first: its ranges bound the hour too.
        let p = plan_of(
            &request(
                Endpoint::TerminationQuality,
                "&dst-prefix-routing-eq=44&dst-country-id=44",
            ),
            &[DAY],
        );
        assert!(
            p.sql.contains("FROM rollup_minute_destination\n"),
            "{}",
            p.sql
        );
        assert!(p.sql.contains(
            "AND toStartOfHour(minute) >= toStartOfHour({m0_from:DateTime('UTC')}) \
             AND toStartOfHour(minute) <= toStartOfHour({m0_to:DateTime('UTC')})"
        ));
        assert_eq!(table("&src-prefix-routing-eq=1"), None);
        assert_eq!(table("&vendor-price-lt=0.1"), None);
    }

    #[test]
    fn unaligned_edges_are_read_raw_and_whole_minutes_from_the_rollup() {
        let req = request(Endpoint::OriginationQuality, "");
        let p = plan_of(
            &req,
            &[Window {
                from: DAY.from + 30,
                to: DAY.from + 3 * 60 + 9,
            }],
        );
        assert_eq!(p.path, Path::Rollup);
        assert!(p.sql.contains("FROM rollup_minute\n"));
        assert!(p.sql.contains("FROM cdrs_by_customer\n"));
        assert!(p.sql.contains("WHERE customer_acc_id = {account:UInt32}"));
        assert_eq!(p.raw_from, Some(DAY.from + 30));
        assert_eq!(p.rollup_from, Some(DAY.from + 60));
        let text = |name: &str| p.bound(name);
        assert_eq!(text("m0_from"), Bind::Text("2026-04-15 00:01:00".into()));
        assert_eq!(text("m0_to"), Bind::Text("2026-04-15 00:02:59".into()));
        assert_eq!(text("r0_from"), Bind::Text("2026-04-15 00:00:30".into()));
        assert_eq!(text("r0_to"), Bind::Text("2026-04-15 00:00:59".into()));
        assert_eq!(text("r1_from"), Bind::Text("2026-04-15 00:03:00".into()));
        assert_eq!(text("r1_to"), Bind::Text("2026-04-15 00:03:09".into()));
        assert_eq!(text("side"), Bind::UInt8(1));
    }

    #[test]
    fn whole_minutes_before_the_accounts_since_are_read_raw() {
        let req = request(Endpoint::TerminationQuality, "");
        let scope = Scope {
            endpoint: req.endpoint,
            account: 7,
            grid: req.grid(),
            filters: &req.filters,
        };
        let window = Window {
            from: DAY.from + 30,
            to: DAY.to,
        };
        let since = DAY.from + 90 * 60;
        let p = plan(scope, &[window], since);
        assert_eq!(p.path, Path::Rollup);
        assert_eq!(
            (p.raw_from, p.rollup_from),
            (Some(DAY.from + 30), Some(since))
        );
        let text = |v: &str| Bind::Text(v.into());
        assert_eq!(p.bound("r0_from"), text("2026-04-15 00:00:30"));
        assert_eq!(p.bound("r0_to"), text("2026-04-15 00:00:59"));
        assert_eq!(p.bound("r1_from"), text("2026-04-15 00:01:00"));
        assert_eq!(p.bound("r1_to"), text("2026-04-15 01:29:59"));
        assert_eq!(p.bound("m0_from"), text("2026-04-15 01:30:00"));
        assert_eq!(p.bound("m0_to"), text("2026-04-15 23:59:59"));
        assert!(
            p.sql.contains(
                "AND ((minute >= {m0_from:DateTime('UTC')} AND minute <= {m0_to:DateTime('UTC')}))"
            ),
            "{}",
            p.sql
        );
        // Not rolled up (or rolled up only after the window): raw CDRs, the window unsplit.
        for since in [NOT_ROLLED_UP, DAY.to + 60] {
            let p = plan(scope, &[DAY], since);
            assert_eq!((p.path, p.rollup_from), (Path::Raw, None));
            assert!(!p.sql.contains("rollup_"), "{}", p.sql);
            assert_eq!(p.bound("r0_from"), text("2026-04-15 00:00:00"));
            assert_eq!(p.bound("r0_to"), text("2026-04-15 23:59:59"));
            assert!(!p.binds.iter().any(|(n, _)| n == "r1_from" || n == "side"));
        }
        let raw_only = plan_of(
            &request(Endpoint::TerminationQuality, "&duration-gt=3"),
            &[DAY],
        );
        assert!(!raw_only.sql.contains("rollup_"));
        assert_eq!(raw_only.rollup_from, None);
    }

    #[test]
    fn local_days_group_in_the_zone() {
        let req = request(Endpoint::TerminationQuality, "&time-zone=Europe%2FBerlin").clone();
        let req = StatsRequest {
            sampling: Sampling::Day,
            ..req
        };
        let p = plan_of(&req, &[DAY]);
        assert!(
            p.sql.contains("toStartOfDay(minute, {tz:String})"),
            "{}",
            p.sql
        );
        assert!(
            p.binds
                .contains(&("tz".into(), Bind::Text("Europe/Berlin".into())))
        );
        assert!(!p.binds.iter().any(|(n, _)| n == "step"));
    }

    #[test]
    fn sub_minute_windows_and_unrolled_filters_read_raw() {
        let req = request(Endpoint::TerminationQuality, "");
        let p = plan_of(
            &req,
            &[Window {
                from: DAY.from + 10,
                to: DAY.from + 50,
            }],
        );
        assert_eq!(p.path, Path::Raw);
        assert!(p.sql.contains("FROM cdrs\n"));
        assert!(p.sql.contains("WHERE vendor_acc_id = {account:UInt32}"));
        assert_eq!(p.rollup_from, None);
        let raw = plan_of(
            &request(Endpoint::TerminationQuality, "&duration-gt=3"),
            &[DAY],
        );
        assert_eq!(raw.path, Path::Raw);
        assert!(raw.sql.contains("AND duration > {f_duration_gt:Int32}"));
    }
}
