//! Event filters of the active OU: inorganic (velocity) filters and attribute (metadata)
//! suppression filters.

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_models::filters::{
    InorganicFilter, InorganicFilterInput, MetadataFilter, MetadataFilterInput, PreviewCount,
    PreviewInput,
};

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Path, Scoped};
use crate::http::AppState;

/// The inorganic activity filters of the active OU.
#[utoipa::path(get, path = "/v1/filters", tag = "filters",
    responses((status = 200, body = Vec<InorganicFilter>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list_inorganic(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Vec<InorganicFilter>>> {
    Ok(Json(state.core.list_inorganic_filters(&t).await?))
}

/// Create an inorganic filter: of the events of `event_type` within `time_window_ms`, the
/// ones beyond `count_threshold` are flagged as bot-like, kept, and score nothing. With
/// `group_events` a burst (events each within the window of the previous) counts as one
/// run until the type has been quiet for a whole window. Live leads rescore at once.
#[utoipa::path(post, path = "/v1/filters", tag = "filters", request_body = InorganicFilterInput,
    responses((status = 201, body = InorganicFilter), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create_inorganic(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<InorganicFilterInput>,
) -> ApiResult<(StatusCode, Json<InorganicFilter>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_inorganic_filter(&t, b).await?),
    ))
}

/// Change an inorganic filter (fields left out keep their value).
#[utoipa::path(put, path = "/v1/filters/{id}", tag = "filters", params(("id" = String, Path)), request_body = InorganicFilterInput,
    responses((status = 200, body = InorganicFilter), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update_inorganic(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<InorganicFilterInput>,
) -> ApiResult<Json<InorganicFilter>> {
    Ok(Json(state.core.update_inorganic_filter(&t, &id, b).await?))
}

/// Delete an inorganic filter; the events it flagged score again.
#[utoipa::path(delete, path = "/v1/filters/{id}", tag = "filters", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete_inorganic(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.core.delete_inorganic_filter(&t, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The attribute filters of the active OU, enabled first, then newest first.
#[utoipa::path(get, path = "/v1/metadata-filters", tag = "filters",
    responses((status = 200, body = Vec<MetadataFilter>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list_metadata(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Vec<MetadataFilter>>> {
    Ok(Json(state.core.list_metadata_filters(&t).await?))
}

/// Create an attribute filter: events (of `event_type`, or of every type when empty)
/// whose metadata meets every condition are suppressed from then on: stored, shown, never
/// scored, and counted in `suppressed_count`. Evaluated before the inorganic filters.
#[utoipa::path(post, path = "/v1/metadata-filters", tag = "filters", request_body = MetadataFilterInput,
    responses((status = 201, body = MetadataFilter), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create_metadata(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<MetadataFilterInput>,
) -> ApiResult<(StatusCode, Json<MetadataFilter>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_metadata_filter(&t, b).await?),
    ))
}

/// Count the stored events the conditions would suppress; changes nothing.
#[utoipa::path(post, path = "/v1/metadata-filters/preview", tag = "filters", request_body = PreviewInput,
    responses((status = 200, body = PreviewCount), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn preview_metadata(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<PreviewInput>,
) -> ApiResult<Json<PreviewCount>> {
    Ok(Json(state.core.preview_metadata_filter(&t, b).await?))
}

/// One attribute filter.
#[utoipa::path(get, path = "/v1/metadata-filters/{id}", tag = "filters", params(("id" = String, Path)),
    responses((status = 200, body = MetadataFilter), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn get_metadata(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<MetadataFilter>> {
    Ok(Json(state.core.metadata_filter(&t, &id).await?))
}

/// Change an attribute filter (`name` required; other fields left out keep their value).
#[utoipa::path(put, path = "/v1/metadata-filters/{id}", tag = "filters", params(("id" = String, Path)), request_body = MetadataFilterInput,
    responses((status = 200, body = MetadataFilter), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update_metadata(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<MetadataFilterInput>,
) -> ApiResult<Json<MetadataFilter>> {
    Ok(Json(state.core.update_metadata_filter(&t, &id, b).await?))
}

/// Delete an attribute filter (events it suppressed stay suppressed).
#[utoipa::path(delete, path = "/v1/metadata-filters/{id}", tag = "filters", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete_metadata(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.core.delete_metadata_filter(&t, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
