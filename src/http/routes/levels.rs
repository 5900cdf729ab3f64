//! Levels of the active OU per dimension (`engagement`, `profile`, `account`), with the
//! snapshot history of every change and revert.

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_models::levels::{Dimension, Level, LevelHistory, LevelInput, RevertInput};

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Path, Query, Scoped};
use crate::http::AppState;

/// The dimension's levels, lowest range first.
#[utoipa::path(get, path = "/v1/levels/{dimension}", tag = "levels",
    params(("dimension" = String, Path, description = "engagement, profile or account")),
    responses((status = 200, body = Vec<Level>), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(dimension): Path<String>,
) -> ApiResult<Json<Vec<Level>>> {
    let dim = Dimension::parse(&dimension)?;
    Ok(Json(state.core.list_levels(&t, dim).await?))
}

/// Create a level: `name` (1–100, unique in the dimension), `min_score` ≤ `max_score`
/// (integers); ranges of a dimension never overlap. A score is at the level holding its
/// whole part. Engagement levels reach every lead at once; a lead that changes level is
/// announced on the stream (`level_change`).
#[utoipa::path(post, path = "/v1/levels/{dimension}", tag = "levels", request_body = LevelInput,
    params(("dimension" = String, Path, description = "engagement, profile or account")),
    responses((status = 201, body = Level), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(dimension): Path<String>,
    Json(b): Json<LevelInput>,
) -> ApiResult<(StatusCode, Json<Level>)> {
    let dim = Dimension::parse(&dimension)?;
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_level(&t, dim, b).await?),
    ))
}

/// Replace a level's name and range (all three fields required).
#[utoipa::path(put, path = "/v1/levels/{dimension}/{id}", tag = "levels", request_body = LevelInput,
    params(("dimension" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Level), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path((dimension, id)): Path<(String, String)>,
    Json(b): Json<LevelInput>,
) -> ApiResult<Json<Level>> {
    let dim = Dimension::parse(&dimension)?;
    Ok(Json(state.core.update_level(&t, dim, &id, b).await?))
}

/// Delete a level.
#[utoipa::path(delete, path = "/v1/levels/{dimension}/{id}", tag = "levels",
    params(("dimension" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path((dimension, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let dim = Dimension::parse(&dimension)?;
    state.core.delete_level(&t, dim, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The query of a level history: the seed's `ruleset_id` is accepted (any other parameter
/// is refused) though levels are the dimension's, the same for each of its rulesets.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Accepted for the seed's clients: a dimension's levels apply to all its rulesets.
    pub ruleset_id: Option<String>,
}

/// The snapshots of the dimension's levels, newest first: one after every create,
/// update, delete and revert, with the whole set as it stood then.
#[utoipa::path(get, path = "/v1/levels/{dimension}/history", tag = "levels",
    params(("dimension" = String, Path), HistoryParams),
    responses((status = 200, body = Vec<LevelHistory>), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn history(
    _: Query<HistoryParams>,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(dimension): Path<String>,
) -> ApiResult<Json<Vec<LevelHistory>>> {
    let dim = Dimension::parse(&dimension)?;
    Ok(Json(state.core.level_history(&t, dim).await?))
}

/// Replace the dimension's levels with a snapshot's, exactly; the revert is itself
/// snapshotted.
#[utoipa::path(post, path = "/v1/levels/{dimension}/revert", tag = "levels", request_body = RevertInput,
    params(("dimension" = String, Path)),
    responses((status = 200, body = Vec<Level>), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn revert(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(dimension): Path<String>,
    Json(b): Json<RevertInput>,
) -> ApiResult<Json<Vec<Level>>> {
    let dim = Dimension::parse(&dimension)?;
    Ok(Json(state.core.revert_levels(&t, dim, b).await?))
}
