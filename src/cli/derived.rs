//! The tables derived from `cdrs` (the origination copy and the rollups): how each is computed
//! from CDRs — its view's SELECT as in `schema/`, a day of it for a rebuild, and the backfill
//! of what the views did not roll up for the listed account-sides.

use crate::stats::price_sql::price_micros;

/// A table derived from `cdrs`: how to compute it for a set of CDRs. The materialized view in
/// `schema/` computes the same (a unit test compares the text); a table `fed_by` another is
/// computed by a view of that table there (it aggregates or copies the aggregated block), and from raw CDRs
/// here (the same sums).
#[derive(Debug)]
pub struct Derived {
    pub table: &'static str,
    /// The time column, partitioned by month (`toYYYYMM`).
    pub time_column: &'static str,
    /// The rollup whose view feeds this one in `schema/`, so a backfill writes only that one.
    pub fed_by: Option<&'static str>,
    /// `SELECT ... FROM cdrs [ARRAY JOIN ...]`.
    pub(crate) head: &'static str,
    /// The view's JOIN to the listing, for the rollups.
    pub(crate) join: Option<&'static str>,
    /// The view's own WHERE condition, if any.
    pub(crate) condition: Option<&'static str>,
    /// `GROUP BY ...` or empty.
    pub(crate) tail: &'static str,
    /// Per-day checksum expressions: side, calls, answered, duration, account, time.
    pub(crate) check: [&'static str; 6],
    /// Whether the rows carry the PDD sums (`pdd_ms_sum`, `pdd_count`).
    pub pdd: bool,
    /// Whether the rows carry the statistics endpoints' sums (`full_duration_sum`,
    /// `billed_duration_sum`, `price_micros`) besides calls, answered calls and their duration.
    pub statistics: bool,
}

const ROLLUP_CHECK: [&str; 6] = [
    "side",
    "total_calls",
    "answered",
    "duration_sum",
    "account_id",
    "minute",
];

/// The checksum of an hourly rollup.
const HOUR_CHECK: [&str; 6] = [
    "side",
    "total_calls",
    "answered",
    "duration_sum",
    "account_id",
    "hour",
];

/// The quality series' sums every rollup row carries, as the views compute them per CDR.
macro_rules! quality_sums {
    () => {
        "count() AS total_calls,
       countIf(duration > 0) AS answered,
       sumIf(toInt64(duration), duration > 0) AS duration_sum"
    };
}

/// A CDR's price for its side in millionths, for the views and `rollups verify`'s raw sums.
macro_rules! side_price_micros {
    () => {
        price_micros!("if(side = 0, vendor_price, customer_price)")
    };
}

/// [`side_price_micros!`] for `rollups verify`'s raw sums.
pub const PRICE_MICROS: &str = side_price_micros!();

/// The statistics sums (the quality ones and more), as the views compute them per CDR.
macro_rules! statistics_sums {
    () => {
        concat!(
            quality_sums!(),
            ",
       sum(toInt64(duration)) AS full_duration_sum,
       sum(toInt64(if(side = 0, vendor_duration, customer_duration))) AS billed_duration_sum,
       sum(",
            side_price_micros!(),
            ") AS price_micros"
        )
    };
}

/// The PDD sums of the breakdown rollups (each PDD rounded to milliseconds as
/// `sql/breakdown.sql` rounds it).
macro_rules! pdd_sums {
    () => {
        ",
       sumIf(toInt64(floor(toFloat64(pdd) * 1000 + 0.5)), pdd > 0) AS pdd_ms_sum,
       countIf(pdd > 0) AS pdd_count"
    };
}

/// The disconnect code and reason a CDR gives its side (termination, side 0: leg B, the vendor's
/// answer; origination: leg A).
macro_rules! disconnect_code {
    () => {
        "if(side = 0, legb_disconnect_code, lega_disconnect_code)"
    };
}
macro_rules! disconnect_reason {
    () => {
        "CAST(if(side = 0, legb_disconnect_reason, lega_disconnect_reason) AS String)"
    };
}

/// Every column a rollup is keyed by (besides side, account and time), as its view computes
/// it from a CDR of `side`: `rollups verify` checksums a raw CDR's keys with these.
pub(crate) const KEY_COLUMNS: [(&str, &str); 6] = [
    ("dst_prefix_routing", "dst_prefix_routing"),
    ("dst_country_id", "dst_country_id"),
    ("src_country_id", "src_country_id"),
    ("dst_network_id", "dst_network_id"),
    ("disconnect_code", disconnect_code!()),
    ("disconnect_reason", disconnect_reason!()),
];

/// `SELECT side, account_id, <keys><time> AS <name>, <sums> FROM cdrs ARRAY JOIN [0, 1] AS side`:
/// a rollup view's SELECT before its JOIN to the listing.
macro_rules! rollup_head {
    ($keys:expr, $time:literal, $name:literal, $($sums:expr),+) => {
        concat!(
            "SELECT side,
       if(side = 0, vendor_acc_id, customer_acc_id) AS account_id,
       ",
            $keys,
            $time,
            " AS ",
            $name,
            ",
       ",
            $($sums),+,
            "
FROM cdrs
ARRAY JOIN [0, 1] AS side"
        )
    };
}

/// Every derived table, in rebuild order.
pub static DERIVED: &[Derived] = &[
    Derived {
        table: "cdrs_by_customer",
        time_column: "time_start",
        fed_by: None,
        // The view's SELECT as schema/026_copy_inserted_at.sql left it (MODIFY QUERY).
        head: "SELECT time_start, customer_acc_id, duration, src_country_id, dst_country_id,
       src_prefix_routing, dst_prefix_routing, auth_orig_ip, customer_price,
       dst_network_id, lega_disconnect_code, lega_disconnect_reason, pdd, inserted_at
FROM cdrs",
        join: None,
        condition: Some("is_last_cdr"),
        tail: "",
        check: [
            "toUInt8(1)",
            "toUInt64(1)",
            "toUInt64(duration > 0)",
            "if(duration > 0, toInt64(duration), 0)",
            "customer_acc_id",
            "toStartOfMinute(time_start)",
        ],
        pdd: false,
        statistics: true,
    },
    rollup(
        "rollup_minute_country",
        None,
        rollup_head!(
            "dst_country_id,\n       src_country_id,\n       ",
            "toStartOfMinute(time_start)",
            "minute",
            statistics_sums!()
        ),
        "GROUP BY side, account_id, dst_country_id, src_country_id, minute",
    ),
    rollup(
        "rollup_minute",
        Some("rollup_minute_country"),
        rollup_head!(
            "",
            "toStartOfMinute(time_start)",
            "minute",
            statistics_sums!()
        ),
        "GROUP BY side, account_id, minute",
    ),
    breakdown_rollup(
        "rollup_minute_destination",
        None,
        rollup_head!(
            "dst_prefix_routing,\n       dst_country_id,\n       dst_network_id,\n       ",
            "toStartOfMinute(time_start)",
            "minute",
            statistics_sums!(),
            pdd_sums!()
        ),
        "GROUP BY side, account_id, dst_prefix_routing, dst_country_id, dst_network_id, minute",
    ),
    hourly_breakdown_rollup(
        "rollup_hour_destination",
        Some("rollup_minute_destination"),
        rollup_head!(
            "dst_prefix_routing,\n       dst_country_id,\n       dst_network_id,\n       ",
            "toStartOfHour(time_start)",
            "hour",
            statistics_sums!(),
            pdd_sums!()
        ),
        "GROUP BY side, account_id, dst_prefix_routing, dst_country_id, dst_network_id, hour",
    ),
    hourly_breakdown_rollup(
        "rollup_hour_dst_country",
        Some("rollup_minute_destination"),
        rollup_head!(
            "dst_country_id,\n       ",
            "toStartOfHour(time_start)",
            "hour",
            statistics_sums!(),
            pdd_sums!()
        ),
        "GROUP BY side, account_id, dst_country_id, hour",
    ),
    Derived {
        statistics: false,
        ..rollup(
            "rollup_minute_dst_country",
            Some("rollup_minute_destination"),
            rollup_head!(
                "dst_country_id,\n       ",
                "toStartOfMinute(time_start)",
                "minute",
                quality_sums!()
            ),
            "GROUP BY side, account_id, dst_country_id, minute",
        )
    },
    Derived {
        statistics: false,
        ..rollup(
            "rollup_minute_prefix",
            Some("rollup_minute_destination"),
            rollup_head!(
                "dst_prefix_routing,\n       ",
                "toStartOfMinute(time_start)",
                "minute",
                quality_sums!()
            ),
            "GROUP BY side, account_id, dst_prefix_routing, minute",
        )
    },
    breakdown_rollup(
        "rollup_minute_disconnect",
        None,
        rollup_head!(
            concat!(
                disconnect_code!(),
                " AS disconnect_code,\n       ",
                disconnect_reason!(),
                " AS disconnect_reason,\n       "
            ),
            "toStartOfMinute(time_start)",
            "minute",
            statistics_sums!(),
            pdd_sums!()
        ),
        "GROUP BY side, account_id, disconnect_code, disconnect_reason, minute",
    ),
];

/// A per-minute rollup of the listed account-sides with the statistics sums.
const fn rollup(
    table: &'static str,
    fed_by: Option<&'static str>,
    head: &'static str,
    tail: &'static str,
) -> Derived {
    Derived {
        table,
        time_column: "minute",
        fed_by,
        head,
        join: Some(VIEW_JOIN),
        condition: Some(LISTED),
        tail,
        check: ROLLUP_CHECK,
        pdd: false,
        statistics: true,
    }
}

/// An hourly rollup with the PDD sums (the whole hours of a breakdown).
const fn hourly_breakdown_rollup(
    table: &'static str,
    fed_by: Option<&'static str>,
    head: &'static str,
    tail: &'static str,
) -> Derived {
    Derived {
        time_column: "hour",
        check: HOUR_CHECK,
        ..breakdown_rollup(table, fed_by, head, tail)
    }
}

/// A per-minute rollup with the PDD sums too (the breakdowns read it).
const fn breakdown_rollup(
    table: &'static str,
    fed_by: Option<&'static str>,
    head: &'static str,
    tail: &'static str,
) -> Derived {
    Derived {
        pdd: true,
        ..rollup(table, fed_by, head, tail)
    }
}

/// The rollup views' JOIN to the listing: the insertion range each listed account-side is
/// rolled up for (`schema/012_live_rollups.sql`, `cli::listing`).
const VIEW_JOIN: &str = "INNER JOIN (SELECT side AS listed_side, account_id AS listed_account, writes_from, writes_until FROM rollup_accounts FINAL WHERE writes_from < writes_until) AS l ON l.listed_side = side AND l.listed_account = account_id";

/// The rollup views' condition: both sides, CDRs inserted within the listing's range.
const LISTED: &str =
    "(side = 0 OR is_last_cdr) AND inserted_at >= l.writes_from AND inserted_at < l.writes_until";

/// A backfill's JOIN: the account-sides a listing run started writing at `{w}`, and what the
/// views did not write for them (`cli::listing`).
const BACKFILL_JOIN: &str = "INNER JOIN (SELECT side AS listed_side, account_id AS listed_account, writes_from, backfill_from, gap_from FROM rollup_accounts FINAL WHERE state = 'backfilling' AND writes_from = toDateTime({w:UInt32}, 'UTC')) AS l ON l.listed_side = side AND l.listed_account = if(side = 0, vendor_acc_id, customer_acc_id)";

/// The complement of [`LISTED`] for those sides, within one month of `time_start`.
const BACKFILL_CONDITION: &str = "(side = 0 OR is_last_cdr) AND inserted_at < l.writes_from \
     AND (time_start >= l.backfill_from OR inserted_at >= l.gap_from) \
     AND time_start >= toDateTime({month_from:UInt32}, 'UTC') \
     AND time_start < toDateTime({month_to:UInt32}, 'UTC')";

/// How many CDRs (counted per side) a backfill rolls up in one month.
pub fn backfill_count() -> String {
    format!(
        "SELECT count() FROM cdrs\nARRAY JOIN [0, 1] AS side\n{BACKFILL_JOIN}\nWHERE {BACKFILL_CONDITION}"
    )
}

/// The backfill SELECT of a rollup table (`None` for a table the backfill does not write).
///
/// A table whose views feed others gets its rows ordered by account-side and time: the views
/// see the insert one block (about a million rows) at a time, and a GROUP BY's output comes in
/// hash order, so every block would hold rows of every hour and each block would add its own
/// row for nearly every key of an hourly rollup (measured at 100M CDRs after the merges had
/// settled: 4.2 rows per key of the hot account's hourly destination rows). In order, a block
/// spans a few hours, and a key has a second row only where a block ends.
pub fn backfill_select(table: &str) -> Option<String> {
    let derived = DERIVED
        .iter()
        .find(|d| d.table == table && d.listed_only())?;
    let order = if DERIVED.iter().any(|d| d.fed_by == Some(table)) {
        format!("\nORDER BY side, account_id, {}", derived.time_column)
    } else {
        String::new()
    };
    Some(format!(
        "{}\n{BACKFILL_JOIN}\nWHERE {BACKFILL_CONDITION}\n{}{order}",
        derived.head, derived.tail
    ))
}

/// Joins `r` (with `side`, `account_id`) to its account-side's listing `l`: `l.since` rounded
/// up to a whole row of `grain` seconds, as the gateway reads a rollup of that grain.
pub(crate) fn listed_join(grain: u32) -> String {
    format!(
        "INNER JOIN (SELECT side, account_id, \
         toDateTime(intDiv(toUInt32(since) + {}, {grain}) * {grain}, 'UTC') AS since \
         FROM rollup_accounts FINAL) AS l ON r.side = l.side AND r.account_id = l.account_id",
        grain - 1
    )
}

/// The raw truth in the same checksum shape (both sides from one scan), its time at `grain`.
pub(crate) fn raw_check(grain: u32) -> [&'static str; 6] {
    [
        "side",
        "toUInt64(1)",
        "toUInt64(duration > 0)",
        "if(duration > 0, toInt64(duration), 0)",
        "if(side = 0, vendor_acc_id, customer_acc_id)",
        if grain == 3600 {
            "toStartOfHour(time_start)"
        } else {
            "toStartOfMinute(time_start)"
        },
    ]
}

/// Every rollup table (the tables of the listed account-sides).
pub fn rollups() -> impl Iterator<Item = &'static Derived> {
    DERIVED.iter().filter(|d| d.listed_only())
}

/// The rollups a backfill inserts into: the others follow them through their views.
pub fn backfilled() -> impl Iterator<Item = &'static Derived> {
    rollups().filter(|d| d.fed_by.is_none())
}

