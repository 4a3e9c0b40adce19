//! The one rule turning a CDR's Float64 price into exact millionths, as ClickHouse SQL. The
//! rollups' views and `rollups verify` apply it to every CDR, the raw statistics and breakdown
//! queries to every distinct price of a group: the rollup path and the raw path add up the same
//! integers.

use crate::domain::Side;

/// The price `$price` (SQL text) in millionths: the decimal the switch wrote (the Float64's
/// shortest decimal form) rounded half away from zero to 6 places.
///
/// Formatting every price as text costs the views' inserts about 0.1 s per 2M CDRs each, so the
/// price scaled in floating point is rounded directly unless it lies within 0.001 of a tie (or
/// is 10^6 or more, or not finite). There the text form, read as a Decimal, decides; elsewhere
/// both agree: below 10^6 a Float64 and its shortest decimal differ by at most 1.2e-10, so
/// scaled by 10^6 by less than 0.001 with the product's own rounding error, and both round to
/// the same integer. `round` is banker's rounding on floats but half away from zero on Decimals
/// (https://clickhouse.com/docs/reference/functions/regular-functions/rounding-functions; on
/// the local engine round(toDecimal128('1.0000025', 12), 6) is 1.000003); digits past scale 12
/// are truncated by toDecimal128, which cannot move a 6-place half-way point.
///
/// A price that is not a finite number below 10^9 in magnitude (NaN, infinities, garbage from
/// the switch) counts 0: its text form cannot be read as a Decimal, and a view that fails
/// fails the pipeline's whole insert. The CDR itself still counts everywhere else.
macro_rules! price_micros {
    ($price:literal) => {
        concat!(
            "if(abs(",
            $price,
            ") < 1000000 AND abs(",
            $price,
            " * 1000000 - floor(",
            $price,
            " * 1000000) - 0.5) > 0.001, toInt64(round(",
            $price,
            " * 1000000)), if(",
            $crate::stats::price_sql::priced!($price),
            ", toInt64(round(toDecimal128(toString(",
            $price,
            "), 12), 6) * 1000000), 0))"
        )
    };
}
pub(crate) use price_micros;

/// Whether `$price` (SQL text) has a value in millionths: a finite number below 10^9 in
/// magnitude (false for NaN, as every comparison with NaN is, and the infinities).
macro_rules! priced {
    ($price:literal) => {
        concat!("abs(", $price, ") < 1000000000")
    };
}
pub(crate) use priced;

/// [`price_micros!`] of a query's `price` column: the raw templates' price marker.
pub const OF_PRICE_COLUMN: &str = price_micros!("price");

/// The price column a side is charged by: the vendor's for termination, the customer's for
/// origination.
pub fn column(side: Side) -> &'static str {
    match side {
        Side::Termination => "vendor_price",
        Side::Origination => "customer_price",
    }
}
