//! API credentials (per OU) and personal access tokens (per member).

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_actors::auth::{CreatedCredential, CreatedToken, CredentialView, TokenView};
use leadwire_models::event_types::{
    DeletePreview, DeletedByType, EventTypeSetting, EventTypeSettingInput, EventTypeView,
};
use leadwire_models::settings::{
    ScoringSettings, ScoringSettingsInput, SurgePolicyInput, SurgePolicyView,
};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Auth, Json, NoQuery, Path, Scoped};
use crate::http::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialInput {
    /// 1–50 characters.
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// 1–100 characters.
    pub name: String,
    /// Optional future expiry (RFC 3339); omitted = never expires.
    pub expires_at: Option<String>,
}

/// API credentials of the active OU (never their secrets).
#[utoipa::path(get, path = "/v1/settings/credentials", tag = "settings",
    responses((status = 200, body = Vec<CredentialView>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list_credentials(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Vec<CredentialView>>> {
    Ok(Json(state.core.list_credentials(&t).await?))
}

/// Create an API credential pair for the active OU; the secret is shown only here.
#[utoipa::path(post, path = "/v1/settings/credentials", tag = "settings", request_body = CredentialInput,
    responses((status = 201, body = CreatedCredential), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create_credential(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<CredentialInput>,
) -> ApiResult<(StatusCode, Json<CreatedCredential>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_credential(&t, &b.name).await?),
    ))
}

/// Delete an API credential of the active OU; it stops working at once.
#[utoipa::path(delete, path = "/v1/settings/credentials/{id}", tag = "settings", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete_credential(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.core.delete_credential(&t, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's personal access tokens (never their values).
#[utoipa::path(get, path = "/v1/settings/tokens", tag = "settings",
    responses((status = 200, body = Vec<TokenView>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list_tokens(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<Vec<TokenView>>> {
    Ok(Json(state.core.list_tokens(&caller).await?))
}

/// Create a personal access token (`lw_pat_…`, shown only here). It authenticates REST,
/// GraphQL and MCP requests as the caller.
#[utoipa::path(post, path = "/v1/settings/tokens", tag = "settings", request_body = TokenInput,
    responses((status = 201, body = CreatedToken), (status = 422, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create_token(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Json(b): Json<TokenInput>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .core
                .create_token(&caller, &b.name, b.expires_at.as_deref())
                .await?,
        ),
    ))
}

/// Revoke one of the caller's tokens; it is refused from the next request on.
#[utoipa::path(delete, path = "/v1/settings/tokens/{id}", tag = "settings", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn revoke_token(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.core.revoke_token(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Scoring settings: the org-wide toggles and the active OU's session idle timeout.
#[utoipa::path(get, path = "/v1/settings/scoring", tag = "settings",
    responses((status = 200, body = ScoringSettings)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn get_scoring(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<ScoringSettings>> {
    Ok(Json(state.core.scoring_settings(&t).await?))
}

/// Change scoring settings (Owner). `allow_negative_scores` and `abm_enabled` are
/// org-wide; `session_timeout_minutes` (1–1440) is the active OU's surge session idle
/// reset. Scores of live leads follow at once.
#[utoipa::path(put, path = "/v1/settings/scoring", tag = "settings", request_body = ScoringSettingsInput,
    responses((status = 200, body = ScoringSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn put_scoring(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<ScoringSettingsInput>,
) -> ApiResult<Json<ScoringSettings>> {
    Ok(Json(state.core.put_scoring_settings(&t, b).await?))
}

/// The active OU's surge session policy (Standard defaults when it has none).
#[utoipa::path(get, path = "/v1/settings/surge-policy", tag = "settings",
    responses((status = 200, body = SurgePolicyView)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn get_surge(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<SurgePolicyView>> {
    Ok(Json(state.core.surge_policy(&t).await?))
}

/// Create or change the active OU's surge session policy (Owner): `mode` off | standard |
/// gentle | custom, custom `bands`, `idle_reset_seconds` (1–86400), `multiplier_cap`
/// (1–3). Live leads rescore at once.
#[utoipa::path(put, path = "/v1/settings/surge-policy", tag = "settings", request_body = SurgePolicyInput,
    responses((status = 200, body = SurgePolicyView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn put_surge(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<SurgePolicyInput>,
) -> ApiResult<Json<SurgePolicyView>> {
    Ok(Json(state.core.put_surge_policy(&t, b).await?))
}

/// The OU's event types with their visibility, processing ceiling and event counts.
#[utoipa::path(get, path = "/v1/settings/event-types", tag = "settings",
    responses((status = 200, body = Vec<EventTypeView>)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn event_types(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Vec<EventTypeView>>> {
    Ok(Json(state.core.event_type_settings(&t).await?))
}

/// Set an event type's `hidden` flag (left out of `GET /v1/event-types`) and
/// `max_processing_scope` in the OU: `observe` events are stored but never scored (nor
/// count as activity); `decide` scores; `activate` (default) may also set off triggers.
/// A ceiling change rescores at once.
#[utoipa::path(put, path = "/v1/settings/event-types/{event_type}", tag = "settings", request_body = EventTypeSettingInput,
    params(("event_type" = String, Path)),
    responses((status = 200, body = EventTypeSetting), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn put_event_type(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(event_type): Path<String>,
    Json(b): Json<EventTypeSettingInput>,
) -> ApiResult<Json<EventTypeSetting>> {
    Ok(Json(
        state
            .core
            .put_event_type_setting(&t, &event_type, b)
            .await?,
    ))
}

/// Dry run: how many events of the type a delete would remove, and how many scored.
#[utoipa::path(get, path = "/v1/settings/event-types/{event_type}/delete-preview", tag = "settings",
    params(("event_type" = String, Path)),
    responses((status = 200, body = DeletePreview)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete_preview(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(event_type): Path<String>,
) -> ApiResult<Json<DeletePreview>> {
    Ok(Json(
        state.core.delete_events_preview(&t, &event_type).await?,
    ))
}

/// Delete every event of the type in the OU; their leads rescore without them.
#[utoipa::path(delete, path = "/v1/settings/event-types/{event_type}/events", tag = "settings",
    params(("event_type" = String, Path)),
    responses((status = 200, body = DeletedByType), (status = 403, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete_events_of_type(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(event_type): Path<String>,
) -> ApiResult<Json<DeletedByType>> {
    Ok(Json(
        state.core.delete_events_of_type(&t, &event_type).await?,
    ))
}