impl Derived {
    /// The view's SELECT over every CDR, as in `schema/`.
    pub fn view_select(&self) -> String {
        let mut sql = self.head.to_owned();
        if let Some(j) = self.join {
            sql.push('\n');
            sql.push_str(j);
        }
        if let Some(c) = self.condition {
            sql.push_str("\nWHERE ");
            sql.push_str(c);
        }
        if !self.tail.is_empty() {
            sql.push('\n');
            sql.push_str(self.tail);
        }
        sql
    }

    /// The SELECT over one day of CDRs (`{from:DateTime}` inclusive, `{to:DateTime}` exclusive).
    pub(crate) fn day_select(&self) -> String {
        let day = "time_start >= {from:DateTime('UTC')} AND time_start < {to:DateTime('UTC')}";
        let condition = match self.condition {
            Some(c) => format!("({c}) AND {day}"),
            None => day.to_owned(),
        };
        format!("{}\nWHERE {condition}\n{}", self.head, self.tail)
    }

    /// The width of a row's time in seconds: 3600 for the hourly rollups, 60 for the minute
    /// ones, 1 for the origination copy (its rows are CDRs).
    pub fn grain(&self) -> u32 {
        match self.time_column {
            "hour" => 3600,
            "minute" => 60,
            _ => 1,
        }
    }

