//! The one table that maps ClickHouse errors onto the gateway's answer.
//!
//! A server or cluster error is either the backend being unavailable or overloaded (503 with
//! `Retry-After`; the statistics service then serves a settled answer kept for outages), a
//! timeout (504), or a bug on our side (500, details only in the log). Some unavailability is
//! local to the node we asked (it cannot reach a shard, a socket timed out), so the read is
//! retried once on another replica; overload is not retried, which would only add load.
//!
//! Codes and names are ClickHouse's `src/Common/ErrorCodes.cpp`; `tests/api/engine.rs` checks
//! every row against `errorCodeToName()` of the real engine.

use crate::error::ApiError;

/// The gateway's answer to a ClickHouse error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 503 + `Retry-After`; stale settled answers may be served instead.
    Unavailable(&'static str),
    /// 504.
    Timeout,
    /// 500 `internal error`: a bug or a misconfiguration (`cdrstats check` finds the latter).
    Bug,
}

/// One row of the table.
#[derive(Debug)]
pub struct Rule {
    pub code: u32,
    /// ClickHouse's name for the code.
    pub name: &'static str,
    pub answer: Outcome,
    /// Worth one more try on another replica (the problem is the node, not the query).
    pub retry_elsewhere: bool,
}

const UNAVAILABLE: Outcome = Outcome::Unavailable("statistics backend unavailable");
const OVERLOADED: Outcome = Outcome::Unavailable("statistics backend overloaded");

const fn rule(code: u32, name: &'static str, answer: Outcome, retry_elsewhere: bool) -> Rule {
    Rule {
        code,
        name,
        answer,
        retry_elsewhere,
    }
}

/// Every ClickHouse error code the gateway does not treat as a bug.
pub const RULES: &[Rule] = &[
    // The server stopped the query at max_execution_time, or predicted it would pass it.
    rule(159, "TIMEOUT_EXCEEDED", Outcome::Timeout, false),
    rule(160, "TOO_SLOW", Outcome::Timeout, false),
    // Cancelled: our deadline closed the connection, or an operator ran KILL QUERY.
    rule(394, "QUERY_WAS_CANCELLED", Outcome::Timeout, false),
    // Overload: max_concurrent_queries, the user's quota, memory limits.
    rule(202, "TOO_MANY_SIMULTANEOUS_QUERIES", OVERLOADED, false),
    rule(201, "QUOTA_EXCEEDED", OVERLOADED, false),
    rule(241, "MEMORY_LIMIT_EXCEEDED", OVERLOADED, false),
    rule(173, "CANNOT_ALLOCATE_MEMORY", OVERLOADED, false),
    // The node we asked cannot reach a shard or a replica: another node may.
    rule(209, "SOCKET_TIMEOUT", UNAVAILABLE, true),
    rule(210, "NETWORK_ERROR", UNAVAILABLE, true),
    rule(279, "ALL_CONNECTION_TRIES_FAILED", UNAVAILABLE, true),
    rule(285, "TOO_FEW_LIVE_REPLICAS", UNAVAILABLE, true),
    rule(203, "NO_FREE_CONNECTION", UNAVAILABLE, true),
    rule(999, "KEEPER_EXCEPTION", UNAVAILABLE, true),
    // Every query carries a fresh query_id, so this means a clash we cannot explain; the retry
    // gets a new id.
    rule(
        216,
        "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING",
        UNAVAILABLE,
        true,
    ),
];

/// How the gateway handles one driver error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub answer: Outcome,
    pub retry_elsewhere: bool,
    /// The server's error code, when the server answered with one.
    pub code: Option<u32>,
}

