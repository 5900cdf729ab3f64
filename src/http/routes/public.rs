//! Unauthenticated, publicly shareable content.

use axum::extract::State;
use leadwire_models::explain::PublicExplanation;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Path};
use crate::http::AppState;

/// A shared score explanation (no authentication): 404 when the token is unknown, 410 once
/// it expired (links live 7 days).
#[utoipa::path(get, path = "/v1/public/explain/{token}", tag = "public", params(("token" = String, Path)),
    responses((status = 200, body = PublicExplanation), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn explain(
    _: NoQuery,
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Json<PublicExplanation>> {
    Ok(Json(state.core.public_explanation(&token).await?))
}
