//! The one declarative table of filters shared by every endpoint: parameter name → column,
//! operator, value type and the endpoints that accept it. Validation, SQL and documentation are
//! all derived from it.

use crate::domain::Endpoint;

/// A set of endpoints, written in the filter table as a union of the constants below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoints(u16);

impl Endpoints {
    const fn of(list: &[Endpoint]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < list.len() {
            bits |= list[i].bit();
            i += 1;
        }
        Self(bits)
    }

    const fn or(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether `endpoint` is in the set.
    pub fn contains(self, endpoint: Endpoint) -> bool {
        self.0 & endpoint.bit() != 0
    }
}

/// Endpoints reading the termination side of `cdrs` or `active_calls`.
const TERMINATION_SIDE: Endpoints = Endpoints::of(&[
    Endpoint::TerminationQuality,
    Endpoint::TerminationStatistics,
    Endpoint::TerminationActiveCalls,
    Endpoint::TerminationBreakdown,
]);
/// Endpoints reading the origination side of `cdrs` or `active_calls`.
const ORIGINATION_SIDE: Endpoints = Endpoints::of(&[
    Endpoint::OriginationQuality,
    Endpoint::OriginationStatistics,
    Endpoint::OriginationActiveCalls,
    Endpoint::OriginationBreakdown,
]);
/// The breakdowns of each side: the statistics filters plus network and disconnect code.
const TERMINATION_BREAKDOWN: Endpoints = Endpoints::of(&[Endpoint::TerminationBreakdown]);
const ORIGINATION_BREAKDOWN: Endpoints = Endpoints::of(&[Endpoint::OriginationBreakdown]);
/// Every per-account statistics and active-calls endpoint.
const BOTH_SIDES: Endpoints = TERMINATION_SIDE.or(ORIGINATION_SIDE);
const OUTGOING: Endpoints = Endpoints::of(&[Endpoint::OutgoingActiveCalls]);

/// How a filter compares its column with the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Gt,
    Lt,
    StartsWith,
    EndsWith,
    /// Case-insensitive substring.
    Contains,
    /// `true`: the column is NULL; `false`: it is not.
    IsNull,
}

/// The type a raw value is parsed into, and the ClickHouse type it is bound as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    UInt8,
    UInt16,
    UInt32,
    Int32,
    /// `true` or `false`; only with [`Op::IsNull`].
    Bool,
    /// A finite decimal, compared with a Float64 column.
    Price,
    /// Free text, at most [`MAX_TEXT_LEN`] bytes.
    Text,
    /// An IPv4 or IPv6 address, compared in canonical text form.
    Ip,
}

impl Kind {
    /// The ClickHouse type of the bound parameter.
    pub fn clickhouse_type(self) -> &'static str {
        match self {
            Self::UInt8 | Self::Bool => "UInt8",
            Self::UInt16 => "UInt16",
            Self::UInt32 => "UInt32",
            Self::Int32 => "Int32",
            Self::Price => "Float64",
            Self::Text | Self::Ip => "String",
        }
    }
}

/// Longest accepted text value; routing prefixes are far shorter.
pub const MAX_TEXT_LEN: usize = 128;

/// One optional filter parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Filter {
    /// The query-string name, e.g. `dst-prefix-routing-starts-with`.
    pub param: &'static str,
    /// The column it applies to (the same name in `cdrs` and `active_calls`).
    pub column: &'static str,
    pub op: Op,
    pub kind: Kind,
    /// The endpoints that know the parameter (elsewhere it is ignored).
    pub on: Endpoints,
}

impl Filter {
    /// Whether `endpoint` accepts this filter.
    pub fn applies_to(&self, endpoint: Endpoint) -> bool {
        self.on.contains(endpoint)
    }

    /// The name of the server-side query parameter carrying the value (`f_dst_prefix_routing_eq`).
    pub fn bind_name(&self) -> String {
        format!("f_{}", self.param.replace('-', "_"))
    }

    /// The SQL condition, built from this static table only: never from request text.
    pub fn condition(&self) -> String {
        let (col, ty, name) = (self.column, self.kind.clickhouse_type(), self.bind_name());
        let value = format!("{{{name}:{ty}}}");
        match self.op {
            Op::Eq => format!("{col} = {value}"),
            Op::Gt => format!("{col} > {value}"),
            Op::Lt => format!("{col} < {value}"),
            Op::StartsWith => format!("startsWith({col}, {value})"),
            Op::EndsWith => format!("endsWith({col}, {value})"),
            Op::Contains => format!("positionCaseInsensitiveUTF8({col}, {value}) > 0"),
            // The flag is bound as 0/1, so no SQL keyword depends on the request.
            Op::IsNull => format!("isNull({col}) = {value}"),
        }
    }
}

const fn f(param: &'static str, column: &'static str, op: Op, kind: Kind, on: Endpoints) -> Filter {
    Filter {
        param,
        column,
        op,
        kind,
        on,
    }
}

