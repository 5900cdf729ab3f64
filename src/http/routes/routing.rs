//! Predictive routing (`/v1/predictive-routing/…`, paths as in the SalesOS document).

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_actors::model::ModelInfo;
use leadwire_models::routing::config::{RoutingConfig, RoutingConfigInput};
use leadwire_models::routing::prediction::{
    HistoryPage, HistoryParams, OverrideInput, Prediction, PredictionListParams, PredictionPage,
    PredictionRequest, PredictionTrigger, RoutingStats,
};
use leadwire_models::routing::training::{TrainingImport, TrainingRowInput};

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Path, Query, RawBody, Scoped};
use crate::http::AppState;

/// The OU's predictive-routing configuration: whether it is enabled, the triggers that
/// make a prediction (lead created, levels reached, a score threshold), the confidence at
/// which a prediction is routed at once, training minimum and retrain interval, the
/// features used, and what counts as a conversion.
#[utoipa::path(get, path = "/v1/predictive-routing/config", tag = "predictive-routing",
    responses((status = 200, body = RoutingConfig)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn get_config(
    _: NoQuery,
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
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<RoutingConfigInput>,
) -> ApiResult<Json<RoutingConfig>> {
    Ok(Json(state.core.put_routing_config(&t, b).await?))
}

/// Import past assignments from another system as training data: a JSON array of rows
/// (`lead_attributes`, `rep_id`, `converted`, `occurred_at`, optional scores and `level`),
/// or CSV (`Content-Type: text/csv`; columns `rep_id`, `converted`, `occurred_at`, optional
/// `engagement_score`, `profile_score`, `account_score`, `level`; every other column is a
/// lead attribute). Each row is checked on its own (its rep must be of this org unit):
/// good rows are stored, bad ones reported by row number. At most 100,000 rows. OU Owners
/// only.
#[utoipa::path(post, path = "/v1/predictive-routing/training-data", tag = "predictive-routing",
    request_body(content = Vec<TrainingRowInput>, description = "JSON rows, or CSV with Content-Type text/csv"),
    responses((status = 200, body = TrainingImport), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn import_training_data(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    headers: axum::http::HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<TrainingImport>> {
    let csv = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    Ok(Json(state.core.import_training_data(&t, &body, csv).await?))
}

/// The routing model: `status` (untrained | ready | training), `version`, `algorithm`,
/// `trained_at`, `samples`, `features`, `reps_modelled`, holdout `metrics` (AUC, log loss,
/// accuracy, base rate), the retrain under way and the last failure.
#[utoipa::path(get, path = "/v1/predictive-routing/model", tag = "predictive-routing",
    responses((status = 200, body = ModelInfo)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn model(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<ModelInfo>> {
    Ok(Json(state.core.model_info(&t).await?))
}

/// Retrain the model on every training example of the OU: answers 202 at once (progress
/// in `GET /v1/predictive-routing/model`); the current model serves until the new one is
/// trained and stored. 422 below `min_training_samples`, 409 while a retrain runs. OU
/// Owners and org admins only.
#[utoipa::path(post, path = "/v1/predictive-routing/model/retrain", tag = "predictive-routing",
    responses((status = 202, body = ModelInfo), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn retrain(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<(StatusCode, Json<ModelInfo>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(state.core.retrain_model(&t).await?),
    ))
}

/// Predict the best rep for a lead (`entityType: LEAD`) or a deal's lead
/// (`OPPORTUNITY`): only eligible reps (AVAILABLE and under capacity) are ranked; the
/// prediction names the pick, its confidence, every alternative with its score and the
/// features behind the choice, and is stored PENDING. 409 without a trained model or an
/// eligible rep.
#[utoipa::path(post, path = "/v1/predictive-routing/predictions", tag = "predictive-routing", request_body = PredictionRequest,
    responses((status = 201, body = Prediction), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create_prediction(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<PredictionRequest>,
) -> ApiResult<(StatusCode, Json<Prediction>)> {
    let p = state
        .core
        .create_prediction(&t, b, PredictionTrigger::OnDemand)
        .await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// The OU's predictions, newest first: `status` (PENDING | ACCEPTED | OVERRIDDEN),
/// `entityType` (LEAD | OPPORTUNITY), `assignedTo`, pages.
#[utoipa::path(get, path = "/v1/predictive-routing/predictions", tag = "predictive-routing", params(PredictionListParams),
    responses((status = 200, body = PredictionPage), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list_predictions(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<PredictionListParams>,
) -> ApiResult<Json<PredictionPage>> {
    Ok(Json(state.core.list_predictions(&t, q).await?))
}

/// One prediction.
#[utoipa::path(get, path = "/v1/predictive-routing/predictions/{id}", tag = "predictive-routing", params(("id" = String, Path)),
    responses((status = 200, body = Prediction), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn get_prediction(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<Prediction>> {
    Ok(Json(state.core.get_prediction(&t, &id).await?))
}

/// Accept a PENDING prediction: its rep becomes the lead's owner (counted against the rep's
/// capacity) and the prediction is ACCEPTED; the assignment is recorded for training. 409
/// when already resolved or the rep is no longer eligible.
#[utoipa::path(post, path = "/v1/predictive-routing/predictions/{id}/route", tag = "predictive-routing", params(("id" = String, Path)),
    responses((status = 200, body = Prediction), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn route_prediction(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<Prediction>> {
    Ok(Json(state.core.route_prediction(&t, &id).await?))
}

/// Override a PENDING prediction: `assignedTo` (a rep of the OU) gets the lead, `reason`
/// is kept; the prediction is OVERRIDDEN and the assignment is recorded for training.
#[utoipa::path(post, path = "/v1/predictive-routing/predictions/{id}/override", tag = "predictive-routing", params(("id" = String, Path)), request_body = OverrideInput,
    responses((status = 200, body = Prediction), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn override_prediction(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<OverrideInput>,
) -> ApiResult<Json<Prediction>> {
    Ok(Json(state.core.override_prediction(&t, &id, b).await?))
}

/// Predictive-routing statistics: predictions by status, acceptance and override rates,
/// automatically routed predictions, average confidence, and how accepted, overridden and
/// manual assignments turned out (`conversion_rate` of the decided ones: the accuracy of
/// accepted predictions). Rates are null until there is something to divide by.
#[utoipa::path(get, path = "/v1/predictive-routing/stats", tag = "predictive-routing",
    responses((status = 200, body = RoutingStats)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn stats(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<RoutingStats>> {
    Ok(Json(state.core.routing_stats(&t).await?))
}

/// Routing history: every assignment of a lead to a rep (routed, overridden, or given by
/// hand) with the prediction behind it and its outcome (`pending`, `converted`,
/// `not_converted`, `reassigned`), newest first. `startDate` / `endDate` bound the
/// assignment time (RFC 3339, or a date: from its start / to its end, UTC).
#[utoipa::path(get, path = "/v1/predictive-routing/history", tag = "predictive-routing", params(HistoryParams),
    responses((status = 200, body = HistoryPage), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn history(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<HistoryParams>,
) -> ApiResult<Json<HistoryPage>> {
    Ok(Json(state.core.routing_history(&t, q).await?))
}