/// The error code of a ClickHouse error body (`Code: 159. DB::Exception: ...`). The first code
/// is the one the queried node raised; a cluster error quotes the remote one after it.
pub fn server_code(text: &str) -> Option<u32> {
    let start = text.find("Code: ")? + "Code: ".len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Classifies a driver error with [`RULES`].
pub fn classify(err: &clickhouse::error::Error) -> Verdict {
    use clickhouse::error::Error;
    match err {
        // Could not connect, or the connection broke: the node, not the query.
        Error::Network(_) => Verdict {
            answer: UNAVAILABLE,
            retry_elsewhere: true,
            code: None,
        },
        Error::TimedOut => Verdict {
            answer: Outcome::Timeout,
            retry_elsewhere: false,
            code: None,
        },
        Error::BadResponse(text) => {
            let code = server_code(text);
            let rule = code.and_then(|c| RULES.iter().find(|r| r.code == c));
            Verdict {
                answer: rule.map_or(Outcome::Bug, |r| r.answer),
                retry_elsewhere: rule.is_some_and(|r| r.retry_elsewhere),
                code,
            }
        }
        _ => Verdict {
            answer: Outcome::Bug,
            retry_elsewhere: false,
            code: None,
        },
    }
}

/// Maps a driver error onto the API's error; the full text is kept only for the log. Takes a
/// reference: an error shared among coalesced callers goes through this same table.
pub fn to_api_error(err: &clickhouse::error::Error) -> ApiError {
    match classify(err).answer {
        Outcome::Unavailable(why) => {
            tracing::warn!(error = %err, "clickhouse unavailable");
            ApiError::Unavailable(why)
        }
        Outcome::Timeout => ApiError::Timeout,
        Outcome::Bug => ApiError::internal(anyhow::anyhow!("clickhouse query: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;

    fn server_error(code: u32, name: &str) -> clickhouse::error::Error {
        clickhouse::error::Error::BadResponse(format!(
            "Code: {code}. DB::Exception: something happened. ({name}) (version 26.9.0)"
        ))
    }

    /// Status the client sees for a server error `code`.
    fn status_of(code: u32, name: &str) -> u16 {
        to_api_error(&server_error(code, name))
            .status_code()
            .as_u16()
    }

    #[test]
    fn timeouts_are_504() {
        assert_eq!(status_of(159, "TIMEOUT_EXCEEDED"), 504);
        assert_eq!(status_of(160, "TOO_SLOW"), 504);
        assert_eq!(status_of(394, "QUERY_WAS_CANCELLED"), 504);
        assert_eq!(
            to_api_error(&clickhouse::error::Error::TimedOut)
                .status_code()
                .as_u16(),
            504
        );
    }

    #[test]
    fn overload_is_503_and_not_retried() {
        for (code, name) in [
            (202, "TOO_MANY_SIMULTANEOUS_QUERIES"),
            (201, "QUOTA_EXCEEDED"),
            (241, "MEMORY_LIMIT_EXCEEDED"),
            (173, "CANNOT_ALLOCATE_MEMORY"),
        ] {
            assert_eq!(status_of(code, name), 503, "{name}");
            assert!(
                !classify(&server_error(code, name)).retry_elsewhere,
                "{name}"
            );
        }
    }

    #[test]
    fn an_unreachable_shard_or_replica_is_503_and_retried_elsewhere() {
        for (code, name) in [
            (209, "SOCKET_TIMEOUT"),
            (210, "NETWORK_ERROR"),
            (279, "ALL_CONNECTION_TRIES_FAILED"),
            (285, "TOO_FEW_LIVE_REPLICAS"),
            (203, "NO_FREE_CONNECTION"),
            (999, "KEEPER_EXCEPTION"),
            (216, "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING"),
        ] {
            assert_eq!(status_of(code, name), 503, "{name}");
            assert!(
                classify(&server_error(code, name)).retry_elsewhere,
                "{name}"
            );
        }
    }

    #[test]
    fn bugs_and_misconfiguration_are_500_without_detail() {
        for (code, name) in [
            (62, "SYNTAX_ERROR"),
            (60, "UNKNOWN_TABLE"),
            (164, "READONLY"),
            (452, "SETTING_CONSTRAINT_VIOLATION"),
            (497, "ACCESS_DENIED"),
        ] {
            assert_eq!(status_of(code, name), 500, "{name}");
        }
        let e = to_api_error(&server_error(62, "SYNTAX_ERROR"));
        assert_eq!(e.to_string(), "internal error");
    }

    #[test]
    fn every_rule_has_a_test_above() {
        // A new row must be added to one of the groups tested above.
        let tested = [
            159, 160, 394, 202, 201, 241, 173, 209, 210, 279, 285, 203, 999, 216,
        ];
        let mut codes: Vec<u32> = RULES.iter().map(|r| r.code).collect();
        codes.sort_unstable();
        let mut tested = tested.to_vec();
        tested.sort_unstable();
        assert_eq!(codes, tested);
    }

    #[test]
    fn the_first_code_of_a_cluster_error_is_the_queried_nodes() {
        let text = "Code: 279. DB::Exception: All connection tries failed. Log: \n\
                    Code: 210. DB::NetException: Connection refused (shard-2:9000)";
        assert_eq!(server_code(text), Some(279));
        assert_eq!(server_code("no code here"), None);
        assert_eq!(server_code("Code: x"), None);
    }

    #[test]
    fn network_errors_are_503_and_retried() {
        let e = clickhouse::error::Error::Network("connection refused".into());
        let v = classify(&e);
        assert!(v.retry_elsewhere);
        assert_eq!(v.answer, UNAVAILABLE);
    }
}
