//! Org units, the active OU, and OU memberships.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use leadwire_actors::tenancy::{MembershipView, UnitsView};
use leadwire_models::tenancy::{OrgUnit, OuRole};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{AuditOu, Auth, Json, NoQuery, Path, OU_COOKIE};
use crate::http::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitInput {
    /// 1–100 characters, unique in the organisation.
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveInput {
    /// The unit_id to activate for the current session.
    #[serde(rename = "ouId")]
    pub ou_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ActiveView {
    pub unit_id: String,
    pub name: String,
    pub role: OuRole,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    pub org_member_id: String,
    /// Default Viewer.
    #[serde(default, deserialize_with = "leadwire_models::validate::not_null")]
    pub role: Option<OuRole>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub role: OuRole,
}

/// The caller's org units (with their role in each) and their organisation.
#[utoipa::path(get, path = "/v1/org-units", tag = "org-units",
    responses((status = 200, body = UnitsView), (status = 401, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<UnitsView>> {
    Ok(Json(state.core.list_units(&caller).await?))
}

/// Create an org unit (org admins); the creator becomes its Owner.
#[utoipa::path(post, path = "/v1/org-units", tag = "org-units", request_body = UnitInput,
    responses((status = 201, body = OrgUnit), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Json(body): Json<UnitInput>,
) -> ApiResult<(StatusCode, Json<OrgUnit>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_unit(&caller, &body.name).await?),
    ))
}

/// Rename an org unit (its Owner).
#[utoipa::path(patch, path = "/v1/org-units/{id}", tag = "org-units", params(("id" = String, Path)), request_body = UnitInput,
    responses((status = 200, body = OrgUnit), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn rename(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Json(body): Json<UnitInput>,
) -> ApiResult<Json<OrgUnit>> {
    Ok(Json(
        state.core.rename_unit(&caller, &id, &body.name).await?,
    ))
}

/// Set the active org unit: validates membership, sets the HttpOnly `activeOu` cookie and
/// returns the OU in `X-OU-Id` / `X-OU-Role` headers.
#[utoipa::path(post, path = "/v1/org-units/active", tag = "org-units", request_body = ActiveInput,
    responses((status = 200, body = ActiveView), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn set_active(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    jar: CookieJar,
    Json(body): Json<ActiveInput>,
) -> ApiResult<Response> {
    let tenant = state.core.tenant_in(&caller, body.ou_id.trim()).await?;
    let ou = state
        .core
        .store
        .org_unit(tenant.org_id(), &tenant.ou_id)
        .await?
        .ok_or_else(|| leadwire_models::DomainError::not_found("org unit"))?;
    let cookie = Cookie::build((OU_COOKIE, tenant.ou_id.clone()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .build();
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&tenant.ou_id) {
        headers.insert("x-ou-id", v);
    }
    headers.insert("x-ou-role", HeaderValue::from_static(tenant.role.as_str()));
    Ok((
        jar.add(cookie),
        headers,
        Json(ActiveView {
            unit_id: ou.id,
            name: ou.name,
            role: tenant.role,
        }),
    )
        .into_response())
}

/// Members of an org unit with their OU roles (any member of the OU).
#[utoipa::path(get, path = "/v1/org-units/{id}/memberships", tag = "ou-memberships", params(("id" = String, Path)),
    responses((status = 200, body = Vec<MembershipView>), (status = 404, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn memberships(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<MembershipView>>> {
    Ok(Json(state.core.list_memberships(&caller, &id).await?))
}

/// Assign a member to the OU with a role (idempotent; Owner or Operator). 201 when
/// created, 200 when it already existed.
#[utoipa::path(post, path = "/v1/org-units/{id}/memberships", tag = "ou-memberships", params(("id" = String, Path)), request_body = AssignInput,
    responses((status = 201, body = MembershipView), (status = 200, body = MembershipView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn assign(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    parts: AuditParts,
    Json(body): Json<AssignInput>,
) -> ApiResult<(StatusCode, Json<MembershipView>)> {
    parts.set(&id);
    let (m, created) = state
        .core
        .assign_membership(
            &caller,
            &id,
            &body.org_member_id,
            body.role.unwrap_or(OuRole::Viewer),
        )
        .await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(m),
    ))
}

/// Change a member's role in the OU (Owner or Operator; only Owners touch the Owner role).
#[utoipa::path(patch, path = "/v1/org-units/{id}/memberships/{memberId}", tag = "ou-memberships",
    params(("id" = String, Path), ("memberId" = String, Path)), request_body = RoleInput,
    responses((status = 200, body = MembershipView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn update_role(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((id, member_id)): Path<(String, String)>,
    parts: AuditParts,
    Json(body): Json<RoleInput>,
) -> ApiResult<Json<MembershipView>> {
    parts.set(&id);
    Ok(Json(
        state
            .core
            .update_membership(&caller, &id, &member_id, body.role)
            .await?,
    ))
}

/// Remove a member from the OU (Owner or Operator; the last Owner cannot be removed).
#[utoipa::path(delete, path = "/v1/org-units/{id}/memberships/{memberId}", tag = "ou-memberships",
    params(("id" = String, Path), ("memberId" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn remove(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((id, member_id)): Path<(String, String)>,
    parts: AuditParts,
) -> ApiResult<StatusCode> {
    parts.set(&id);
    state
        .core
        .remove_membership(&caller, &id, &member_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lets a handler name the OU its audit entry belongs to.
pub struct AuditParts(Option<AuditOu>);

impl AuditParts {
    fn set(&self, ou_id: &str) {
        if let Some(slot) = &self.0 {
            *slot.0.lock() = Some(ou_id.to_string());
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AuditParts {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(AuditParts(parts.extensions.get::<AuditOu>().cloned()))
    }
}
