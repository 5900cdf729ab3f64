//! Profile and account scoring of the active OU: rulesets and rules (add_points,
//! hard_disqualify) per dimension, the dry run, the hard-DQ overview, profile field
//! mappings and lead properties.

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_models::levels::Dimension;
use leadwire_models::profile::{
    ApplyMappingsResult, AttrRule, AttrRuleInput, AttrRuleset, AttrRulesetInput, FieldMapping,
    FieldMappingInput, HardDqRule, MappingChange, ProfileRuleTestInput, ProfileRuleTestResult,
};

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Path, Scoped};
use crate::http::AppState;

/// The profile rulesets of the active OU.
#[utoipa::path(get, path = "/v1/scoring/{dimension}/rulesets", tag = "profile", params(("dimension" = String, Path, description = "profile or account")),
    responses((status = 200, body = Vec<AttrRuleset>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list_rulesets(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(dimension): Path<String>,
) -> ApiResult<Json<Vec<AttrRuleset>>> {
    let dim = Dimension::parse(&dimension)?;
    Ok(Json(state.core.list_attr_rulesets(&t, dim).await?))
}

/// Create a profile ruleset (`name` unique; `enabled` default true; the first ruleset is
/// primary). A lead's `profile_score` is its primary ruleset's score.
#[utoipa::path(post, path = "/v1/scoring/{dimension}/rulesets", tag = "profile", request_body = AttrRulesetInput, params(("dimension" = String, Path)),
    responses((status = 201, body = AttrRuleset), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create_ruleset(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(dimension): Path<String>,
    Json(b): Json<AttrRulesetInput>,
) -> ApiResult<(StatusCode, Json<AttrRuleset>)> {
    let dim = Dimension::parse(&dimension)?;
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_attr_ruleset(&t, dim, b).await?),
    ))
}

/// Change a profile ruleset's name, `enabled` and `is_primary`.
#[utoipa::path(put, path = "/v1/scoring/{dimension}/rulesets/{id}", tag = "profile", request_body = AttrRulesetInput,
    params(("dimension" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = AttrRuleset), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update_ruleset(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path((dimension, id)): Path<(String, String)>,
    Json(b): Json<AttrRulesetInput>,
) -> ApiResult<Json<AttrRuleset>> {
    let dim = Dimension::parse(&dimension)?;
    Ok(Json(state.core.update_attr_ruleset(&t, dim, &id, b).await?))
}

/// Delete a profile ruleset and its rules.
#[utoipa::path(delete, path = "/v1/scoring/{dimension}/rulesets/{id}", tag = "profile", params(("dimension" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete_ruleset(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path((dimension, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let dim = Dimension::parse(&dimension)?;
    state.core.delete_attr_ruleset(&t, dim, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The rules of a profile ruleset, in `ui_order`.
#[utoipa::path(get, path = "/v1/scoring/{dimension}/rulesets/{id}/rules", tag = "profile", params(("dimension" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Vec<AttrRule>), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list_rules(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path((dimension, id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<AttrRule>>> {
    let dim = Dimension::parse(&dimension)?;
    Ok(Json(state.core.list_attr_rules(&t, dim, &id).await?))
}

/// Create a profile rule: `profile_property` (a lead metadata key, dotted paths reach
/// into objects), `condition` (the attribute-filter operators), `comparison_value` (a
/// number for ordering conditions, a comma-separated list for in / not_in), `weight`
/// (−1000–1000), `ui_order`, `rule_type` add_points (default) or hard_disqualify, and for
/// hard_disqualify an optional compound `conditions` group
/// (`{"operator":"and"|"or","conditions":[{key,operator,value} | group, …]}`, ≤ 3 deep,
/// ≤ 20 conditions) that must hold too.
#[utoipa::path(post, path = "/v1/scoring/{dimension}/rulesets/{id}/rules", tag = "profile", request_body = AttrRuleInput,
    params(("dimension" = String, Path), ("id" = String, Path)),
    responses((status = 201, body = AttrRule), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create_rule(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path((dimension, id)): Path<(String, String)>,
    Json(b): Json<AttrRuleInput>,
) -> ApiResult<(StatusCode, Json<AttrRule>)> {
    let dim = Dimension::parse(&dimension)?;
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_attr_rule(&t, dim, &id, b).await?),
    ))
}

