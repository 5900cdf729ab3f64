//! Analytics of the active OU.

use axum::extract::State;
use leadwire_models::analytics::{Analytics, EventStats, ScoreGain, TopLead, TopParams};

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Query, Scoped};
use crate::http::AppState;

/// Lead and event totals, events by channel and by type.
#[utoipa::path(get, path = "/v1/analytics", tag = "analytics",
    responses((status = 200, body = Analytics)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn overview(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Analytics>> {
    Ok(Json(state.core.analytics(&t).await?))
}

/// Event counts over the last 24 h, 7 and 30 days, and the most frequent event types.
#[utoipa::path(get, path = "/v1/analytics/stats", tag = "analytics",
    responses((status = 200, body = EventStats)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn stats(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<EventStats>> {
    Ok(Json(state.core.event_stats(&t).await?))
}

/// The highest-scoring leads (`?limit=`, default 10).
#[utoipa::path(get, path = "/v1/analytics/top-leads", tag = "analytics", params(TopParams),
    responses((status = 200, body = Vec<TopLead>), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn top_leads(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<TopParams>,
) -> ApiResult<Json<Vec<TopLead>>> {
    Ok(Json(state.core.top_leads(&t, q).await?))
}

/// Leads whose primary score rose most in the last `hours` (default 24).
#[utoipa::path(get, path = "/v1/analytics/recent-gains", tag = "analytics", params(TopParams),
    responses((status = 200, body = Vec<ScoreGain>), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn recent_gains(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<TopParams>,
) -> ApiResult<Json<Vec<ScoreGain>>> {
    Ok(Json(state.core.recent_gains(&t, q).await?))
}