/// `<prefix>-{eq,starts-with,ends-with,contains}` on a text column.
macro_rules! text_filters {
    ($prefix:literal, $column:literal, $on:expr) => {
        [
            f(concat!($prefix, "-eq"), $column, Op::Eq, Kind::Text, $on),
            f(
                concat!($prefix, "-starts-with"),
                $column,
                Op::StartsWith,
                Kind::Text,
                $on,
            ),
            f(
                concat!($prefix, "-ends-with"),
                $column,
                Op::EndsWith,
                Kind::Text,
                $on,
            ),
            f(
                concat!($prefix, "-contains"),
                $column,
                Op::Contains,
                Kind::Text,
                $on,
            ),
        ]
    };
}

const SRC_PREFIX_ROUTING: [Filter; 4] = text_filters!(
    "src-prefix-routing",
    "src_prefix_routing",
    BOTH_SIDES.or(OUTGOING)
);
const DST_PREFIX_ROUTING: [Filter; 4] = text_filters!(
    "dst-prefix-routing",
    "dst_prefix_routing",
    BOTH_SIDES.or(OUTGOING)
);
const SRC_NAME_IN: [Filter; 4] = text_filters!("src-name-in", "src_name_in", OUTGOING);
const SRC_PREFIX_IN: [Filter; 4] = text_filters!("src-prefix-in", "src_prefix_in", OUTGOING);
const DST_PREFIX_IN: [Filter; 4] = text_filters!("dst-prefix-in", "dst_prefix_in", OUTGOING);

/// Every optional filter, in the order of the contract (and of validation errors).
pub static FILTERS: &[Filter] = {
    use Kind::{Bool, Int32, Ip, Price, Text, UInt8, UInt16, UInt32};
    use Op::{Eq, Gt, IsNull, Lt};
    const T: Endpoints = TERMINATION_SIDE;
    const O: Endpoints = ORIGINATION_SIDE;
    &[
        f("src-country-id", "src_country_id", Eq, UInt32, BOTH_SIDES),
        f("dst-country-id", "dst_country_id", Eq, UInt32, BOTH_SIDES),
        SRC_PREFIX_ROUTING[0],
        SRC_PREFIX_ROUTING[1],
        SRC_PREFIX_ROUTING[2],
        SRC_PREFIX_ROUTING[3],
        DST_PREFIX_ROUTING[0],
        DST_PREFIX_ROUTING[1],
        DST_PREFIX_ROUTING[2],
        DST_PREFIX_ROUTING[3],
        f("duration-eq", "duration", Eq, Int32, BOTH_SIDES),
        f("duration-gt", "duration", Gt, Int32, BOTH_SIDES),
        f("duration-lt", "duration", Lt, Int32, BOTH_SIDES),
        f("vendor-price-eq", "vendor_price", Eq, Price, T),
        f("vendor-price-gt", "vendor_price", Gt, Price, T),
        f("vendor-price-lt", "vendor_price", Lt, Price, T),
        f("customer-price-eq", "customer_price", Eq, Price, O),
        f("customer-price-gt", "customer_price", Gt, Price, O),
        f("customer-price-lt", "customer_price", Lt, Price, O),
        // An IP address on the origination statistics (compared in canonical form), any text
        // on the outgoing active calls (an SBC may record a name).
        f("auth-orig-ip", "auth_orig_ip", Eq, Ip, O),
        f(
            "dst-network-id",
            "dst_network_id",
            Eq,
            UInt32,
            TERMINATION_BREAKDOWN.or(ORIGINATION_BREAKDOWN),
        ),
        // The disconnect code the account's side saw: the vendor's answer (leg B) on
        // termination, the answer the customer got (leg A) on origination.
        f(
            "disconnect-code",
            "legb_disconnect_code",
            Eq,
            Int32,
            TERMINATION_BREAKDOWN,
        ),
        f(
            "disconnect-code",
            "lega_disconnect_code",
            Eq,
            Int32,
            ORIGINATION_BREAKDOWN,
        ),
        f("auth-orig-ip", "auth_orig_ip", Eq, Text, OUTGOING),
        f("auth-orig-port", "auth_orig_port", Eq, UInt16, OUTGOING),
        f(
            "auth-orig-transport-protocol-id",
            "auth_orig_transport_protocol_id",
            Eq,
            UInt8,
            OUTGOING,
        ),
        f("connect-time-null", "connect_time", IsNull, Bool, OUTGOING),
        SRC_NAME_IN[0],
        SRC_NAME_IN[1],
        SRC_NAME_IN[2],
        SRC_NAME_IN[3],
        SRC_PREFIX_IN[0],
        SRC_PREFIX_IN[1],
        SRC_PREFIX_IN[2],
        SRC_PREFIX_IN[3],
        DST_PREFIX_IN[0],
        DST_PREFIX_IN[1],
        DST_PREFIX_IN[2],
        DST_PREFIX_IN[3],
    ]
};

