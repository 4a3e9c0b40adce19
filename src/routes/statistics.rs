//! `GET /api/rest/customer/v1/{termination,origination}-statistics-quality`.

use crate::auth::Authenticated;
use crate::db::to_api_error;
use crate::error::ApiError;
use crate::http::RequestId;
use crate::startup::AppState;
use crate::stats::document::{self, bucket_count};
use crate::stats::filters::Endpoint;
use crate::stats::params::StatsRequest;
use crate::stats::plan::{self, Window};
use crate::stats::query::fetch_buckets;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};
use std::time::Duration;

const CONTENT_TYPE: &str = "application/json; charset=utf-8";
const CACHE_CONTROL: &str = "max-age=0, private, must-revalidate";

/// Validates, queries and shapes one statistics request.
#[tracing::instrument(skip_all, fields(endpoint = endpoint.name(), customer = auth.context.customer_id))]
pub async fn statistics(
    endpoint: Endpoint,
    req: HttpRequest,
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = StatsRequest::parse(endpoint, req.query_string())?;
    let now = chrono::Utc::now().timestamp();
    if request.from.secs > now {
        // Nothing can exist yet: answer without asking ClickHouse.
        return Ok(respond(&req, &auth, &state, b"[]".to_vec()));
    }
    let account = auth.account(&state, request.account).await?;

    let end = request.to.map_or(now, |t| t.floor().min(now));
    let sampling = request.sampling;
    let step = sampling.seconds();
    let (first, last) = (sampling.floor(request.from.secs), sampling.floor(end));
    let buckets = bucket_count(first, last, step);
    if buckets > state.settings.max_buckets {
        return Err(ApiError::TooManyBuckets {
            buckets,
            limit: state.settings.max_buckets,
        });
    }

    let window = Window {
        from: request.from.ceil(),
        to: end,
    };
    let rows = if window.from > window.to {
        Vec::new() // a sub-second window holds no whole second
    } else {
        let plan = plan::buckets(&request, account, window);
        let timeout = state.settings.query_timeout_secs;
        let client = state
            .db
            .primary()
            .clone()
            .with_setting("query_id", RequestId::of(&req))
            .with_setting("max_execution_time", timeout.to_string());
        // The server stops at max_execution_time; the client deadline is a safety net.
        tokio::time::timeout(
            Duration::from_secs(timeout + 1),
            fetch_buckets(&client, &plan),
        )
        .await
        .map_err(|_| ApiError::Timeout)?
        .map_err(to_api_error)?
    };
    tracing::debug!(account, buckets, rows = rows.len(), "statistics answered");
    let doc = document::build(&rows, first, last, step);
    let body = serde_json::to_vec(&doc).map_err(anyhow::Error::from)?;
    Ok(respond(&req, &auth, &state, body))
}

/// A 200 with the contract's headers, or a 304 when the client already has this body.
fn respond(
    req: &HttpRequest,
    auth: &Authenticated,
    state: &AppState,
    body: Vec<u8>,
) -> HttpResponse {
    let etag = weak_etag(&body);
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &etag));
    let mut resp = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::VARY, HeaderValue::from_static("Accept")));
    auth.refresh_cookie(state, &mut resp);
    if not_modified {
        resp.finish()
    } else {
        resp.content_type(CONTENT_TYPE).body(body)
    }
}

/// `W/"<128-bit digest hex>"` of the body.
fn weak_etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// `If-None-Match` semantics: `*`, or any listed tag equal under weak comparison.
fn etag_matches(header: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    header.trim() == "*" || header.split(',').any(|t| opaque(t) == opaque(etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_weak_and_compare_weakly() {
        let tag = weak_etag(b"{}");
        assert!(tag.starts_with("W/\"") && tag.len() == 3 + 32 + 1);
        assert!(etag_matches(&tag, &tag));
        assert!(etag_matches(
            &format!("\"x\", {}", tag.trim_start_matches("W/")),
            &tag
        ));
        assert!(etag_matches("*", &tag));
        assert!(!etag_matches("W/\"other\"", &tag));
    }
}
