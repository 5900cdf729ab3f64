//! Health, readiness, metrics and the root payload (no authentication).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::extract::Json;
use crate::http::AppState;

#[derive(Serialize, ToSchema)]
pub struct Status {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

/// Root: a small health/info payload (an HTML page for browsers).
#[utoipa::path(get, path = "/", tag = "root", responses((status = 200, body = Status)))]
pub async fn index(headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        return Html(
            "<!doctype html><title>Leadwire</title><h1>Leadwire</h1><p>Real-time lead scoring. See <a href=\"/openapi.json\">/openapi.json</a> and <a href=\"/graphql\">/graphql</a>.</p>",
        )
        .into_response();
    }
    Json(Status {
        status: "ok".into(),
        page: None,
    })
    .into_response()
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "root", responses((status = 200, body = Status)))]
pub async fn healthz() -> Json<Status> {
    Json(Status {
        status: "ok".into(),
        page: None,
    })
}

/// Readiness: the store answers.
#[utoipa::path(get, path = "/readyz", tag = "root", responses((status = 200, body = Status), (status = 503, body = crate::http::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.core.store.ping().await {
        Ok(()) => Json(Status {
            status: "ok".into(),
            page: None,
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness-failed");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({"error": {"code": "unavailable", "message": "store is not reachable"}})))
                .into_response()
        }
    }
}

/// Prometheus metrics in text format.
#[utoipa::path(get, path = "/metrics", tag = "root", responses((status = 200, content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.core.metrics.render(),
    )
        .into_response()
}