/// The filters `endpoint` accepts, in table order.
pub fn for_endpoint(endpoint: Endpoint) -> impl Iterator<Item = &'static Filter> {
    FILTERS.iter().filter(move |f| f.applies_to(endpoint))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Endpoint::{OriginationQuality, TerminationQuality};
    use std::collections::HashSet;

    #[test]
    fn parameter_names_are_unique_per_endpoint_and_kebab_case() {
        for endpoint in Endpoint::ALL {
            let mut seen = HashSet::new();
            for f in for_endpoint(endpoint) {
                assert!(
                    seen.insert(f.param),
                    "duplicate {} on {endpoint:?}",
                    f.param
                );
            }
        }
        for f in FILTERS {
            assert!(
                f.param
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                f.param
            );
        }
    }

    #[test]
    fn conditions_bind_values_as_typed_parameters() {
        let by = |p: &str| FILTERS.iter().find(|f| f.param == p).expect("listed");
        assert_eq!(
            by("dst-prefix-routing-contains").condition(),
            "positionCaseInsensitiveUTF8(dst_prefix_routing, {f_dst_prefix_routing_contains:String}) > 0"
        );
        assert_eq!(
            by("duration-gt").condition(),
            "duration > {f_duration_gt:Int32}"
        );
        assert_eq!(
            by("vendor-price-lt").condition(),
            "vendor_price < {f_vendor_price_lt:Float64}"
        );
    }

    #[test]
    fn price_filters_belong_to_their_endpoint() {
        let names = |e| for_endpoint(e).map(|f| f.param).collect::<Vec<_>>();
        assert!(names(TerminationQuality).contains(&"vendor-price-eq"));
        assert!(!names(TerminationQuality).contains(&"customer-price-eq"));
        assert!(!names(TerminationQuality).contains(&"auth-orig-ip"));
        assert!(names(OriginationQuality).contains(&"auth-orig-ip"));
        assert!(!names(OriginationQuality).contains(&"vendor-price-gt"));
        assert_eq!(names(TerminationQuality).len(), 16);
        assert_eq!(names(OriginationQuality).len(), 17);
    }

    #[test]
    fn each_family_member_knows_exactly_its_filters() {
        let names = |e| for_endpoint(e).map(|f| f.param).collect::<Vec<_>>();
        // The statistics and active-calls endpoints share their quality twin's filters.
        for (twin, others) in [
            (
                TerminationQuality,
                [
                    Endpoint::TerminationStatistics,
                    Endpoint::TerminationActiveCalls,
                ],
            ),
            (
                OriginationQuality,
                [
                    Endpoint::OriginationStatistics,
                    Endpoint::OriginationActiveCalls,
                ],
            ),
        ] {
            for other in others {
                assert_eq!(names(other), names(twin), "{other:?}");
            }
        }
        // The breakdowns: the statistics filters plus network and the side's disconnect code.
        for (breakdown, statistics, code) in [
            (
                Endpoint::TerminationBreakdown,
                Endpoint::TerminationStatistics,
                "legb_disconnect_code",
            ),
            (
                Endpoint::OriginationBreakdown,
                Endpoint::OriginationStatistics,
                "lega_disconnect_code",
            ),
        ] {
            let mut want = names(statistics);
            let at = want
                .iter()
                .position(|p| *p == "auth-orig-ip")
                .map_or(want.len(), |i| i + 1);
            want.splice(at..at, ["dst-network-id", "disconnect-code"]);
            assert_eq!(names(breakdown), want, "{breakdown:?}");
            let column = for_endpoint(breakdown)
                .find(|f| f.param == "disconnect-code")
                .map(|f| f.column);
            assert_eq!(column, Some(code));
        }
        let outgoing = names(Endpoint::OutgoingActiveCalls);
        assert_eq!(outgoing.len(), 4 + 5 * 4, "{outgoing:?}");
        for p in [
            "auth-orig-ip",
            "auth-orig-port",
            "auth-orig-transport-protocol-id",
            "connect-time-null",
            "src-name-in-contains",
            "dst-prefix-in-ends-with",
            "src-prefix-routing-eq",
        ] {
            assert!(outgoing.contains(&p), "{p}");
        }
        assert!(!outgoing.contains(&"duration-gt"));
        assert!(!names(TerminationQuality).contains(&"connect-time-null"));
    }

    #[test]
    fn auth_orig_ip_is_an_address_on_statistics_and_any_text_on_outgoing_calls() {
        let kind = |e| {
            for_endpoint(e)
                .find(|f| f.param == "auth-orig-ip")
                .map(|f| f.kind)
        };
        assert_eq!(kind(OriginationQuality), Some(Kind::Ip));
        assert_eq!(kind(Endpoint::OriginationActiveCalls), Some(Kind::Ip));
        assert_eq!(kind(Endpoint::OutgoingActiveCalls), Some(Kind::Text));
        assert_eq!(kind(TerminationQuality), None);
    }

    #[test]
    fn null_checks_bind_the_flag() {
        let by = |p: &str| FILTERS.iter().find(|f| f.param == p).expect("listed");
        assert_eq!(
            by("connect-time-null").condition(),
            "isNull(connect_time) = {f_connect_time_null:UInt8}"
        );
        assert_eq!(
            by("auth-orig-port").condition(),
            "auth_orig_port = {f_auth_orig_port:UInt16}"
        );
    }
}
