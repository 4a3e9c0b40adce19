//! HTTP plumbing shared by all routes: request ids, `x-runtime`, security headers, and JSON
//! answers for actix's own failures.

use crate::error::ApiError;
use crate::metrics::Metrics;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::web;
use actix_web::{HttpMessage, HttpRequest};
use std::time::Instant;

/// The id of the current request: echoed from a sane `X-Request-Id`, else a fresh UUID. It is
/// also the ClickHouse `query_id` of the request's queries.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id stored by the middleware (or a fresh one outside it, e.g. in unit tests).
    pub fn of(req: &HttpRequest) -> String {
        req.extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    }
}

/// What a handler learned about a request, for the access log line.
#[derive(Clone, Debug, Default)]
pub struct LogFields {
    pub customer: Option<u32>,
    pub account: Option<u32>,
    pub rows: Option<usize>,
    pub source: Option<&'static str>,
}

impl LogFields {
    /// Records fields for the access log of `req`.
    pub fn record(req: &HttpRequest, fields: LogFields) {
        req.extensions_mut().insert(fields);
    }
}

/// An incoming id is echoed only if it is short and plain, so it is safe in logs and as the
/// ClickHouse `log_comment` of the request's queries (never as a query id: those are per query).
fn sane_request_id(raw: Option<&HeaderValue>) -> Option<String> {
    let text = raw?.to_str().ok()?;
    let ok = (1..=128).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then(|| text.to_owned())
}

/// Middleware: assigns the request id and adds `x-request-id` and `x-runtime` to every answer.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = sane_request_id(req.headers().get("x-request-id"))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    if let Some(m) = &metrics {
        m.in_flight.inc();
    }
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let result = next.call(req).await;
    if let Some(m) = &metrics {
        m.in_flight.dec();
        let status = match &result {
            Ok(resp) => resp.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        record(m, &route, status, started.elapsed().as_secs_f64());
    }
    let mut resp = result?;
    access_log(&resp, &id, started);
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    let runtime = format!("{:.6}", started.elapsed().as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&runtime) {
        headers.insert(HeaderName::from_static("x-runtime"), v);
    }
    Ok(resp)
}

/// One structured line per request: never the token, only what identifies the work.
fn access_log<B>(resp: &ServiceResponse<B>, id: &str, started: Instant) {
    let req = resp.request();
    let fields = req
        .extensions()
        .get::<LogFields>()
        .cloned()
        .unwrap_or_default();
    tracing::info!(
        target: "access",
        request_id = id,
        query_id = id,
        method = %req.method(),
        path = req.path(),
        status = resp.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        customer = fields.customer,
        account = fields.account,
        rows = fields.rows,
        source = fields.source,
    );
}

fn record(metrics: &Metrics, route: &str, status: StatusCode, seconds: f64) {
    metrics
        .requests
        .with_label_values(&[route, status.as_str()])
        .inc();
    metrics
        .request_seconds
        .with_label_values(&[route])
        .observe(seconds);
    if matches!(status.as_u16(), 429 | 503 | 504) {
        metrics
            .rejections
            .with_label_values(&[status.as_str()])
            .inc();
    }
}

/// The security headers of the contract, on every response.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("x-frame-options", "SAMEORIGIN"))
        .add(("x-xss-protection", "0"))
        .add(("x-content-type-options", "nosniff"))
        .add(("x-permitted-cross-domain-policies", "none"))
        .add(("referrer-policy", "strict-origin-when-cross-origin"))
}

/// Unknown routes answer JSON like everything else.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_request_ids_are_echoed() {
        let v = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(
            sane_request_id(Some(&v("20651960-0677-4a19-b16c-dd160f472cf5"))).as_deref(),
            Some("20651960-0677-4a19-b16c-dd160f472cf5")
        );
        assert_eq!(sane_request_id(Some(&v("a b"))), None);
        assert_eq!(sane_request_id(Some(&v("x';DROP"))), None);
        assert_eq!(sane_request_id(None), None);
    }
}
