//! One error shape for everything: request-size limits checked before routing (413, 414, 431)
//! and actix's own error answers (404/405 from routing, 400 from the static-file path parser,
//! plain text or empty) rewritten into [`ApiError`]'s `{"error": …}`.
//!
//! One limit stays actix-http's: a request head over 128 KiB or with more than 96 headers is
//! refused by its HTTP/1 parser (431, empty body) before any application code runs; the limits
//! here are set below those so every ordinary oversized request gets our JSON.

use crate::error::ApiError;
use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;

/// Longest query string read: the statistics parser's own limit.
pub const MAX_QUERY_BYTES: usize = crate::stats::params::MAX_QUERY_LEN;
/// Longest path: our routes are short; anything longer is not one of them.
pub const MAX_PATH_BYTES: usize = 1024;
/// Most request headers, and most bytes of names and values together (a token is ≤ 4 KiB).
pub const MAX_HEADERS: usize = 64;
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Largest declared body: no endpoint reads one.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The limit a request breaks, if any.
pub fn check_limits(req: &ServiceRequest) -> Option<ApiError> {
    let uri = req.uri();
    if uri.path().len() > MAX_PATH_BYTES {
        return Some(ApiError::UriTooLong {
            part: "path",
            limit: MAX_PATH_BYTES,
        });
    }
    if uri.query().map_or(0, str::len) > MAX_QUERY_BYTES {
        return Some(ApiError::UriTooLong {
            part: "query string",
            limit: MAX_QUERY_BYTES,
        });
    }
    let headers = req.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Some(ApiError::HeadersTooLarge {
            max_count: MAX_HEADERS,
            max_bytes: MAX_HEADER_BYTES,
        });
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Some(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    None
}

/// Middleware: refuses oversized requests, and gives every error answer our JSON shape.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Some(err) = check_limits(&req) {
        let resp = err.error_response();
        return Ok(req.into_response(resp));
    }
    match next.call(req).await {
        Ok(resp) => Ok(reshape(resp.map_into_boxed_body())),
        // An error that escaped a service (the request is gone with it): hand on ours instead,
        // so whoever renders it renders our JSON.
        Err(e) if e.as_error::<ApiError>().is_some() => Err(e),
        Err(e) => Err(foreign(e.as_response_error().status_code()).into()),
    }
}

/// Our error for an error status produced by actix or a static-file service.
fn foreign(status: StatusCode) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::INTERNAL_SERVER_ERROR => {
            ApiError::internal(anyhow::anyhow!("{status} answered by the HTTP layer"))
        }
        other => ApiError::Http(other),
    }
}

/// True when the answer already is ours (JSON), or must stay empty (401, by contract).
fn is_ours(status: StatusCode, headers: &HeaderMap) -> bool {
    status == StatusCode::UNAUTHORIZED
        || headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"))
}

/// Replaces the body of a foreign error answer by our JSON, keeping its status and headers
/// (`Allow` on a 405, for one).
fn reshape(resp: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = resp.status();
    if status.as_u16() < 400 || is_ours(status, resp.headers()) {
        return resp;
    }
    let (req, old) = resp.into_parts();
    let mut new = foreign(status).error_response();
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !new.headers().contains_key(name)
        {
            new.headers_mut().append(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(req, new)
}
