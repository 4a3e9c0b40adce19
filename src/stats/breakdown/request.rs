//! A breakdown request: its dimensions (`by`), order (`sort`), size (`limit`), comparison
//! (`compare`), window and filters, parsed once into typed values.

use crate::domain::{Endpoint, Side};
use crate::error::ApiError;
use crate::stats::filters::Filter;
use crate::stats::params::{RawParams, Value};
use crate::stats::plan::Window;
use crate::stats::time::Instant;
use uuid::Uuid;

const REQUIRED: [&str; 3] = ["account-id", "from-time", "by"];
const SCALARS: [&str; 7] = [
    "account-id",
    "from-time",
    "to-time",
    "by",
    "sort",
    "limit",
    "compare",
];
/// `limit` when absent, and its bounds.
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 1000;
/// At most this many dimensions in `by`.
pub const MAX_DIMENSIONS: usize = 2;

/// One dimension a breakdown groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    DstCountry,
    DstNetwork,
    DstPrefix,
    SrcCountry,
    SrcPrefix,
    /// The side's disconnect code, shown with its most frequent reason.
    DisconnectCode,
}

impl Dimension {
    pub const ALL: [Dimension; 6] = [
        Self::DstCountry,
        Self::DstNetwork,
        Self::DstPrefix,
        Self::SrcCountry,
        Self::SrcPrefix,
        Self::DisconnectCode,
    ];

    /// The `by` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::DstCountry => "dst-country",
            Self::DstNetwork => "dst-network",
            Self::DstPrefix => "dst-prefix",
            Self::SrcCountry => "src-country",
            Self::SrcPrefix => "src-prefix",
            Self::DisconnectCode => "disconnect-code",
        }
    }

    /// The `cdrs` column grouped by (the side decides which leg's code).
    pub fn column(self, side: Side) -> &'static str {
        match (self, side) {
            (Self::DstCountry, _) => "dst_country_id",
            (Self::DstNetwork, _) => "dst_network_id",
            (Self::DstPrefix, _) => "dst_prefix_routing",
            (Self::SrcCountry, _) => "src_country_id",
            (Self::SrcPrefix, _) => "src_prefix_routing",
            (Self::DisconnectCode, Side::Termination) => "legb_disconnect_code",
            (Self::DisconnectCode, Side::Origination) => "lega_disconnect_code",
        }
    }

    /// The reason column beside the code (only for [`Self::DisconnectCode`]).
    pub fn reason_column(side: Side) -> &'static str {
        match side {
            Side::Termination => "legb_disconnect_reason",
            Side::Origination => "lega_disconnect_reason",
        }
    }

    /// Whether the key is a number (ids, codes) rather than text (prefixes).
    pub fn numeric(self) -> bool {
        !matches!(self, Self::DstPrefix | Self::SrcPrefix)
    }

    /// The key columns it contributes to the answer, in order.
    pub fn key_columns(self) -> &'static [&'static str] {
        match self {
            Self::DstCountry => &["dst_country_id"],
            Self::DstNetwork => &["dst_network_id"],
            Self::DstPrefix => &["dst_prefix_routing"],
            Self::SrcCountry => &["src_country_id"],
            Self::SrcPrefix => &["src_prefix_routing"],
            Self::DisconnectCode => &["disconnect_code", "disconnect_reason"],
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// The eight metrics of a breakdown row, in the answer's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    TotalCalls,
    SuccessfulCalls,
    FailedCalls,
    TotalDuration,
    Acd,
    Asr,
    TotalPrice,
    Pdd,
}

impl Metric {
    pub const ALL: [Metric; 8] = [
        Self::TotalCalls,
        Self::SuccessfulCalls,
        Self::FailedCalls,
        Self::TotalDuration,
        Self::Acd,
        Self::Asr,
        Self::TotalPrice,
        Self::Pdd,
    ];

    /// The column name (and `sort` value).
    pub fn name(self) -> &'static str {
        match self {
            Self::TotalCalls => "total_calls",
            Self::SuccessfulCalls => "successful_calls",
            Self::FailedCalls => "failed_calls",
            Self::TotalDuration => "total_duration",
            Self::Acd => "acd",
            Self::Asr => "asr",
            Self::TotalPrice => "total_price",
            Self::Pdd => "pdd",
        }
    }

    /// The `previous_<metric>` column name.
    pub fn previous_name(self) -> &'static str {
        match self {
            Self::TotalCalls => "previous_total_calls",
            Self::SuccessfulCalls => "previous_successful_calls",
            Self::FailedCalls => "previous_failed_calls",
            Self::TotalDuration => "previous_total_duration",
            Self::Acd => "previous_acd",
            Self::Asr => "previous_asr",
            Self::TotalPrice => "previous_total_price",
            Self::Pdd => "previous_pdd",
        }
    }
}

