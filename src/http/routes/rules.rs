//! Engagement rulesets and rules of the active OU.

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_models::event_types::{
    ApplyDefaultsInput, ApplyDefaultsResult, HalfLifeSuggestions, SuggestionQuery,
};
use leadwire_models::rules::{
    RescoreResult, Rule, RuleInput, RuleTestInput, RuleTestResult, Ruleset, RulesetInput,
    RulesetPatch,
};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Path, Query, Scoped};
use crate::http::AppState;

/// The scoring rulesets of the active OU.
#[utoipa::path(get, path = "/v1/rulesets", tag = "rules",
    responses((status = 200, body = Vec<Ruleset>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list_rulesets(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Vec<Ruleset>>> {
    Ok(Json(state.core.list_rulesets(&t).await?))
}

/// Create a ruleset (name unique in the OU; `score_column` defaults to `total_score`). A
/// primary ruleset takes the primary flag from the others; an OU's first ruleset is primary.
#[utoipa::path(post, path = "/v1/rulesets", tag = "rules", request_body = RulesetInput,
    responses((status = 201, body = Ruleset), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create_ruleset(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<RulesetInput>,
) -> ApiResult<(StatusCode, Json<Ruleset>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_ruleset(&t, b).await?),
    ))
}

/// Delete a ruleset and its rules; live scores drop its contributions at once.
#[utoipa::path(delete, path = "/v1/rulesets/{id}", tag = "rules", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete_ruleset(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.core.delete_ruleset(&t, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rename a ruleset, change its score column, or make it the primary one (`is_primary:
/// true`; the primary flag cannot be dropped, only moved to another ruleset). Fields left
/// out keep their values.
#[utoipa::path(put, path = "/v1/rulesets/{id}", tag = "rules", params(("id" = String, Path)), request_body = RulesetPatch,
    responses((status = 200, body = Ruleset), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update_ruleset(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<RulesetPatch>,
) -> ApiResult<Json<Ruleset>> {
    Ok(Json(state.core.update_ruleset(&t, &id, b).await?))
}

/// The rules of one ruleset in priority order.
#[utoipa::path(get, path = "/v1/rulesets/{id}/rules", tag = "rules", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Rule>), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn ruleset_rules(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Rule>>> {
    Ok(Json(state.core.list_rules(&t, Some(&id)).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleOrder {
    /// Every rule of the ruleset, highest priority first.
    pub rule_ids: Vec<String>,
}

/// Atomically set the priority order of a ruleset's rules (first = highest). Within a
/// ruleset an event is scored by the first matching rule.
#[utoipa::path(put, path = "/v1/rulesets/{id}/rules/order", tag = "rules", params(("id" = String, Path)), request_body = RuleOrder,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn reorder_rules(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<RuleOrder>,
) -> ApiResult<StatusCode> {
    state.core.reorder_rules(&t, &id, b.rule_ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every scoring rule of the active OU.
#[utoipa::path(get, path = "/v1/rules", tag = "rules",
    responses((status = 200, body = Vec<Rule>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list_rules(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Vec<Rule>>> {
    Ok(Json(state.core.list_rules(&t, None).await?))
}

/// Create a rule: `event_type` and `weight` required; `half_life_days` 1–730 or null; goes
/// into `ruleset_id` or the primary ruleset (a "Default" one is made when none exists).
#[utoipa::path(post, path = "/v1/rules", tag = "rules", request_body = RuleInput,
    responses((status = 201, body = Rule), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create_rule(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<RuleInput>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_rule(&t, b).await?),
    ))
}

/// Update the fields sent (null clears `half_life_days`, `start_at`, `end_at`); live scores
/// follow at once.
#[utoipa::path(put, path = "/v1/rules/{id}", tag = "rules", params(("id" = String, Path)), request_body = RuleInput,
    responses((status = 200, body = Rule), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update_rule(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<RuleInput>,
) -> ApiResult<Json<Rule>> {
    Ok(Json(state.core.update_rule(&t, &id, b).await?))
}

/// Delete a rule.
#[utoipa::path(delete, path = "/v1/rules/{id}", tag = "rules", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete_rule(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.core.delete_rule(&t, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Try a rule against a lead's stored history (dry run: nothing changes).
#[utoipa::path(post, path = "/v1/rules/test", tag = "rules", request_body = RuleTestInput,
    responses((status = 200, body = RuleTestResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn test_rule(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<RuleTestInput>,
) -> ApiResult<Json<RuleTestResult>> {
    Ok(Json(state.core.test_rule(&t, b).await?))
}

/// Replay every lead of the OU through the scoring engine and store the scores.
#[utoipa::path(post, path = "/v1/scoring/{dimension}/rulesets/{id}/rescore", tag = "rules",
    params(("dimension" = String, Path, description = "engagement, profile, account or deal"), ("id" = String, Path)),
    responses((status = 200, body = RescoreResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn rescore(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path((dimension, id)): Path<(String, String)>,
) -> ApiResult<Json<RescoreResult>> {
    Ok(Json(state.core.rescore_ruleset(&t, &dimension, &id).await?))
}

/// Research half-life defaults for the OU's engagement rules that have none
/// (`dimension` engagement or all; profile, account and deal: 400).
#[utoipa::path(get, path = "/v1/rules/half-life-suggestions", tag = "rules", params(SuggestionQuery),
    responses((status = 200, body = HalfLifeSuggestions), (status = 400, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn half_life_suggestions(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<SuggestionQuery>,
) -> ApiResult<Json<HalfLifeSuggestions>> {
    Ok(Json(state.core.half_life_suggestions(&t, q).await?))
}

/// Give each listed rule its research half-life. Rules are handled one by one; skip
/// reasons: already_configured, no_research_default, dimension_not_event_sourced,
/// not_found, lookup_error, update_error. Each applied rule gets an audit entry.
#[utoipa::path(post, path = "/v1/rules/half-life-suggestions/apply", tag = "rules", request_body = ApplyDefaultsInput,
    responses((status = 200, body = ApplyDefaultsResult), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn apply_research_defaults(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<ApplyDefaultsInput>,
) -> ApiResult<Json<ApplyDefaultsResult>> {
    Ok(Json(state.core.apply_research_defaults(&t, b).await?))
}
