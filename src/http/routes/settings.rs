//! API credentials (per OU) and personal access tokens (per member).

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_actors::auth::{CreatedCredential, CreatedToken, CredentialView, TokenView};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Auth, Json, Path, Scoped};
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
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.core.revoke_token(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