    /// The columns a rollup row is keyed by besides its side, account and time: those of its
    /// GROUP BY (none for the origination copy).
    pub fn keys(&self) -> Vec<&'static str> {
        self.tail
            .strip_prefix("GROUP BY side, account_id, ")
            .map(|keys| {
                keys.split(", ")
                    .filter(|k| *k != self.time_column)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether only listed account-sides are derived (the rollups), not every CDR.
    pub fn listed_only(&self) -> bool {
        self.condition == Some(LISTED)
    }

    pub(crate) fn aside(&self) -> String {
        format!("{}__rebuild", self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollups_keys_are_its_group_by_columns_besides_side_account_and_time() {
        let keys = |table: &str| {
            DERIVED
                .iter()
                .find(|d| d.table == table)
                .expect(table)
                .keys()
        };
        assert_eq!(keys("cdrs_by_customer"), Vec::<&str>::new());
        assert_eq!(keys("rollup_minute"), Vec::<&str>::new());
        assert_eq!(
            keys("rollup_minute_country"),
            ["dst_country_id", "src_country_id"]
        );
        assert_eq!(
            keys("rollup_hour_destination"),
            ["dst_prefix_routing", "dst_country_id", "dst_network_id"]
        );
        assert_eq!(keys("rollup_hour_dst_country"), ["dst_country_id"]);
        assert_eq!(keys("rollup_minute_prefix"), ["dst_prefix_routing"]);
        assert_eq!(
            keys("rollup_minute_disconnect"),
            ["disconnect_code", "disconnect_reason"]
        );
    }

    #[test]
    fn every_rollup_key_has_its_cdr_expression_for_verify() {
        for rollup in rollups() {
            for key in rollup.keys() {
                assert!(
                    KEY_COLUMNS.iter().any(|(name, _)| *name == key),
                    "{}: {key}",
                    rollup.table
                );
            }
        }
    }

    /// The planner's lists of rollups (which CDR columns each answers for) name tables derived
    /// here with exactly those keys, at the grain the planner reads them, with the PDD sums the
    /// breakdowns need and the statistics sums the planner says they carry.
    #[test]
    fn the_planners_rollups_are_derived_here_with_their_keys_and_grain() {
        use crate::stats::plan::{BREAKDOWN_HOUR, BREAKDOWN_MINUTE, ROLLUPS, Rollup};
        let check = |rollups: &[Rollup], grain: u32, pdd: bool| {
            for r in rollups {
                let d = super::rollups()
                    .find(|d| d.table == r.table)
                    .unwrap_or_else(|| panic!("{} is not derived", r.table));
                assert_eq!(d.grain(), grain, "{}", r.table);
                assert!(d.pdd || !pdd, "{} lacks the PDD sums", r.table);
                assert_eq!(d.statistics, r.statistics, "{}: statistics sums", r.table);
                // The disconnect rollup answers for both legs' columns with its one code/reason.
                let mut columns: Vec<&str> = r
                    .columns
                    .iter()
                    .map(|c| c.trim_start_matches("legb_").trim_start_matches("lega_"))
                    .collect();
                columns.sort_unstable();
                columns.dedup();
                let mut keys = d.keys();
                keys.sort_unstable();
                assert_eq!(columns, keys, "{}", r.table);
            }
        };
        check(ROLLUPS, 60, false);
        check(BREAKDOWN_MINUTE, 60, true);
        check(BREAKDOWN_HOUR, 3600, true);
    }
}
