//! Predictive routing (`/v1/predictive-routing/…`, paths as in the SalesOS document).

use axum::extract::State;
use leadwire_models::routing::config::{RoutingConfig, RoutingConfigInput};

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, Scoped};
use crate::http::AppState;

/// The OU's predictive-routing configuration: whether it is enabled, the triggers that
/// make a prediction (lead created, levels reached, a score threshold), the confidence at
/// which a prediction is routed at once, training minimum and retrain interval, the
/// features used, and what counts as a conversion.
#[utoipa::path(get, path = "/v1/predictive-routing/config", tag = "predictive-routing",
    responses((status = 200, body = RoutingConfig)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn get_config(
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<RoutingConfig>> {
    Ok(Json(state.core.routing_config(&t).await?))
}

/// Change the configuration: the fields sent change, the others keep their value. OU
/// Owners only.
#[utoipa::path(put, path = "/v1/predictive-routing/config", tag = "predictive-routing", request_body = RoutingConfigInput,
    responses((status = 200, body = RoutingConfig), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn put_config(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<RoutingConfigInput>,
) -> ApiResult<Json<RoutingConfig>> {
    Ok(Json(state.core.put_routing_config(&t, b).await?))
}
