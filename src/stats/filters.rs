//! The one declarative table of filters shared by both endpoints: parameter name → column,
//! operator and value type. Validation, SQL and documentation are all derived from it.

/// The two statistics endpoints. They differ only in the account column, the price filters and
/// which CDRs count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Termination,
    Origination,
}

impl Endpoint {
    pub const ALL: [Endpoint; 2] = [Endpoint::Termination, Endpoint::Origination];

    /// The CDR column holding the caller's account.
    pub fn account_column(self) -> &'static str {
        match self {
            Self::Termination => "vendor_acc_id",
            Self::Origination => "customer_acc_id",
        }
    }

    /// Origination counts calls (the last routing attempt), termination every attempt.
    pub fn last_cdr_only(self) -> bool {
        matches!(self, Self::Origination)
    }

    /// The URL path of the endpoint.
    pub fn path(self) -> &'static str {
        match self {
            Self::Termination => "/api/rest/customer/v1/termination-statistics-quality",
            Self::Origination => "/api/rest/customer/v1/origination-statistics-quality",
        }
    }

    /// Short name used in logs and file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Termination => "termination",
            Self::Origination => "origination",
        }
    }
}

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
}

/// The type a raw value is parsed into, and the ClickHouse type it is bound as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    UInt32,
    Int32,
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
#[derive(Debug, PartialEq)]
pub struct Filter {
    /// The query-string name, e.g. `dst-prefix-routing-starts-with`.
    pub param: &'static str,
    /// The CDR column it applies to.
    pub column: &'static str,
    pub op: Op,
    pub kind: Kind,
    /// `Some(e)` when only endpoint `e` knows the parameter (elsewhere it is ignored).
    pub only: Option<Endpoint>,
}

impl Filter {
    /// Whether `endpoint` accepts this filter.
    pub fn applies_to(&self, endpoint: Endpoint) -> bool {
        self.only.is_none_or(|only| only == endpoint)
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
        }
    }
}

const fn f(param: &'static str, column: &'static str, op: Op, kind: Kind) -> Filter {
    Filter {
        param,
        column,
        op,
        kind,
        only: None,
    }
}

const fn only(endpoint: Endpoint, filter: Filter) -> Filter {
    Filter {
        only: Some(endpoint),
        ..filter
    }
}

/// Every optional filter, in the order of the contract (and of validation errors).
pub static FILTERS: &[Filter] = {
    use Endpoint::{Origination, Termination};
    use Kind::{Int32, Ip, Price, Text, UInt32};
    use Op::{Contains, EndsWith, Eq, Gt, Lt, StartsWith};
    &[
        f("src-country-id", "src_country_id", Eq, UInt32),
        f("dst-country-id", "dst_country_id", Eq, UInt32),
        f("src-prefix-routing-eq", "src_prefix_routing", Eq, Text),
        f(
            "src-prefix-routing-starts-with",
            "src_prefix_routing",
            StartsWith,
            Text,
        ),
        f(
            "src-prefix-routing-ends-with",
            "src_prefix_routing",
            EndsWith,
            Text,
        ),
        f(
            "src-prefix-routing-contains",
            "src_prefix_routing",
            Contains,
            Text,
        ),
        f("dst-prefix-routing-eq", "dst_prefix_routing", Eq, Text),
        f(
            "dst-prefix-routing-starts-with",
            "dst_prefix_routing",
            StartsWith,
            Text,
        ),
        f(
            "dst-prefix-routing-ends-with",
            "dst_prefix_routing",
            EndsWith,
            Text,
        ),
        f(
            "dst-prefix-routing-contains",
            "dst_prefix_routing",
            Contains,
            Text,
        ),
        f("duration-eq", "duration", Eq, Int32),
        f("duration-gt", "duration", Gt, Int32),
        f("duration-lt", "duration", Lt, Int32),
        only(Termination, f("vendor-price-eq", "vendor_price", Eq, Price)),
        only(Termination, f("vendor-price-gt", "vendor_price", Gt, Price)),
        only(Termination, f("vendor-price-lt", "vendor_price", Lt, Price)),
        only(
            Origination,
            f("customer-price-eq", "customer_price", Eq, Price),
        ),
        only(
            Origination,
            f("customer-price-gt", "customer_price", Gt, Price),
        ),
        only(
            Origination,
            f("customer-price-lt", "customer_price", Lt, Price),
        ),
        only(Origination, f("auth-orig-ip", "auth_orig_ip", Eq, Ip)),
    ]
};

/// The filters `endpoint` accepts, in table order.
pub fn for_endpoint(endpoint: Endpoint) -> impl Iterator<Item = &'static Filter> {
    FILTERS.iter().filter(move |f| f.applies_to(endpoint))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Endpoint::{Origination, Termination};
    use std::collections::HashSet;

    #[test]
    fn parameter_names_are_unique_and_kebab_case() {
        let mut seen = HashSet::new();
        for f in FILTERS {
            assert!(seen.insert(f.param), "duplicate {}", f.param);
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
        assert!(names(Termination).contains(&"vendor-price-eq"));
        assert!(!names(Termination).contains(&"customer-price-eq"));
        assert!(!names(Termination).contains(&"auth-orig-ip"));
        assert!(names(Origination).contains(&"auth-orig-ip"));
        assert!(!names(Origination).contains(&"vendor-price-gt"));
        assert_eq!(names(Termination).len(), 16);
        assert_eq!(names(Origination).len(), 17);
    }
}
