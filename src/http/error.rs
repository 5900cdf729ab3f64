//! The REST error: a [`DomainError`] rendered as `{"error": {code, message, details}}`
//! with the status from the one table in `leadwire-models`.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use leadwire_models::{DomainError, ErrorCode};
use serde::Serialize;
use utoipa::ToSchema;

/// An error as a response.
#[derive(Debug)]
pub struct ApiError(pub DomainError);

pub type ApiResult<T> = Result<T, ApiError>;

/// The error body (documented in the OpenAPI document).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// One of the closed set of codes (`not_found`, `validation_failed`, …).
    pub code: String,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError(e)
    }
}

impl From<leadwire_store::StoreError> for ApiError {
    fn from(e: leadwire_store::StoreError) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, axum::Json(self.0.body())).into_response();
        if self.0.code == ErrorCode::RateLimited {
            if let Some(secs) = self
                .0
                .details
                .as_ref()
                .and_then(|d| d["retry_after_seconds"].as_u64())
            {
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    res.headers_mut().insert("retry-after", v);
                }
            }
        }
        res
    }
}

/// A plain-text error response of a part we do not write (rmcp's transport) in the API's
/// error format: its headers kept, its text the message, its status as `status` says
/// given the original one and the text.
pub async fn in_error_format(
    response: Response,
    status: impl FnOnce(StatusCode, &str) -> StatusCode,
) -> Response {
    /// Enough for any message such a part writes; a longer text is cut.
    const MAX_MESSAGE_BYTES: usize = 4096;
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_MESSAGE_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        parts
            .status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_string()
    } else {
        text
    };
    parts.status = status(parts.status, &message);
    let e = DomainError::new(ErrorCode::from_http_status(parts.status.as_u16()), message);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, axum::body::Body::from(e.body().to_string()))
}

fn rejection(status: StatusCode, message: String) -> ApiError {
    ApiError(DomainError::new(
        ErrorCode::from_http_status(status.as_u16()),
        message,
    ))
}

/// The field a body's or query string's deserialisation error is about (axum's text:
/// "… target type: path: error", "… query string: path: error").
fn field_of_data_error(text: &str) -> Option<String> {
    let rest = text
        .split_once("target type: ")
        .or_else(|| text.split_once("query string: "))
        .or_else(|| text.split_once("as JSON: "))
        .map(|(_, r)| r)
        .unwrap_or(text);
    let (path, error) = match rest.split_once(": ") {
        Some((p, e)) if !p.contains(' ') => (p, e),
        _ => ("", rest),
    };
    leadwire_models::validate::field_of_serde_error(path, error)
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        if let JsonRejection::JsonDataError(_) = &r {
            let text = r.body_text();
            let mut e = DomainError::new(
                ErrorCode::from_http_status(r.status().as_u16()),
                format!("invalid request body: {text}"),
            );
            if let Some(field) = field_of_data_error(&text) {
                e = e.with_details(serde_json::json!({ "field": field }));
            }
            return ApiError(e);
        }
        if let JsonRejection::JsonSyntaxError(_) = &r {
            // well-formed JSON (its numbers are unbounded), but no 64-bit number holds it
            let text = r.body_text();
            if text.contains("number out of range") {
                let mut e = DomainError::new(
                    ErrorCode::ValidationFailed,
                    format!("a number is out of range (finite 64-bit numbers only): {text}"),
                );
                if let Some(field) = field_of_data_error(&text) {
                    e = e.with_details(serde_json::json!({ "field": field }));
                }
                return ApiError(e);
            }
        }
        let message = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                "expected a JSON body with Content-Type: application/json".to_string()
            }
            JsonRejection::JsonSyntaxError(_) => format!("malformed JSON: {}", r.body_text()),
            JsonRejection::BytesRejection(_) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                BODY_TOO_LARGE.to_string()
            }
            _ => r.body_text(),
        };
        rejection(r.status(), message)
    }
}

/// The message for a body that is over the configured limit.
pub const BODY_TOO_LARGE: &str = "request body is larger than the configured limit";

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError(DomainError::too_large(BODY_TOO_LARGE));
        }
        rejection(r.status(), format!("unreadable body: {}", r.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        // wrong types and unknown enum values in a query string are validation failures
        query_error(r.body_text())
    }
}

/// A query string that did not deserialise: 422 naming the parameter when the text does.
fn query_error(text: String) -> ApiError {
    let mut e = DomainError::new(
        ErrorCode::ValidationFailed,
        format!("invalid query: {text}"),
    );
    if let Some(field) = field_of_data_error(&text) {
        e = e.with_details(serde_json::json!({ "field": field }));
    }
    ApiError(e)
}

impl From<axum_extra::extract::QueryRejection> for ApiError {
    fn from(r: axum_extra::extract::QueryRejection) -> Self {
        use axum::response::IntoResponse;
        let text = match r {
            axum_extra::extract::QueryRejection::FailedToDeserializeQueryString(e) => e.to_string(),
            other => other.into_response().status().to_string(),
        };
        query_error(text)
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        rejection(
            StatusCode::BAD_REQUEST,
            format!("invalid path: {}", r.body_text()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::field_of_data_error;

    #[test]
    fn a_data_error_names_its_field() {
        let t = "Failed to deserialize the JSON body into the target type: ";
        for (text, field) in [
            ("events[0].event_type: invalid type: integer `5`, expected a string at line 1 column 15", Some("events[0].event_type")),
            ("missing field `event_type` at line 1 column 2", Some("event_type")),
            ("events[2]: missing field `event_type` at line 1 column 9", Some("events[2].event_type")),
            ("unknown field `bogus`, expected one of `a`, `b` at line 1 column 9", Some("bogus")),
            ("idempotencyKey: unknown field `idempotencyKey`, expected one of `a` at line 1 column 9", Some("idempotencyKey")),
            ("events[0].extra: unknown field `extra`, expected `a` at line 1 column 9", Some("events[0].extra")),
            ("logic: unknown variant `xor`, expected `and` or `or`", Some("logic")),
            ("invalid type: string \"x\", expected a map at line 1 column 3", None),
        ] {
            assert_eq!(field_of_data_error(&format!("{t}{text}")).as_deref(), field, "{text}");
        }
        for (text, field) in [
            ("Failed to deserialize query string: page: invalid digit found in string", "page"),
            ("Failed to deserialize query string: bogus: unknown field `bogus`, expected one of `page`", "bogus"),
        ] {
            assert_eq!(field_of_data_error(text).as_deref(), Some(field), "{text}");
        }
    }
}