/// `sort`: a metric, descending when prefixed by `-`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sort {
    pub metric: Metric,
    pub descending: bool,
}

impl Sort {
    fn parse(raw: &str) -> Option<Self> {
        let (descending, name) = match raw.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, raw),
        };
        let metric = Metric::ALL.into_iter().find(|m| m.name() == name)?;
        Some(Self { metric, descending })
    }
}

/// A validated request to a breakdown endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakdownRequest {
    pub endpoint: Endpoint,
    pub account: Uuid,
    pub from: Instant,
    pub to: Option<Instant>,
    /// One or two distinct dimensions, in the asked order.
    pub by: Vec<Dimension>,
    pub sort: Sort,
    pub limit: usize,
    /// `compare=previous-period`.
    pub compare: bool,
    pub filters: Vec<(&'static Filter, Value)>,
}

impl BreakdownRequest {
    /// Parses the query string; errors in the contract's order (arrays, missing, values).
    pub fn parse(endpoint: Endpoint, query: &str) -> Result<Self, ApiError> {
        let raw = RawParams::collect(endpoint, query, &SCALARS)?;
        // `by=` given but empty is a bad value of `by`, not a missing parameter.
        if let Err(ApiError::MissingParams(mut missing)) = raw.require(&REQUIRED) {
            if raw.get("by") == Some("") {
                missing.retain(|name| *name != "by");
            }
            if !missing.is_empty() {
                return Err(ApiError::MissingParams(missing));
            }
        }
        let account = raw.account()?;
        let (from, to) = raw.window()?;
        let by = parse_by(raw.get("by").unwrap_or_default()).ok_or(ApiError::InvalidValue("by"))?;
        let sort = match raw.get("sort") {
            None => Sort {
                metric: Metric::TotalCalls,
                descending: true,
            },
            Some(s) => Sort::parse(s).ok_or(ApiError::InvalidValue("sort"))?,
        };
        let limit = match raw.get("limit") {
            None => DEFAULT_LIMIT,
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or(ApiError::InvalidValue("limit"))?,
        };
        let compare = match raw.get("compare") {
            None => false,
            Some("previous-period") => true,
            Some(_) => return Err(ApiError::InvalidValue("compare")),
        };
        Ok(Self {
            endpoint,
            account,
            from,
            to,
            by,
            sort,
            limit,
            compare,
            filters: raw.filters()?,
        })
    }

    /// The counted window `[F, T]` answered at `now`: whole seconds, `T` never after now.
    pub fn window(&self, now: i64) -> Window {
        Window {
            from: self.from.ceil(),
            to: self.to.map_or(now, |t| t.floor().min(now)),
        }
    }

    /// The key columns of the answer, in `by` order.
    pub fn key_columns(&self) -> Vec<&'static str> {
        self.by
            .iter()
            .flat_map(|d| d.key_columns().iter().copied())
            .collect()
    }
}

/// The window just before `window`, as long as it: `[F − L, F − 1]` with `L = T − F + 1`.
pub fn previous(window: Window) -> Window {
    let length = window.to - window.from + 1;
    Window {
        from: window.from - length,
        to: window.from - 1,
    }
}

