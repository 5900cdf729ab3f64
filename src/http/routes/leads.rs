//! Leads of the active OU.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use leadwire_actors::leads::BatchScore;
use leadwire_models::events::{Activity, ActivityParams, StoredEvent};
use leadwire_models::explain::{Explanation, ShareLink, Why, WhyBatch};
use leadwire_models::leads::{
    Affected, BatchScoresInput, BulkOwnerInput, DeletionStatus, Lead, LeadAlias, LeadInput,
    LeadListParams, LeadPage, LeadScore, LeadUpdate, LeadWithAccount, LookupParams, LookupResult,
    MergeInput, MergeResult, OwnerInput, ResetResult, UpdateByAliasInput, UpdateByAliasResult,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::IntoParams;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Path, Query, Scoped};
use crate::http::AppState;

/// A CSV attachment response.
pub fn csv_attachment(filename: &str, body: String) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
}

/// Create a lead; a client-supplied `id` is kept as given (unique in the OU).
#[utoipa::path(post, path = "/v1/leads", tag = "leads", request_body = LeadInput,
    responses((status = 201, body = Lead), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<LeadInput>,
) -> ApiResult<(StatusCode, Json<Lead>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_lead(&t, b).await?),
    ))
}

/// List the OU's leads: filters, sort and pagination; merged leads are not listed.
#[utoipa::path(get, path = "/v1/leads", tag = "leads", params(LeadListParams),
    responses((status = 200, body = LeadPage), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<LeadListParams>,
) -> ApiResult<Json<LeadPage>> {
    Ok(Json(state.core.list_leads(&t, q).await?))
}

/// Every lead matching the list filters, as CSV.
#[utoipa::path(get, path = "/v1/leads/export", tag = "leads", params(LeadListParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn export(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<LeadListParams>,
) -> ApiResult<impl IntoResponse> {
    let body = state.core.export_leads(&t, q).await?;
    Ok(csv_attachment("leads.csv", body))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Lead id prefix or alias text, 2+ characters.
    pub q: String,
}

