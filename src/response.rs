//! How every route answers: the representations a client may ask for (the document,
//! `format=rows`, `format=csv`), the contract's headers, weak ETags and `If-None-Match` (also
//! for the chart page's files), and `Cache-Control: no-cache` on requests.

use crate::auth::{Authenticated, Gate};
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

pub const JSON: &str = "application/json; charset=utf-8";
pub const CSV: &str = "text/csv; charset=utf-8; header=present";
const CACHE_CONTROL: &str = "max-age=0, private, must-revalidate";

/// A body ready to send in the representation the client asked for.
pub struct Representation {
    pub body: Bytes,
    pub etag: String,
    pub content_type: &'static str,
    /// `Content-Disposition` file name (CSV downloads).
    pub filename: Option<String>,
}

/// The representation a client asked for, for every statistics endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The endpoint's own document (the default, `format=json`).
    Document,
    /// `format=rows`: one JSON object per bucket (or per call), for generic JSON readers.
    Rows,
    /// `format=csv` or `Accept: text/csv`: RFC 4180.
    Csv,
}

impl Format {
    /// From `format=json|rows|csv`, else an `Accept` that prefers `text/csv`, else the document.
    pub fn of(req: &HttpRequest) -> Result<Self, ApiError> {
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

    /// A body in this representation; CSV downloads are named `filename`.
    pub fn representation(self, body: Bytes, filename: String) -> Representation {
        Representation {
            etag: weak_etag(&body),
            body,
            content_type: if self == Self::Csv { CSV } else { JSON },
            filename: (self == Self::Csv).then_some(filename),
        }
    }
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
pub fn no_cache(req: &HttpRequest) -> bool {
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

/// Whether the client's `If-None-Match` already names `etag`.
pub fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, etag))
}

/// A 200 with the contract's headers, or a 304 when the client already has this body.
pub fn respond(
    req: &HttpRequest,
    auth: &Authenticated,
    gate: &Gate,
    repr: Representation,
    source: &'static str,
    watermark: &str,
) -> HttpResponse {
    let not_modified = not_modified(req, &repr.etag);
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
    auth.refresh_cookie(gate, &mut resp);
    if not_modified {
        resp.finish()
    } else {
        resp.content_type(repr.content_type).body(repr.body)
    }
}

/// A kept answer served while ClickHouse is unavailable says how old it is (`Age`, seconds).
pub fn set_age(resp: &mut HttpResponse, created: std::time::Instant) {
    let age = created.elapsed().as_secs().to_string();
    if let Ok(value) = HeaderValue::from_str(&age) {
        resp.headers_mut().insert(header::AGE, value);
    }
}

/// `W/"<128-bit digest hex>"` of the body.
pub fn weak_etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// `If-None-Match` semantics (RFC 9110 §13.1.2): `*`, or any listed tag equal under weak
/// comparison.
pub fn etag_matches(header: &str, etag: &str) -> bool {
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
