//! One error type for the HTTP API: every failure becomes a status and a JSON body here, and
//! nowhere else. Internal details are logged, never sent.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use std::fmt;

/// Everything a request can fail with. `Clone`, so an error shared among coalesced callers
/// (moka hands each an `Arc`) is recovered with `Arc::unwrap_or_clone`.
#[derive(Clone, Debug)]
pub enum ApiError {
    /// Required parameters absent, in the order of the contract.
    MissingParams(Vec<&'static str>),
    /// A value that does not parse or is not allowed; the name of the parameter.
    InvalidValue(&'static str),
    InvalidSampling,
    /// A scalar parameter given twice or as `name[]`.
    NotAnArray(&'static str),
    /// The requested window holds more buckets than the configured limit.
    TooManyBuckets {
        buckets: u64,
        limit: u64,
    },
    /// A bad query string or other malformed input with its own message.
    BadRequest(String),
    /// Missing, malformed, forged, expired token, or a client IP that is not allowed.
    Unauthorized,
    NotFound,
    // --- The HTTP layer's own refusals, checked or rewritten in `json_errors`. ---
    MethodNotAllowed,
    /// A declared body larger than any endpoint accepts (bytes).
    PayloadTooLarge {
        limit: usize,
    },
    /// A query string or path longer than the gateway reads (which part, bytes).
    UriTooLong {
        part: &'static str,
        limit: usize,
    },
    /// Too many request headers, or too many bytes of them.
    HeadersTooLarge {
        max_count: usize,
        max_bytes: usize,
    },
    /// Any other error status produced by actix itself (a bad path, a range of a static file).
    Http(StatusCode),
    /// The caller exceeded its rate or concurrency limit.
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// ClickHouse is unreachable or overloaded.
    Unavailable(&'static str),
    /// The query ran past its deadline.
    Timeout,
    /// Anything else; the cause is logged, the client sees `internal error`.
    Internal(std::sync::Arc<anyhow::Error>),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingParams(names) => {
                write!(f, "missing required param(s) {}", names.join(", "))
            }
            Self::InvalidValue(name) => write!(f, "invalid value {name}"),
            Self::InvalidSampling => f.write_str("invalid sampling"),
            Self::NotAnArray(name) => write!(f, "param {name} can't be an array"),
            Self::TooManyBuckets { buckets, limit } => write!(
                f,
                "too many buckets: {buckets} requested, at most {limit}; \
                 shorten the range or use a coarser sampling"
            ),
            Self::BadRequest(msg) => f.write_str(msg),
            Self::Unauthorized => f.write_str("unauthorized"),
            Self::NotFound => f.write_str("not found"),
            Self::MethodNotAllowed => f.write_str("method not allowed"),
            Self::PayloadTooLarge { limit } => {
                write!(f, "request body too large (at most {limit} bytes)")
            }
            Self::UriTooLong { part, limit } => {
                write!(f, "{part} too long (at most {limit} bytes)")
            }
            Self::HeadersTooLarge {
                max_count,
                max_bytes,
            } => write!(
                f,
                "request headers too large (at most {max_count} headers, {max_bytes} bytes)"
            ),
            Self::Http(status) => f.write_str(
                &status
                    .canonical_reason()
                    .unwrap_or("request failed")
                    .to_lowercase(),
            ),
            Self::TooManyRequests { .. } => f.write_str("too many requests, slow down"),
            Self::Unavailable(why) => f.write_str(why),
            Self::Timeout => f.write_str("query timed out"),
            Self::Internal(_) => f.write_str("internal error"),
        }
    }
}

impl ApiError {
    /// An internal error with its cause (logged, never sent).
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(std::sync::Arc::new(cause.into()))
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::internal(e)
    }
}

/// The challenge sent with every 401.
const WWW_AUTHENTICATE: &str = "Bearer realm=\"cdrstats\"";

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECS: &str = "1";

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MissingParams(_)
            | Self::InvalidValue(_)
            | Self::InvalidSampling
            | Self::NotAnArray(_)
            | Self::TooManyBuckets { .. }
            | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Http(status) => *status,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let Self::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let mut resp = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
        }
        if let Self::TooManyRequests { retry_after_secs } = self {
            resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            // The contract: 401 carries no body, so nothing hints at why. RFC 9110 §11.6.1 asks
            // for a challenge; only `Bearer`, since a `Basic` challenge makes browsers pop a login
            // dialog over the chart page. BI tools that can only send Basic send it unasked.
            resp.insert_header((header::WWW_AUTHENTICATE, WWW_AUTHENTICATE));
            return resp.finish();
        }
        resp.content_type("application/json; charset=utf-8")
            .body(serde_json::json!({ "error": self.to_string() }).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(e: ApiError) -> (u16, String) {
        let resp = e.error_response();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().try_into_bytes().unwrap_or_default();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[test]
    fn messages_are_the_contracts() {
        assert_eq!(
            body(ApiError::MissingParams(vec!["account-id", "sampling"])),
            (
                400,
                r#"{"error":"missing required param(s) account-id, sampling"}"#.into()
            )
        );
        assert_eq!(
            body(ApiError::InvalidValue("from-time")).1,
            r#"{"error":"invalid value from-time"}"#
        );
        assert_eq!(
            body(ApiError::NotAnArray("sampling")).1,
            r#"{"error":"param sampling can't be an array"}"#
        );
        assert_eq!(body(ApiError::Unauthorized), (401, String::new()));
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let (status, text) = body(ApiError::internal(anyhow::anyhow!(
            "SELECT secret FROM cdrs failed"
        )));
        assert_eq!(status, 500);
        assert_eq!(text, r#"{"error":"internal error"}"#);
    }
}
