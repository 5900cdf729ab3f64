//! Login, the current user, and cookie clean-up.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use leadwire_actors::LoginResult;
use leadwire_models::tenancy::MemberView;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Auth, Json, NoQuery, OU_COOKIE};
use crate::http::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Exchange email and password for a JWT bearer token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResult), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn login(
    _: NoQuery,
    State(state): State<AppState>,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Json<LoginResult>> {
    Ok(Json(state.core.login(&body.email, &body.password).await?))
}

/// The authenticated user's profile.
#[utoipa::path(get, path = "/v1/auth/me", tag = "auth",
    responses((status = 200, body = MemberView), (status = 401, body = ErrorBody)), security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn me(
    _: NoQuery,
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(state.core.me(&caller).await?))
}

/// Remove residual cookies of earlier sessions (the active OU).
#[utoipa::path(post, path = "/v1/auth/cleanup", tag = "auth", responses((status = 204)))]
pub async fn cleanup(_: NoQuery) -> Response {
    let expired = format!("{OU_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    (
        axum::http::StatusCode::NO_CONTENT,
        [
            (header::SET_COOKIE, expired),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response()
}
