//! The domain's vocabulary: the endpoints served, the side of a call an endpoint reports on,
//! and the shape of its answer. Every other module speaks in these types.

/// The ClickHouse-backed customer endpoints, named after their paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `termination-statistics-quality`: gap-filled calls, ACD, ASR and CPS per bucket.
    TerminationQuality,
    /// `origination-statistics-quality`.
    OriginationQuality,
    /// `termination-statistics`: calls, minutes and prices per non-empty bucket.
    TerminationStatistics,
    /// `origination-statistics`.
    OriginationStatistics,
    /// `termination-active-calls`: calls in progress per minute.
    TerminationActiveCalls,
    /// `origination-active-calls`.
    OriginationActiveCalls,
    /// `outgoing-active-calls`: the calls of the newest snapshot.
    OutgoingActiveCalls,
    /// `termination-breakdown`: calls, minutes, prices and PDD per destination or failure
    /// reason, with an optional previous-period comparison.
    TerminationBreakdown,
    /// `origination-breakdown`.
    OriginationBreakdown,
}

/// Which side of a call an endpoint reports on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The account is the vendor (`vendor_acc_id`); every routing attempt counts.
    Termination,
    /// The account is the customer (`customer_acc_id`); only the last attempt counts.
    Origination,
}

/// The response shape an endpoint answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Gap-filled buckets of total_calls/acd/asr/cps with totals.
    Quality,
    /// Non-empty buckets of calls, minutes and prices with totals.
    Statistics,
    /// Calls in progress per minute.
    ActiveCalls,
    /// The rows of the newest snapshot.
    OutgoingActiveCalls,
    /// Metrics per key (destination, network, disconnect code…), top N plus other, totals.
    Breakdown,
}

impl Endpoint {
    pub const ALL: [Endpoint; 9] = [
        Endpoint::TerminationQuality,
        Endpoint::OriginationQuality,
        Endpoint::TerminationStatistics,
        Endpoint::OriginationStatistics,
        Endpoint::TerminationActiveCalls,
        Endpoint::OriginationActiveCalls,
        Endpoint::OutgoingActiveCalls,
        Endpoint::TerminationBreakdown,
        Endpoint::OriginationBreakdown,
    ];

    /// The side the endpoint reports on (`outgoing-active-calls` lists the customer's calls).
    pub fn side(self) -> Side {
        match self {
            Self::TerminationQuality
            | Self::TerminationStatistics
            | Self::TerminationActiveCalls
            | Self::TerminationBreakdown => Side::Termination,
            _ => Side::Origination,
        }
    }

    /// The shape of its answer.
    pub fn shape(self) -> Shape {
        match self {
            Self::TerminationQuality | Self::OriginationQuality => Shape::Quality,
            Self::TerminationStatistics | Self::OriginationStatistics => Shape::Statistics,
            Self::TerminationActiveCalls | Self::OriginationActiveCalls => Shape::ActiveCalls,
            Self::OutgoingActiveCalls => Shape::OutgoingActiveCalls,
            Self::TerminationBreakdown | Self::OriginationBreakdown => Shape::Breakdown,
        }
    }

    /// The column holding the caller's account (the same name in `cdrs` and `active_calls`).
    pub fn account_column(self) -> &'static str {
        match self.side() {
            Side::Termination => "vendor_acc_id",
            Side::Origination => "customer_acc_id",
        }
    }

    /// Origination counts calls (the last routing attempt), termination every attempt.
    pub fn last_cdr_only(self) -> bool {
        self.side() == Side::Origination
    }

    /// The URL path of the endpoint.
    pub fn path(self) -> &'static str {
        match self {
            Self::TerminationQuality => "/api/rest/customer/v1/termination-statistics-quality",
            Self::OriginationQuality => "/api/rest/customer/v1/origination-statistics-quality",
            Self::TerminationStatistics => "/api/rest/customer/v1/termination-statistics",
            Self::OriginationStatistics => "/api/rest/customer/v1/origination-statistics",
            Self::TerminationActiveCalls => "/api/rest/customer/v1/termination-active-calls",
            Self::OriginationActiveCalls => "/api/rest/customer/v1/origination-active-calls",
            Self::OutgoingActiveCalls => "/api/rest/customer/v1/outgoing-active-calls",
            Self::TerminationBreakdown => "/api/rest/customer/v1/termination-breakdown",
            Self::OriginationBreakdown => "/api/rest/customer/v1/origination-breakdown",
        }
    }

    /// Short name used in logs, file names and operation ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::TerminationQuality => "termination",
            Self::OriginationQuality => "origination",
            Self::TerminationStatistics => "termination-statistics",
            Self::OriginationStatistics => "origination-statistics",
            Self::TerminationActiveCalls => "termination-active-calls",
            Self::OriginationActiveCalls => "origination-active-calls",
            Self::OutgoingActiveCalls => "outgoing-active-calls",
            Self::TerminationBreakdown => "termination-breakdown",
            Self::OriginationBreakdown => "origination-breakdown",
        }
    }

    /// The endpoint's bit in a set of endpoints (the filter table's `Endpoints`).
    pub const fn bit(self) -> u16 {
        1 << self as u8
    }
}