/// `by`: one or two distinct known dimensions, comma-separated, no spaces.
fn parse_by(raw: &str) -> Option<Vec<Dimension>> {
    let mut by = Vec::new();
    for name in raw.split(',') {
        let d = Dimension::parse(name)?;
        if by.contains(&d) {
            return None;
        }
        by.push(d);
    }
    (1..=MAX_DIMENSIONS).contains(&by.len()).then_some(by)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str =
        "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2026-04-15T10:00:00Z";

    fn err(q: &str) -> String {
        BreakdownRequest::parse(Endpoint::TerminationBreakdown, q)
            .expect_err(q)
            .to_string()
    }

    #[test]
    fn required_params_are_listed_in_contract_order() {
        assert_eq!(
            err(""),
            "missing required param(s) account-id, from-time, by"
        );
        assert_eq!(
            err("by=dst-country"),
            "missing required param(s) account-id, from-time"
        );
        assert_eq!(err(OK), "missing required param(s) by");
        assert_eq!(err(&format!("{OK}&by=")), "invalid value by");
        assert_eq!(
            err("by=&from-time=2026-01-01"),
            "missing required param(s) account-id"
        );
    }

    #[test]
    fn by_takes_one_or_two_distinct_known_dimensions() {
        for bad in [
            "dst-country,dst-country",
            "dst-country,src-country,dst-prefix",
            "nope",
            "dst-country,",
            ",dst-country",
            "dst-country, src-country",
            "DST-COUNTRY",
        ] {
            assert_eq!(err(&format!("{OK}&by={bad}")), "invalid value by", "{bad}");
        }
        let r = BreakdownRequest::parse(
            Endpoint::OriginationBreakdown,
            &format!("{OK}&by=disconnect-code,dst-prefix"),
        )
        .expect("valid");
        assert_eq!(r.by, vec![Dimension::DisconnectCode, Dimension::DstPrefix]);
        assert_eq!(
            r.key_columns(),
            vec!["disconnect_code", "disconnect_reason", "dst_prefix_routing"]
        );
        assert_eq!(r.limit, DEFAULT_LIMIT);
        assert_eq!(
            r.sort,
            Sort {
                metric: Metric::TotalCalls,
                descending: true
            }
        );
        assert!(!r.compare);
    }

    #[test]
    fn sort_limit_and_compare_are_validated() {
        let q = format!("{OK}&by=dst-country");
        for (extra, want) in [
            ("&sort=cps", "invalid value sort"),
            ("&sort=--acd", "invalid value sort"),
            ("&sort=", "invalid value sort"),
            ("&limit=0", "invalid value limit"),
            ("&limit=1001", "invalid value limit"),
            ("&limit=-1", "invalid value limit"),
            ("&limit=1.5", "invalid value limit"),
            ("&compare=previous", "invalid value compare"),
            ("&sort=acd&sort=asr", "param sort can't be an array"),
            ("&disconnect-code=x", "invalid value disconnect-code"),
            ("&dst-network-id=-1", "invalid value dst-network-id"),
        ] {
            assert_eq!(err(&format!("{q}{extra}")), want, "{extra}");
        }
        let r = BreakdownRequest::parse(
            Endpoint::TerminationBreakdown,
            &format!("{q}&sort=pdd&limit=1000&compare=previous-period&disconnect-code=486"),
        )
        .expect("valid");
        assert_eq!(
            r.sort,
            Sort {
                metric: Metric::Pdd,
                descending: false
            }
        );
        assert_eq!((r.limit, r.compare), (1000, true));
        assert_eq!(r.filters[0].0.column, "legb_disconnect_code");
    }

    #[test]
    fn the_previous_window_ends_the_second_before_and_lasts_as_long() {
        let w = Window {
            from: 1_000,
            to: 1_059,
        };
        assert_eq!(previous(w), Window { from: 940, to: 999 });
        let one = Window { from: 5, to: 5 };
        assert_eq!(previous(one), Window { from: 4, to: 4 });
    }
}
