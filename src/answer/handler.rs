//! The one HTTP pipeline of every statistics endpoint: admit → parse → representation → future
//! window → account → answer → access-log fields → render → watermark → respond (ETag/304,
//! headers, cookie) → `Age` on stale answers.

use super::{Ask, Family, Service, Source};
use crate::auth::{Authenticated, Gate};
use crate::domain::Endpoint;
use crate::error::ApiError;
use crate::http::{LogFields, RequestId};
use crate::response::{self, Format, JSON, Representation};
use crate::stats::query::Backend;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};

/// Validates, answers and shapes one request to `endpoint`, answered by family `F`.
#[tracing::instrument(skip_all, fields(endpoint = endpoint.name(), customer = auth.context.customer_id))]
pub async fn handle<F: Family>(
    endpoint: Endpoint,
    req: HttpRequest,
    auth: Authenticated,
    gate: web::Data<Gate>,
    backend: web::Data<Backend>,
    service: web::Data<Service<F>>,
) -> Result<HttpResponse, ApiError>
where
    F::Document: Send + Sync,
{
    // Held until the answer is sent: counts against the customer's concurrency.
    let _admission = backend.limits.admit(auth.class, auth.context.customer_id)?;
    let request = service.family.parse(endpoint, req.query_string())?;
    let format = Format::of(&req)?;
    let filename = F::filename(endpoint, &request);
    let now = chrono::Utc::now().timestamp();
    if F::from_secs(&request).is_some_and(|from| from > now) {
        return Ok(future_window::<F>(
            &req, &auth, &gate, format, &request, filename,
        ));
    }
    let account = auth.account(&gate, F::account(&request)).await?;
    let exec = backend.executor(RequestId::of(&req), auth.class);
    let ask = Ask {
        request: &request,
        account,
        customer: auth.context.customer_id,
        now,
        bypass: response::no_cache(&req),
    };
    // The watermark is looked up beside the answer, not after it: a lookup missing its short
    // cache would otherwise add a round trip to the answer's time. A failed answer returns at
    // once, dropping the lookup.
    let watermark = async { Ok(backend.watermark.header(endpoint, account).await) };
    let (served, watermark) =
        futures_util::future::try_join(service.answer(&exec, &ask), watermark).await?;
    let answer = &served.answer;
    LogFields::record(
        &req,
        LogFields {
            customer: Some(auth.context.customer_id),
            account: Some(account),
            rows: Some(F::rows(&answer.doc)),
            source: Some(served.source.as_str()),
        },
    );
    let repr = match format {
        // The cached document body and its etag are reused as they are.
        Format::Document => Representation {
            body: answer.body.clone(),
            etag: answer.etag.clone(),
            content_type: JSON,
            filename: None,
        },
        Format::Rows => format.representation(F::to_rows_json(&answer.doc)?.into(), filename),
        Format::Csv => format.representation(F::to_csv(&answer.doc).into(), filename),
    };
    let mut resp = response::respond(&req, &auth, &gate, repr, served.source.as_str(), &watermark);
    if served.source == Source::Stale {
        response::set_age(&mut resp, answer.created);
    }
    if F::truncated(&answer.doc) {
        resp.headers_mut().insert(
            HeaderName::from_static("x-cdrstats-truncated"),
            HeaderValue::from_static("true"),
        );
    }
    Ok(resp)
}

/// A window starting after now: nothing can exist yet, so `[]` (or the bare CSV header) is
/// answered without asking ClickHouse; no account was looked up, so no watermark.
fn future_window<F: Family>(
    req: &HttpRequest,
    auth: &Authenticated,
    gate: &Gate,
    format: Format,
    request: &F::Request,
    filename: String,
) -> HttpResponse {
    let body = match format {
        Format::Csv => Bytes::from(F::csv_header(request)),
        Format::Document | Format::Rows => Bytes::from_static(b"[]"),
    };
    response::respond(
        req,
        auth,
        gate,
        format.representation(body, filename),
        "none",
        "unknown",
    )
}
