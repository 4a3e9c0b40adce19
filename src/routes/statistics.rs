//! `GET`/`HEAD /api/rest/customer/v1/{termination,origination}-statistics-quality`, in the three
//! representations of SPEC §7: the columnar document, `format=rows` and `format=csv`.

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::http::{LogFields, RequestId};
use crate::startup::AppState;
use crate::stats::document::Document;
use crate::stats::filters::Endpoint;
use crate::stats::params::StatsRequest;
use crate::stats::query::Executor;
use crate::stats::service::{Ask, Source, weak_etag};
use crate::stats::table::{Tabular, csv_header, to_csv, to_rows_json};
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};

pub(crate) const JSON: &str = "application/json; charset=utf-8";
pub(crate) const CSV: &str = "text/csv; charset=utf-8; header=present";
const CACHE_CONTROL: &str = "max-age=0, private, must-revalidate";

/// A body ready to send in the representation the client asked for.
pub(crate) struct Representation {
    pub body: Bytes,
    pub etag: String,
    pub content_type: &'static str,
    /// `Content-Disposition` file name (CSV downloads).
    pub filename: Option<String>,
}

/// Validates, answers and shapes one statistics request.
#[tracing::instrument(skip_all, fields(endpoint = endpoint.name(), customer = auth.context.customer_id))]
pub async fn statistics(
    endpoint: Endpoint,
    req: HttpRequest,
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Held until the answer is sent: counts against the customer's concurrency.
    let _admission = state.limits.admit(auth.class, auth.context.customer_id)?;
    let request = StatsRequest::parse(endpoint, req.query_string())?;
    let format = Format::of(&req)?;
    let now = chrono::Utc::now().timestamp();
    if request.from.secs > now {
        let header = csv_header::<Document>();
        return Ok(future_window(
            &req,
            &auth,
            &state,
            format,
            header,
            filename(&request),
        ));
    }
    let account = auth.account(&state, request.account).await?;
    let exec = executor(&req, &auth, &state);
    let ask = Ask {
        request: &request,
        account,
        customer: auth.context.customer_id,
        now,
        bypass: no_cache(&req),
    };
    let answer = state.stats.answer(&exec, &ask).await?;
    LogFields::record(
        &req,
        LogFields {
            customer: Some(auth.context.customer_id),
            account: Some(account),
            rows: Some(answer.doc.rows),
            source: Some(answer.source.as_str()),
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
        Format::Rows | Format::Csv => format.render(answer.doc.as_ref(), filename(&request)),
    };
    let watermark = state.watermark.header(endpoint, account).await;
    let mut resp = respond(
        &req,
        &auth,
        &state,
        repr,
        answer.source.as_str(),
        &watermark,
    );
    age_if_stale(&mut resp, answer.source, answer.created);
    Ok(resp)
}

/// A kept answer served while ClickHouse is unavailable says how old it is (`Age`, seconds).
pub(crate) fn age_if_stale(resp: &mut HttpResponse, source: Source, created: std::time::Instant) {
    if source == Source::Stale {
        let age = created.elapsed().as_secs().to_string();
        if let Ok(value) = HeaderValue::from_str(&age) {
            resp.headers_mut().insert(header::AGE, value);
        }
    }
}

/// A window starting after now (SPEC §1): nothing can exist yet, so `[]` (or the bare CSV
/// header) is answered without asking ClickHouse; no account was looked up, so no watermark.
pub(crate) fn future_window(
    req: &HttpRequest,
    auth: &Authenticated,
    state: &AppState,
    format: Format,
    csv_header: String,
    filename: String,
) -> HttpResponse {
    let body = match format {
        Format::Csv => Bytes::from(csv_header),
        Format::Document | Format::Rows => Bytes::from_static(b"[]"),
    };
    respond(
        req,
        auth,
        state,
        format.representation(body, filename),
        "none",
        "unknown",
    )
}

/// Runs this request's queries: its id, class, deadline and settings.
pub(crate) fn executor<'a>(
    req: &HttpRequest,
    auth: &Authenticated,
    state: &'a AppState,
) -> Executor<'a> {
    Executor {
        db: &state.db,
        limits: &state.limits,
        class: auth.class,
        metrics: &state.metrics,
        request_id: RequestId::of(req),
        timeout_secs: state.settings.query_timeout_secs,
        extra_settings: &state.clickhouse_settings,
        listing: &state.listing,
    }
}

/// The representation a client asked for (SPEC §7), for every endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// The endpoint's own document (the default, `format=json`).
    Document,
    /// `format=rows`: one JSON object per bucket (or per call), for generic JSON readers.
    Rows,
    /// `format=csv` or `Accept: text/csv`: RFC 4180.
    Csv,
}

impl Format {
    /// From `format=json|rows|csv`, else an `Accept` that prefers `text/csv`, else the document.
    pub(crate) fn of(req: &HttpRequest) -> Result<Self, ApiError> {
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

    /// Renders a bucketed document as rows or CSV (the document itself is the cached body).
    fn render<T: Tabular>(self, doc: &T, filename: String) -> Representation {
        let body = match self {
            Self::Csv => to_csv(doc),
            Self::Document | Self::Rows => to_rows_json(doc),
        };
        self.representation(Bytes::from(body), filename)
    }

    /// A body in this representation; CSV downloads are named `filename`.
    pub(crate) fn representation(self, body: Bytes, filename: String) -> Representation {
        Representation {
            etag: weak_etag(&body),
            body,
            content_type: if self == Self::Csv { CSV } else { JSON },
            filename: (self == Self::Csv).then_some(filename),
        }
    }
}

/// `termination-7c61877c-…-20260415T184548Z-minute.csv`
fn filename(request: &StatsRequest) -> String {
    let from = crate::stats::time::rfc3339(request.from.secs).replace(['-', ':'], "");
    format!(
        "{}-{}-{from}-{}.csv",
        request.endpoint.name(),
        request.account,
        request.sampling.as_str()
    )
}

/// An `Accept` whose first choice is `text/csv` (spreadsheets and some BI tools send this).
fn accepts_csv_first(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let first = v.split(',').next().unwrap_or_default();
            first.trim().to_ascii_lowercase().starts_with("text/csv")
        })
}

/// `Cache-Control: no-cache` (or `Pragma: no-cache`) asks for a fresh answer.
pub(crate) fn no_cache(req: &HttpRequest) -> bool {
    let says = |name| {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
            })
    };
    says(header::CACHE_CONTROL) || says(header::PRAGMA)
}

/// A 200 with the contract's headers, or a 304 when the client already has this body.
pub(crate) fn respond(
    req: &HttpRequest,
    auth: &Authenticated,
    state: &AppState,
    repr: Representation,
    source: &'static str,
    watermark: &str,
) -> HttpResponse {
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &repr.etag));
    let mut resp = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, repr.etag.as_str()))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::VARY, HeaderValue::from_static("Accept")))
        .insert_header(("x-cdrstats-source", source))
        .insert_header(("x-cdrstats-watermark", watermark));
    if let Some(name) = &repr.filename {
        resp.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ));
    }
    auth.refresh_cookie(state, &mut resp);
    if not_modified {
        resp.finish()
    } else {
        resp.content_type(repr.content_type).body(repr.body)
    }
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
