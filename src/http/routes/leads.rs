//! Leads of the active OU.

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_models::events::StoredEvent;
use leadwire_models::leads::{Lead, LeadInput, LeadScore};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, Path, Query, Scoped};
use crate::http::AppState;

/// Create a lead; a client-supplied `id` is kept as given (unique in the OU).
#[utoipa::path(post, path = "/v1/leads", tag = "leads", request_body = LeadInput,
    responses((status = 201, body = Lead), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<LeadInput>,
) -> ApiResult<(StatusCode, Json<Lead>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_lead(&t, b).await?),
    ))
}

/// A lead with its live scores.
#[utoipa::path(get, path = "/v1/leads/{id}", tag = "leads", params(("id" = String, Path)),
    responses((status = 200, body = Lead), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<Lead>> {
    Ok(Json(state.core.get_lead(&t, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ScoreQuery {
    /// One ruleset's score instead of the highest.
    pub ruleset_id: Option<String>,
}

/// A lead's live score: the highest across the OU's rulesets, or one ruleset's.
#[utoipa::path(get, path = "/v1/leads/{id}/score", tag = "leads", params(("id" = String, Path), ScoreQuery),
    responses((status = 200, body = LeadScore), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn score(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Query(q): Query<ScoreQuery>,
) -> ApiResult<Json<LeadScore>> {
    Ok(Json(
        state
            .core
            .lead_score(&t, &id, q.ruleset_id.as_deref())
            .await?,
    ))
}

/// A lead's events in time order, each with the score change it caused.
#[utoipa::path(get, path = "/v1/leads/{id}/events", tag = "leads", params(("id" = String, Path)),
    responses((status = 200, body = Vec<StoredEvent>), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn events(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<StoredEvent>>> {
    Ok(Json(state.core.lead_events(&t, &id).await?))
}
