//! `GET` of the §6 endpoints (`{termination,origination}-statistics`,
//! `{termination,origination}-active-calls`, `outgoing-active-calls`): the same admission,
//! auth, headers, ETag/304, CSV and caching as the quality endpoints, one handler for all five.

use super::statistics::{CSV, JSON, Representation, executor, no_cache, respond, wants_csv};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::http::LogFields;
use crate::startup::AppState;
use crate::stats::family::{FamilyAsk, FamilyRequest};
use crate::stats::filters::Endpoint;
use crate::stats::service::weak_etag;
use crate::stats::table::to_csv;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};

/// Validates, answers and shapes one request to a §6 endpoint.
#[tracing::instrument(skip_all, fields(endpoint = endpoint.name(), customer = auth.context.customer_id))]
pub async fn family(
    endpoint: Endpoint,
    req: HttpRequest,
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let _admission = state.limits.admit(auth.class, auth.context.customer_id)?;
    let request = FamilyRequest::parse(endpoint, req.query_string())?;
    let csv = wants_csv(&req);
    let filename = csv.then(|| format!("{}-{}.csv", endpoint.name(), request.account()));
    let now = chrono::Utc::now().timestamp();
    if request.from_secs().is_some_and(|from| from > now) {
        // As for the quality endpoints (SPEC §1): nothing can exist yet, no query runs.
        let body = Bytes::from(if csv {
            to_csv(request.empty_table().as_ref())
        } else {
            "[]".to_owned()
        });
        let repr = Representation {
            etag: weak_etag(&body),
            body,
            content_type: if csv { CSV } else { JSON },
            filename,
        };
        return Ok(respond(&req, &auth, &state, repr, "none"));
    }
    let account = auth.account(&state, request.account()).await?;
    let ask = FamilyAsk {
        request: &request,
        account,
        customer: auth.context.customer_id,
        now,
        bypass: no_cache(&req),
    };
    let (reply, source) = state
        .family
        .answer(&executor(&req, &auth, &state), &ask)
        .await?;
    LogFields::record(
        &req,
        LogFields {
            customer: Some(auth.context.customer_id),
            account: Some(account),
            rows: Some(reply.table.len()),
            source: Some(source.as_str()),
        },
    );
    let repr = if csv {
        let body = Bytes::from(to_csv(reply.table.as_ref()));
        Representation {
            etag: weak_etag(&body),
            body,
            content_type: CSV,
            filename,
        }
    } else {
        Representation {
            body: reply.body.clone(),
            etag: reply.etag.clone(),
            content_type: JSON,
            filename: None,
        }
    };
    let mut resp = respond(&req, &auth, &state, repr, source.as_str());
    if reply.truncated {
        resp.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-cdrstats-truncated"),
            actix_web::http::header::HeaderValue::from_static("true"),
        );
    }
    Ok(resp)
}