/// Up to 10 leads whose id starts with `q` or whose alias contains it.
#[utoipa::path(get, path = "/v1/leads/search", tag = "leads", params(SearchQuery),
    responses((status = 200, body = Vec<Lead>), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn search(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<Vec<Lead>>> {
    Ok(Json(state.core.search_leads(&t, &q.q).await?))
}

/// A lead with its live scores and its account.
#[utoipa::path(get, path = "/v1/leads/{id}", tag = "leads", params(("id" = String, Path)),
    responses((status = 200, body = LeadWithAccount), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn get(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<LeadWithAccount>> {
    Ok(Json(state.core.get_lead_with_account(&t, &id).await?))
}

/// Replace a lead's metadata (and its account when `account_id` is sent; null unlinks).
#[utoipa::path(put, path = "/v1/leads/{id}", tag = "leads", params(("id" = String, Path)), request_body = LeadUpdate,
    responses((status = 200, body = Lead), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<LeadUpdate>,
) -> ApiResult<Json<Lead>> {
    Ok(Json(state.core.update_lead(&t, &id, b).await?))
}

/// Merge keys into a lead's metadata; a null value removes the key.
#[utoipa::path(patch, path = "/v1/leads/{id}", tag = "leads", params(("id" = String, Path)), request_body = Object,
    responses((status = 200, body = Lead), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn patch(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<Map<String, Value>>,
) -> ApiResult<Json<Lead>> {
    Ok(Json(state.core.patch_lead(&t, &id, b).await?))
}

/// Delete a lead with its aliases and events.
#[utoipa::path(delete, path = "/v1/leads/{id}", tag = "leads", params(("id" = String, Path)),
    responses((status = 200, body = DeletionStatus), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<DeletionStatus>> {
    Ok(Json(state.core.delete_lead(&t, &id).await?))
}

/// Whether a lead's deletion completed.
#[utoipa::path(get, path = "/v1/leads/{id}/deletion-status", tag = "leads", params(("id" = String, Path)),
    responses((status = 200, body = DeletionStatus), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn deletion_status(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<DeletionStatus>> {
    Ok(Json(state.core.deletion_status(&t, &id).await?))
}

/// A lead's aliases.
#[utoipa::path(get, path = "/v1/leads/{id}/aliases", tag = "leads", params(("id" = String, Path)),
    responses((status = 200, body = Vec<LeadAlias>), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn aliases(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<LeadAlias>>> {
    Ok(Json(state.core.lead_aliases(&t, &id).await?))
}

/// The lead an alias (email by default) names.
#[utoipa::path(get, path = "/v1/leads/lookup", tag = "leads", params(LookupParams),
    responses((status = 200, body = LookupResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn lookup(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<LookupParams>,
) -> ApiResult<Json<LookupResult>> {
    Ok(Json(state.core.lookup_lead(&t, q.kind, &q.value).await?))
}

/// Merge attributes into the metadata of the lead an alias names (no timeline entry).
#[utoipa::path(post, path = "/v1/leads/update-by-alias", tag = "leads", request_body = UpdateByAliasInput,
    responses((status = 200, body = UpdateByAliasResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update_by_alias(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<UpdateByAliasInput>,
) -> ApiResult<Json<UpdateByAliasResult>> {
    Ok(Json(state.core.update_by_alias(&t, b).await?))
}

/// Assign a member of the org as the lead's owner, or unassign with nulls.
#[utoipa::path(put, path = "/v1/leads/{id}/owner", tag = "leads", params(("id" = String, Path)), request_body = OwnerInput,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn owner(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<OwnerInput>,
) -> ApiResult<Json<Value>> {
    let assigning = b.owner_id.is_some();
    state.core.set_lead_owner(&t, &id, b).await?;
    Ok(Json(json!({
        "status": "ok",
        "message": if assigning { "owner assigned" } else { "owner unassigned" },
    })))
}

/// Assign (or unassign) one owner on up to 500 leads.
#[utoipa::path(post, path = "/v1/leads/bulk-owner", tag = "leads", request_body = BulkOwnerInput,
    responses((status = 200, body = Affected), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn bulk_owner(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<BulkOwnerInput>,
) -> ApiResult<Json<Affected>> {
    Ok(Json(state.core.bulk_owner(&t, b).await?))
}

/// Merge source leads into a target of the same OU: events and aliases move, sources are
/// marked merged, the target is rescored.
#[utoipa::path(post, path = "/v1/leads/merge", tag = "leads", request_body = MergeInput,
    responses((status = 200, body = MergeResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn merge(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<MergeInput>,
) -> ApiResult<Json<MergeResult>> {
    Ok(Json(state.core.merge_leads(&t, b).await?))
}

/// Zero a lead's engagement scores: events stay; those dated before the reset stop
/// counting, even when backfilled later. A `score_reset` entry goes on the timeline.
#[utoipa::path(post, path = "/v1/leads/{id}/reset-score", tag = "leads", params(("id" = String, Path)),
    responses((status = 200, body = ResetResult), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn reset_score(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<ResetResult>> {
    Ok(Json(state.core.reset_lead_score(&t, &id).await?))
}

/// Scores of up to 500 leads in one ruleset (primary by default).
#[utoipa::path(post, path = "/v1/leads/scores", tag = "leads", request_body = BatchScoresInput,
    responses((status = 200, body = Vec<BatchScore>), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn batch_scores(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<BatchScoresInput>,
) -> ApiResult<Json<Vec<BatchScore>>> {
    Ok(Json(state.core.batch_scores(&t, b).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ScoreQuery {
    /// One ruleset's score instead of the highest.
    pub ruleset_id: Option<String>,
}

/// A lead's live score: the highest across the OU's rulesets, or one ruleset's.
#[utoipa::path(get, path = "/v1/leads/{id}/score", tag = "leads", params(("id" = String, Path), ScoreQuery),
    responses((status = 200, body = LeadScore), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn score(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Query(q): Query<ScoreQuery>,
) -> ApiResult<Json<LeadScore>> {
    Ok(Json(
        state
            .core
            .lead_score(&t, &id, q.ruleset_id.as_deref())
            .await?,
    ))
}

/// A lead's events in time order, each with the score change it caused; `score_reset`
/// entries (`system: true`) mark resets.
#[utoipa::path(get, path = "/v1/leads/{id}/events", tag = "leads", params(("id" = String, Path)),
    responses((status = 200, body = Vec<StoredEvent>), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn events(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<StoredEvent>>> {
    Ok(Json(state.core.lead_events(&t, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExplainQuery {
    /// Window for drivers and surge boosts, in hours (default 24).
    pub hours: Option<u32>,
    /// The ruleset to explain (default the primary one).
    pub ruleset_id: Option<String>,
}

/// Top drivers, rule weights snapshot, surge boosts, decay applied and reset of a lead's
/// score.
#[utoipa::path(get, path = "/v1/leads/{id}/explain", tag = "leads", params(("id" = String, Path), ExplainQuery),
    responses((status = 200, body = Explanation), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn explain(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Query(q): Query<ExplainQuery>,
) -> ApiResult<Json<Explanation>> {
    Ok(Json(
        state
            .core
            .explain_lead(&t, &id, q.hours, q.ruleset_id.as_deref())
            .await?,
    ))
}

/// Ranked factors and a plain-language summary of a lead's score.
#[utoipa::path(get, path = "/v1/leads/{id}/why", tag = "leads", params(("id" = String, Path)),
    responses((status = 200, body = Why), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn why(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<Why>> {
    Ok(Json(state.core.why_lead(&t, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WhyBatchQuery {
    /// Comma-separated lead ids, at most 200 (duplicates ignored).
    pub lead_ids: String,
}

/// Plain-language summaries for up to 200 leads in one round trip (a fixed number of
/// store queries whatever their number); ids not in this OU are listed in `missing`.
#[utoipa::path(get, path = "/v1/leads/why", tag = "leads", params(WhyBatchQuery),
    responses((status = 200, body = WhyBatch), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn why_batch(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<WhyBatchQuery>,
) -> ApiResult<Json<WhyBatch>> {
    Ok(Json(state.core.why_batch(&t, &q.lead_ids).await?))
}

/// A read-only link to the lead's score explanation, valid for 7 days, that needs no
/// account.
#[utoipa::path(post, path = "/v1/leads/{id}/share-explain", tag = "leads", params(("id" = String, Path)),
    responses((status = 201, body = ShareLink), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn share_explain(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<ShareLink>)> {
    let (token, expires_at) = state.core.share_explain(&t, &id).await?;
    let base = state.config.public_url.clone().unwrap_or_else(|| {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    });
    Ok((
        StatusCode::CREATED,
        Json(ShareLink {
            share_url: format!("{}/v1/public/explain/{token}", base.trim_end_matches('/')),
            token,
            expires_at,
        }),
    ))
}

/// A lead's activity: events filtered by range, channel, minScore, maxLatency and
/// hasDelta, and the unified timeline (score resets included), newest first.
#[utoipa::path(get, path = "/v1/leads/{id}/activity", tag = "leads", params(("id" = String, Path), ActivityParams),
    responses((status = 200, body = Activity), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn activity(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Query(q): Query<ActivityParams>,
) -> ApiResult<Json<Activity>> {
    Ok(Json(state.core.lead_activity(&t, &id, q).await?))
}
