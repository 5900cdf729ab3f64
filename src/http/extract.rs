//! Extractors: JSON, query and path with our error format, and the caller / tenant.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use leadwire_models::tenancy::{Caller, Tenant};
use leadwire_models::validate::{json_nests_deeper_than, MAX_JSON_DEPTH};
use leadwire_models::DomainError;

use super::error::ApiError;
use super::AppState;

/// `axum::Json` whose rejections are [`ApiError`]s, and which refuses (422) a body nested
/// deeper than [`MAX_JSON_DEPTH`] before it is parsed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::Bytes::from_request(
            axum::extract::Request::from_parts(parts.clone(), body),
            state,
        )
        .await?;
        // every body is an object: serde would otherwise read an array as the fields in
        // declaration order (`["Ann","ann@x.io"]` as a rep)
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(ApiError(DomainError::invalid(
                "body",
                "must be a JSON object, not an array",
            )));
        }
        if json_nests_deeper_than(&bytes, MAX_JSON_DEPTH) {
            return Err(ApiError(DomainError::invalid(
                "body",
                format!("JSON nests arrays and objects deeper than {MAX_JSON_DEPTH} levels"),
            )));
        }
        let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes.clone()));
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            // serde_json calls some type errors syntax errors (a `null` where an enum value
            // belongs reads "expected value"): well-formed JSON is a validation failure
            Err(axum::extract::rejection::JsonRejection::JsonSyntaxError(e))
                if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() =>
            {
                let text = e.body_text();
                let message = text
                    .split_once("as JSON: ")
                    .map_or(text.as_str(), |(_, m)| m)
                    .to_string();
                let path = message.split_once(": ").map_or("", |(p, _)| p);
                let field = (!path.contains(' '))
                    .then_some(path)
                    .filter(|p| !p.is_empty());
                let mut error = DomainError::new(
                    leadwire_models::ErrorCode::ValidationFailed,
                    format!("invalid request body: {message}"),
                );
                if let Some(field) = field {
                    error = error.with_details(serde_json::json!({ "field": field }));
                }
                Err(ApiError(error))
            }
            Err(rejection) => Err(rejection.into()),
        }
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// The query of a route that takes no parameters: any parameter is a 422 naming it, as on
/// every other route (a misspelt filter must not pass for "no filter").
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Refuses a query string on a route that takes none.
pub type NoQuery = Query<NoParams>;

/// A query string whose keys may repeat (`?metadata=a:1&metadata=b:2` into a `Vec`),
/// with rejections as [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum_extra::extract::Query), rejection(ApiError))]
pub struct MultiQuery<T>(pub T);

/// `axum::extract::Path` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The raw request body, read within the configured body limit, with rejections as
/// [`ApiError`]s (413 `payload_too_large` beyond the limit).
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        Ok(RawBody(axum::body::Bytes::from_request(req, state).await?))
    }
}

pub use leadwire_models::tenancy::OU_HEADER;
/// The cookie set by `POST /v1/org-units/active`.
pub const OU_COOKIE: &str = "activeOu";

/// Where the audit middleware learns which OU a request acted in.
#[derive(Clone, Default)]
pub struct AuditOu(pub std::sync::Arc<parking_lot::Mutex<Option<String>>>);

impl AuditOu {
    pub fn set(parts: &Parts, ou_id: &str) {
        if let Some(slot) = parts.extensions.get::<AuditOu>() {
            *slot.0.lock() = Some(ou_id.to_string());
        }
    }
}

/// The authenticated caller (401 when the request carried no valid credentials).
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Auth)
            .ok_or_else(|| {
                ApiError(DomainError::unauthorized(
                    "authentication required: send a Bearer token or Basic credentials",
                ))
            })
    }
}

/// The OU a request asks for: `X-OU-Id` header, else the `activeOu` cookie.
pub fn requested_ou(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(OU_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_string());
    }
    CookieJar::from_headers(headers)
        .get(OU_COOKIE)
        .map(|c| c.value().to_string())
}

/// The caller acting in their active OU (404 when they may not act in the requested OU).
pub struct Scoped(pub Tenant);

impl FromRequestParts<AppState> for Scoped {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Auth(caller) = Auth::from_request_parts(parts, state).await?;
        let requested = requested_ou(&parts.headers);
        let tenant = state
            .core
            .resolve_tenant(&caller, requested.as_deref())
            .await?;
        AuditOu::set(parts, &tenant.ou_id);
        Ok(Scoped(tenant))
    }
}
