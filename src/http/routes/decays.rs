//! Inactivity decay rules of the active OU.

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_models::decay::{DecayRule, DecayRuleInput};

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Path, Scoped};
use crate::http::AppState;

/// The inactivity decay rules of the active OU.
#[utoipa::path(get, path = "/v1/decays", tag = "decays",
    responses((status = 200, body = Vec<DecayRule>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Vec<DecayRule>>> {
    Ok(Json(state.core.list_decay_rules(&t).await?))
}

/// Create a decay rule: after every `inactive_for` `unit`s (hours, days, weeks) without
/// activity, a lead loses `decrease` points in every engagement ruleset, never below zero
/// unless negative scores are allowed. Each deduction shows on the lead's timeline as a
/// `DECAY` entry (channel `system`) and in its explanation. At most 50 rules per OU.
#[utoipa::path(post, path = "/v1/decays", tag = "decays", request_body = DecayRuleInput,
    responses((status = 201, body = DecayRule), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<DecayRuleInput>,
) -> ApiResult<(StatusCode, Json<DecayRule>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_decay_rule(&t, b).await?),
    ))
}

/// Change a decay rule (fields left out keep their value); scores follow at once.
#[utoipa::path(put, path = "/v1/decays/{id}", tag = "decays", params(("id" = String, Path)), request_body = DecayRuleInput,
    responses((status = 200, body = DecayRule), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<DecayRuleInput>,
) -> ApiResult<Json<DecayRule>> {
    Ok(Json(state.core.update_decay_rule(&t, &id, b).await?))
}

/// Delete a decay rule; the points it took are given back.
#[utoipa::path(delete, path = "/v1/decays/{id}", tag = "decays", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.core.delete_decay_rule(&t, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
