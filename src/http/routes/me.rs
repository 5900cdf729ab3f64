//! The caller's own settings: rate limit.

use axum::extract::State;
use leadwire_models::ratelimit::{RateLimitKeyBy, RateLimitMode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Auth, Json, NoQuery};
use crate::http::middleware::ClientIp;
use crate::http::AppState;

#[derive(Serialize, ToSchema)]
pub struct RateLimitView {
    pub enabled: bool,
    pub mode: RateLimitMode,
    pub key_by: RateLimitKeyBy,
    /// The bucket key this caller's requests count against.
    pub key: String,
    /// Sustained requests per second.
    pub rps: f64,
    /// Requests allowed in a burst.
    pub burst: u32,
    /// Deployment stage.
    pub stage: String,
}

/// The rate limit that applies to the caller.
#[utoipa::path(get, path = "/v1/me/rate-limit", tag = "me",
    responses((status = 200, body = RateLimitView), (status = 401, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn rate_limit(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    axum::Extension(ip): axum::Extension<ClientIp>,
) -> ApiResult<Json<RateLimitView>> {
    let l = &state.limiter;
    Ok(Json(RateLimitView {
        enabled: l.config.enabled,
        mode: l.config.mode,
        key_by: l.config.key_by,
        key: l.key(Some(&caller), &ip.0),
        rps: l.config.rps,
        burst: l.config.burst,
        stage: state.config.stage.clone(),
    }))
}
