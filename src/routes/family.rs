//! `GET` of the §6 endpoints (`{termination,origination}-statistics`,
//! `{termination,origination}-active-calls`, `outgoing-active-calls`): the same admission,
//! auth, headers, ETag/304 and caching as the quality endpoints, and the representations of
//! SPEC §7 (`format=json|rows|csv`, `Accept: text/csv`); one handler for all five.

use super::statistics::{CSV, JSON, Representation, executor, no_cache, respond};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::http::LogFields;
use crate::startup::AppState;
use crate::stats::family::{FamilyAsk, FamilyRequest, Reply};
use crate::stats::filters::Endpoint;
use crate::stats::service::weak_etag;
use actix_web::http::header::{self, HeaderName, HeaderValue};
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
    let format = Format::of(&req)?;
    let filename = format!("{}-{}.csv", endpoint.name(), request.account());
    let now = chrono::Utc::now().timestamp();
    if request.from_secs().is_some_and(|from| from > now) {
        // As for the quality endpoints (SPEC §1): nothing can exist yet, no query runs.
        let body = match format {
            Format::Csv => Bytes::from(request.csv_header()),
            Format::Document | Format::Rows => Bytes::from_static(b"[]"),
        };
        let repr = format.representation(body, filename);
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
            rows: Some(reply.doc.rows()),
            source: Some(source.as_str()),
        },
    );
    let repr = format.render(&reply, filename)?;
    let mut resp = respond(&req, &auth, &state, repr, source.as_str());
    if reply.truncated {
        resp.headers_mut().insert(
            HeaderName::from_static("x-cdrstats-truncated"),
            HeaderValue::from_static("true"),
        );
    }
    Ok(resp)
}

/// The representation a client asked for (SPEC §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// The document of SPEC §6 (the default, `format=json`).
    Document,
    /// `format=rows`: one JSON object per bucket (or per call).
    Rows,
    /// `format=csv` or an `Accept` preferring `text/csv`: RFC 4180.
    Csv,
}

impl Format {
    fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        let mut given = form_urlencoded::parse(req.query_string().as_bytes())
            .filter(|(k, _)| k == "format" || k == "format[]");
        let first = given.next();
        if given.next().is_some() || first.as_ref().is_some_and(|(k, _)| k == "format[]") {
            return Err(ApiError::NotAnArray("format"));
        }
        match first.map(|(_, v)| v.to_ascii_lowercase()).as_deref() {
            Some("json") => Ok(Self::Document),
            Some("rows") => Ok(Self::Rows),
            Some("csv") => Ok(Self::Csv),
            Some(_) => Err(ApiError::InvalidValue("format")),
            None if accepts_csv_first(req) => Ok(Self::Csv),
            None => Ok(Self::Document),
        }
    }

    /// The cached JSON body as it is, or the document rendered as rows or CSV.
    fn render(self, reply: &Reply, filename: String) -> Result<Representation, ApiError> {
        Ok(match self {
            Self::Document => Representation {
                body: reply.body.clone(),
                etag: reply.etag.clone(),
                content_type: JSON,
                filename: None,
            },
            Self::Rows => self.representation(reply.doc.to_rows_json()?.into(), filename),
            Self::Csv => self.representation(reply.doc.to_csv().into(), filename),
        })
    }

    fn representation(self, body: Bytes, filename: String) -> Representation {
        Representation {
            etag: weak_etag(&body),
            body,
            content_type: if self == Self::Csv { CSV } else { JSON },
            filename: (self == Self::Csv).then_some(filename),
        }
    }
}

/// An `Accept` whose first choice is `text/csv`.
fn accepts_csv_first(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let first = v.split(',').next().unwrap_or_default();
            first.trim().to_ascii_lowercase().starts_with("text/csv")
        })
}
