//! Deals (opportunities) of the active OU.

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_models::deals::{Deal, DealInput, DealListParams, DealPage};

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Path, Query, Scoped};
use crate::http::AppState;

/// The OU's deals, newest first: `status` (open | won | lost), `lead_id`, `account_id`,
/// `owner_id`, `stage`, pages.
#[utoipa::path(get, path = "/v1/deals", tag = "deals", params(DealListParams),
    responses((status = 200, body = DealPage), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<DealListParams>,
) -> ApiResult<Json<DealPage>> {
    Ok(Json(state.core.list_deals(&t, q).await?))
}

/// Create a deal: `name` required; `lead_id` and `account_id` must be of the OU, the
/// owner a rep of the OU or an org member (its name by default); `amount` ≥ 0; `stage`
/// free text (default `new`); `status` open | won | lost (closing stamps `closed_at`).
#[utoipa::path(post, path = "/v1/deals", tag = "deals", request_body = DealInput,
    responses((status = 201, body = Deal), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<DealInput>,
) -> ApiResult<(StatusCode, Json<Deal>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_deal(&t, b).await?),
    ))
}

/// One deal.
#[utoipa::path(get, path = "/v1/deals/{id}", tag = "deals", params(("id" = String, Path)),
    responses((status = 200, body = Deal), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn get(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<Deal>> {
    Ok(Json(state.core.get_deal(&t, &id).await?))
}

/// Change the fields sent (null clears a link, the amount or the owner); winning or losing
/// stamps `closed_at` unless given, reopening clears it.
#[utoipa::path(patch, path = "/v1/deals/{id}", tag = "deals", params(("id" = String, Path)), request_body = DealInput,
    responses((status = 200, body = Deal), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<DealInput>,
) -> ApiResult<Json<Deal>> {
    Ok(Json(state.core.update_deal(&t, &id, b).await?))
}
