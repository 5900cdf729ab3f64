//! Accounts of the active OU (account-based marketing; needs `abm_enabled`).

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_models::accounts::{
    Account, AccountDetail, AccountIdsInput, AccountInput, AccountListParams, AccountMatches,
    AccountMergeInput, AccountMergeResult, AccountPage, AccountPatch, AccountsDeleted,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, NoQuery, Path, Query, Scoped};
use crate::http::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// Checked first (e.g. acme.com).
    pub domain: Option<String>,
    /// The exact company name (any case), when the domain finds nothing.
    pub name: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// A company name, e.g. "Salesforce LLC".
    pub name: String,
}

/// The OU's accounts with their leads aggregated live: `top_score` (the best lead's
/// score), `engagement` (the sum), `leads_count`, `owner_name` (of the top lead),
/// `last_activity`, `surging` (a lead reached a surge band in the last 24 h),
/// `intent_level` and `account_level`. Disqualified leads count only with
/// `include_disqualified=true`.
#[utoipa::path(get, path = "/v1/accounts", tag = "accounts", params(AccountListParams),
    responses((status = 200, body = AccountPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(p): Query<AccountListParams>,
) -> ApiResult<Json<AccountPage>> {
    Ok(Json(state.core.list_accounts(&t, p).await?))
}

/// Create an account: `name` (1–200), `domain` (unique in the OU), `metadata`.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = AccountInput,
    responses((status = 201, body = Account), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn create(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<AccountInput>,
) -> ApiResult<(StatusCode, Json<Account>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.core.create_account(&t, b).await?),
    ))
}

/// The first account with the domain, else with the exact name; `null` when none.
#[utoipa::path(get, path = "/v1/accounts/lookup", tag = "accounts", params(LookupQuery),
    responses((status = 200, body = Option<Account>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn lookup(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<LookupQuery>,
) -> ApiResult<Json<Option<Account>>> {
    Ok(Json(
        state
            .core
            .lookup_account(&t, q.domain.as_deref(), q.name.as_deref())
            .await?,
    ))
}

/// Accounts whose names fuzzy-match (the better of Jaro-Winkler and token-set ratio,
/// ignoring case and punctuation): up to 5 at 0.6 or more, most alike first.
#[utoipa::path(get, path = "/v1/accounts/search", tag = "accounts", params(SearchQuery),
    responses((status = 200, body = AccountMatches), (status = 403, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn search(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<AccountMatches>> {
    Ok(Json(state.core.search_accounts(&t, &q.name).await?))
}

/// Unlink the OU's leads from the accounts and delete the accounts.
#[utoipa::path(post, path = "/v1/accounts/batch-delete", tag = "accounts", request_body = AccountIdsInput,
    responses((status = 200, body = AccountsDeleted), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn batch_delete(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<AccountIdsInput>,
) -> ApiResult<Json<AccountsDeleted>> {
    Ok(Json(state.core.delete_accounts(&t, b).await?))
}

/// An account with its leads (best first) and their 20 newest events.
#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = AccountDetail), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn get(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<AccountDetail>> {
    Ok(Json(state.core.account_detail(&t, &id).await?))
}

/// Change an account: `name` and `domain` replace; `metadata` merges (null removes a key).
#[utoipa::path(patch, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)), request_body = AccountPatch,
    responses((status = 200, body = Account), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn patch(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<AccountPatch>,
) -> ApiResult<Json<Account>> {
    Ok(Json(state.core.patch_account(&t, &id, b).await?))
}

/// Merge this account into `target_id`: its leads move there, it is archived, and the
/// merge is audited. Permanent.
#[utoipa::path(post, path = "/v1/accounts/{id}/merge", tag = "accounts", params(("id" = String, Path)), request_body = AccountMergeInput,
    responses((status = 200, body = AccountMergeResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn merge(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
    Json(b): Json<AccountMergeInput>,
) -> ApiResult<Json<AccountMergeResult>> {
    Ok(Json(state.core.merge_account(&t, &id, b).await?))
}
