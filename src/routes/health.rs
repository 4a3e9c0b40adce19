//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: ClickHouse answers).

use crate::startup::AppState;
use actix_web::{HttpResponse, web};

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .insert_header(("retry-after", "1"))
                .json(serde_json::json!({ "status": "unavailable" }))
        }
    }
}
