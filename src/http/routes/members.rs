//! Org members (admins manage them; every member may list them).

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_actors::tenancy::{MemberInput, MemberUpdate};
use leadwire_models::tenancy::{MemberView, OrgRole};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Auth, Json, NoQuery, Path};
use crate::http::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMemberInput {
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    pub email: String,
    /// 8–256 characters.
    pub password: String,
    pub role: OrgRole,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberInput {
    #[serde(default, deserialize_with = "leadwire_models::validate::not_null")]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "leadwire_models::validate::not_null")]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "leadwire_models::validate::not_null")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "leadwire_models::validate::not_null")]
    pub role: Option<OrgRole>,
    #[serde(default, deserialize_with = "leadwire_models::validate::not_null")]
    pub password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackInput {
    /// `^U[A-Z0-9]+$`
    pub slack_user_id: String,
}

/// Members of the caller's organisation.
#[utoipa::path(get, path = "/v1/members", tag = "members",
    responses((status = 200, body = Vec<MemberView>), (status = 401, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<Vec<MemberView>>> {
    Ok(Json(state.core.list_members(&caller).await?))
}

/// Create an org member (admins).
#[utoipa::path(post, path = "/v1/members", tag = "members", request_body = CreateMemberInput,
    responses((status = 201, body = MemberView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Json(b): Json<CreateMemberInput>,
) -> ApiResult<(StatusCode, Json<MemberView>)> {
    let input = MemberInput {
        first_name: b.first_name,
        last_name: b.last_name,
        email: b.email,
        password: b.password,
        role: b.role,
    };
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_member(&caller, input).await?),
    ))
}

/// Update an org member (admins).
#[utoipa::path(patch, path = "/v1/members/{id}", tag = "members", params(("id" = String, Path)), request_body = UpdateMemberInput,
    responses((status = 200, body = MemberView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Json(b): Json<UpdateMemberInput>,
) -> ApiResult<Json<MemberView>> {
    let update = MemberUpdate {
        first_name: b.first_name,
        last_name: b.last_name,
        email: b.email,
        role: b.role,
        password: b.password,
    };
    Ok(Json(state.core.update_member(&caller, &id, update).await?))
}

/// Delete an org member with their memberships, tokens and credentials (admins).
#[utoipa::path(delete, path = "/v1/members/{id}", tag = "members", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn delete(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.core.delete_member(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a member's Slack user id directly (admins).
#[utoipa::path(put, path = "/v1/members/{id}/slack-user-id", tag = "members", params(("id" = String, Path)), request_body = SlackInput,
    responses((status = 200, body = MemberView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn set_slack(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Json(b): Json<SlackInput>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(
        state
            .core
            .set_slack_user_id(&caller, &id, &b.slack_user_id)
            .await?,
    ))
}
