//! Administration: the audit log.

use axum::extract::State;
use leadwire_models::audit::{AuditPage, AuditQueryParams};
use leadwire_models::tenancy::Access;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, Query, Scoped};
use crate::http::AppState;

/// Recent audit log entries of the active OU (Owners and org admins), filtered and sorted.
/// Org admins also see org-wide entries (member management and other requests made in no OU).
#[utoipa::path(get, path = "/v1/admin/audit-logs", tag = "admin", params(AuditQueryParams),
    responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn audit_logs(
    State(state): State<AppState>,
    Scoped(tenant): Scoped,
    Query(params): Query<AuditQueryParams>,
) -> ApiResult<Json<AuditPage>> {
    tenant.require(Access::Manage)?;
    let q = params.validate()?;
    let (items, total) = state
        .core
        .store
        .audit_entries(tenant.org_id(), &tenant.ou_id, tenant.caller.is_admin(), &q)
        .await?;
    Ok(Json(AuditPage {
        items,
        total,
        limit: q.limit,
        offset: q.offset,
    }))
}
