//! `GET` of the §6 endpoints (`{termination,origination}-statistics`,
//! `{termination,origination}-active-calls`, `outgoing-active-calls`): the same admission,
//! auth, headers, ETag/304 and caching as the quality endpoints, and the representations of
//! SPEC §7 (`format=json|rows|csv`, `Accept: text/csv`); one handler for all five.

use super::statistics::{
    Format, JSON, Representation, age_if_stale, executor, future_window, no_cache, respond,
};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::http::LogFields;
use crate::startup::AppState;
use crate::stats::family::{FamilyAsk, FamilyRequest, Reply};
use crate::stats::filters::Endpoint;
use actix_web::http::header::{HeaderName, HeaderValue};
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
    let format = Format::of(&req)?;
    let filename = format!("{}-{}.csv", endpoint.name(), request.account());
    let now = chrono::Utc::now().timestamp();
    if request.from_secs().is_some_and(|from| from > now) {
        let header = request.csv_header();
        return Ok(future_window(&req, &auth, &state, format, header, filename));
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
            rows: Some(reply.doc.rows()),
            source: Some(source.as_str()),
        },
    );
    let repr = render(format, &reply, filename)?;
    let watermark = state.watermark.header(endpoint, account).await;
    let mut resp = respond(&req, &auth, &state, repr, source.as_str(), &watermark);
    age_if_stale(&mut resp, source, reply.created);
    if reply.truncated {
        resp.headers_mut().insert(
            HeaderName::from_static("x-cdrstats-truncated"),
            HeaderValue::from_static("true"),
        );
    }
    Ok(resp)
}

/// The cached JSON body as it is, or the document rendered as rows or CSV.
fn render(format: Format, reply: &Reply, filename: String) -> Result<Representation, ApiError> {
    Ok(match format {
        Format::Document => Representation {
            body: reply.body.clone(),
            etag: reply.etag.clone(),
            content_type: JSON,
            filename: None,
        },
        Format::Rows => format.representation(reply.doc.to_rows_json()?.into(), filename),
        Format::Csv => format.representation(reply.doc.to_csv().into(), filename),
    })
}
