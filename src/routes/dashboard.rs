//! `/dashboard/`: the chart page, compiled into the binary so `cdrstats serve` alone serves it.
//!
//! `rust-embed` (well kept, used by many actix/axum projects) copies `dashboard/src/` — our page
//! and the vendored uPlot with its license — into the executable at build time, with a SHA-256
//! per file for the etag and the MIME type from the file name. `debug-embed` makes debug builds
//! (and tests) embed too, so what the tests fetch is what ships.

use crate::error::ApiError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "dashboard/src/"]
struct Assets;

/// One embedded file; `index.html` for the directory itself. Unknown paths are our JSON 404.
pub async fn asset(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = match path.as_str() {
        "" => "index.html",
        other => other,
    };
    let file = Assets::get(name).ok_or(ApiError::NotFound)?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
    let fresh = crate::response::not_modified(&req, &etag);
    let mut resp = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    // Revalidate every time: the etag makes that a 304 until the binary changes.
    resp.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if fresh {
        return Ok(resp.finish());
    }
    let mime = file.metadata.mimetype();
    let content_type = if mime.starts_with("text/") || mime.ends_with("javascript") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        resp.insert_header((header::CONTENT_TYPE, value));
    }
    Ok(resp.body(file.data.into_owned()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_the_vendored_chart_library_are_embedded() {
        for name in [
            "index.html",
            "app.js",
            "style.css",
            "vendor/uplot/uPlot.iife.min.js",
            "vendor/uplot/uPlot.min.css",
            "vendor/uplot/LICENSE",
        ] {
            let file = Assets::get(name).unwrap_or_else(|| panic!("{name} embedded"));
            assert!(!file.data.is_empty(), "{name} is empty");
        }
        let index = Assets::get("index.html").expect("index");
        let html = String::from_utf8_lossy(&index.data);
        assert!(html.contains("vendor/uplot/uPlot.iife.min.js"));
        assert_eq!(index.metadata.mimetype(), "text/html");
    }
}
