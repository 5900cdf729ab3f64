//! Sales reps of the active OU: who leads are routed to.

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_models::reps::{Rep, RepInput, RepListParams, RepPage};

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Path, Query, Scoped};
use crate::http::AppState;

/// The OU's reps by name, each with its open assignments (leads it owns) counted live:
/// `status`, `search` (name or email), `eligible` (available and under capacity), pages.
#[utoipa::path(get, path = "/v1/reps", tag = "reps", params(RepListParams),
    responses((status = 200, body = RepPage), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<RepListParams>,
) -> ApiResult<Json<RepPage>> {
    Ok(Json(state.core.list_reps(&t, q).await?))
}

/// Create a rep: `name` and `email` (unique in the organisation) are required; `status`
/// AVAILABLE | BUSY | AWAY | OFFLINE (default AVAILABLE), `capacity` (most open
/// assignments, default 50), `weight` (0–100, default 1), free `attributes` (territory,
/// languages, segments …) and an optional `member_id`.
#[utoipa::path(post, path = "/v1/reps", tag = "reps", request_body = RepInput,
    responses((status = 201, body = Rep), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<RepInput>,
) -> ApiResult<(StatusCode, Json<Rep>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_rep(&t, b).await?),
    ))
}

/// One rep with its open assignments.
#[utoipa::path(get, path = "/v1/reps/{id}", tag = "reps", params(("id" = String, Path)),
    responses((status = 200, body = Rep), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn get(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<Rep>> {
    Ok(Json(state.core.get_rep(&t, &id).await?))
}

/// Change the fields sent (`member_id: null` unlinks the member).
#[utoipa::path(patch, path = "/v1/reps/{id}", tag = "reps", params(("id" = String, Path)), request_body = RepInput,
    responses((status = 200, body = Rep), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<RepInput>,
) -> ApiResult<Json<Rep>> {
    Ok(Json(state.core.update_rep(&t, &id, b).await?))
}

/// Delete a rep that owns no lead (409 otherwise: reassign its leads or set it OFFLINE).
#[utoipa::path(delete, path = "/v1/reps/{id}", tag = "reps", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.core.delete_rep(&t, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