/// Change a profile rule (fields left out keep their value; `conditions: null` drops the
/// group).
#[utoipa::path(put, path = "/v1/scoring/{dimension}/rulesets/{id}/rules/{rule_id}", tag = "profile", request_body = AttrRuleInput,
    params(("dimension" = String, Path), ("id" = String, Path), ("rule_id" = String, Path)),
    responses((status = 200, body = AttrRule), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update_rule(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path((dimension, id, rule_id)): Path<(String, String, String)>,
    Json(b): Json<AttrRuleInput>,
) -> ApiResult<Json<AttrRule>> {
    let dim = Dimension::parse(&dimension)?;
    Ok(Json(
        state
            .core
            .update_attr_rule(&t, dim, &id, &rule_id, b)
            .await?,
    ))
}

/// Delete a profile rule.
#[utoipa::path(delete, path = "/v1/scoring/{dimension}/rulesets/{id}/rules/{rule_id}", tag = "profile",
    params(("dimension" = String, Path), ("id" = String, Path), ("rule_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete_rule(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path((dimension, id, rule_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let dim = Dimension::parse(&dimension)?;
    state.core.delete_attr_rule(&t, dim, &id, &rule_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Try a profile rule against a lead's current properties (in the primary ruleset);
/// nothing is stored.
#[utoipa::path(post, path = "/v1/scoring/{dimension}/rules/test", tag = "profile", request_body = ProfileRuleTestInput, params(("dimension" = String, Path)),
    responses((status = 200, body = ProfileRuleTestResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn test_rule(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(dimension): Path<String>,
    Json(b): Json<ProfileRuleTestInput>,
) -> ApiResult<Json<ProfileRuleTestResult>> {
    let dim = Dimension::parse(&dimension)?;
    Ok(Json(state.core.test_attr_rule(&t, dim, b).await?))
}

/// Every active hard-disqualification rule with how many leads it disqualifies now
/// (rules with none included); most matches first, then by name.
#[utoipa::path(get, path = "/v1/disqualification-rules", tag = "profile",
    responses((status = 200, body = Vec<HardDqRule>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn hard_dq_rules(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Vec<HardDqRule>>> {
    Ok(Json(state.core.hard_dq_rules(&t).await?))
}

/// The field mappings of a dimension (profile: into lead properties; account: into the
/// lead's account's properties).
#[utoipa::path(get, path = "/v1/scoring/{dimension}/mappings", tag = "profile",
    params(("dimension" = String, Path, description = "profile or account")),
    responses((status = 200, body = Vec<FieldMapping>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list_mappings(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(dimension): Path<String>,
) -> ApiResult<Json<Vec<FieldMapping>>> {
    let dim = Dimension::parse(&dimension)?;
    Ok(Json(state.core.list_mappings(&t, dim).await?))
}

/// Create a field mapping: each arriving event whose metadata has `source_field` sets
/// `profile_property` on the lead (profile) or its account (account) by
/// `update_behavior` (always_latest, set_once, or append: the latest plus
/// `<property>_list` with the last 10 distinct values).
#[utoipa::path(post, path = "/v1/scoring/{dimension}/mappings", tag = "profile", request_body = FieldMappingInput,
    params(("dimension" = String, Path)),
    responses((status = 201, body = FieldMapping), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create_mapping(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(dimension): Path<String>,
    Json(b): Json<FieldMappingInput>,
) -> ApiResult<(StatusCode, Json<Option<FieldMapping>>)> {
    let dim = Dimension::parse(&dimension)?;
    let m = state.core.change_mapping(&t, dim, None, Some(b)).await?;
    Ok((StatusCode::CREATED, Json(m)))
}

/// Replace a field mapping.
#[utoipa::path(put, path = "/v1/scoring/{dimension}/mappings/{id}", tag = "profile", request_body = FieldMappingInput,
    params(("dimension" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = FieldMapping), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update_mapping(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path((dimension, id)): Path<(String, String)>,
    Json(b): Json<FieldMappingInput>,
) -> ApiResult<Json<Option<FieldMapping>>> {
    let dim = Dimension::parse(&dimension)?;
    let m = state
        .core
        .change_mapping(&t, dim, Some(&id), Some(b))
        .await?;
    Ok(Json(m))
}

/// Delete a field mapping (values it copied stay).
#[utoipa::path(delete, path = "/v1/scoring/{dimension}/mappings/{id}", tag = "profile",
    params(("dimension" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete_mapping(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path((dimension, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let dim = Dimension::parse(&dimension)?;
    state.core.change_mapping(&t, dim, Some(&id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every create, update and delete of a mapping of the dimension, newest first, with
/// the mapping before and after.
#[utoipa::path(get, path = "/v1/scoring/{dimension}/mappings/history", tag = "profile",
    params(("dimension" = String, Path)),
    responses((status = 200, body = Vec<MappingChange>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn mapping_history(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(dimension): Path<String>,
) -> ApiResult<Json<Vec<MappingChange>>> {
    let dim = Dimension::parse(&dimension)?;
    Ok(Json(state.core.mapping_history(&t, dim).await?))
}

/// Apply the current profile mappings to every existing lead from its own metadata, by
/// each mapping's update behaviour; changed leads rescore. (`profile` only: account
/// mappings apply as events arrive.)
#[utoipa::path(post, path = "/v1/scoring/{dimension}/mappings/apply", tag = "profile",
    params(("dimension" = String, Path)),
    responses((status = 200, body = ApplyMappingsResult), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn apply_mappings(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(dimension): Path<String>,
) -> ApiResult<Json<ApplyMappingsResult>> {
    if Dimension::parse(&dimension)? != Dimension::Profile {
        return Err(leadwire_models::DomainError::invalid(
            "dimension",
            "only profile mappings are applied to existing leads",
        )
        .into());
    }
    Ok(Json(state.core.apply_profile_mappings(&t).await?))
}

/// The distinct metadata keys (profile properties) of the OU's leads.
#[utoipa::path(get, path = "/v1/leads/properties", tag = "profile",
    responses((status = 200, body = Vec<String>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn lead_properties(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(state.core.lead_properties(&t).await?))
}
