//! The one closed set of error codes, and the table mapping each to an HTTP status.
//!
//! REST, GraphQL and MCP all report a [`DomainError`]; only its `code`, `message` and
//! `details` ever reach a client. Internal causes are logged by the caller, never sent.

use serde::Serialize;
use serde_json::Value;

/// Every kind of failure a client can observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    Gone,
    PreconditionFailed,
    PayloadTooLarge,
    ValidationFailed,
    RateLimited,
    Internal,
    Unavailable,
    Timeout,
}

impl ErrorCode {
    /// The HTTP status of this code: the single table every interface uses.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict => 409,
            ErrorCode::Gone => 410,
            ErrorCode::PreconditionFailed => 412,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::ValidationFailed => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
            ErrorCode::Timeout => 504,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Gone => "gone",
            ErrorCode::PreconditionFailed => "precondition_failed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Timeout => "timeout",
        }
    }

    /// The code for an HTTP status (used for rejections produced by the HTTP framework).
    pub const fn from_http_status(status: u16) -> ErrorCode {
        match status {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            409 => ErrorCode::Conflict,
            410 => ErrorCode::Gone,
            412 => ErrorCode::PreconditionFailed,
            413 => ErrorCode::PayloadTooLarge,
            422 => ErrorCode::ValidationFailed,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::Unavailable,
            504 => ErrorCode::Timeout,
            400..=499 => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        }
    }
}

/// A failure with a client-safe message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct DomainError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
}

pub type Result<T, E = DomainError> = std::result::Result<T, E>;

impl DomainError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError {
            code,
            message: message.into(),
            details: None,
        }
    }
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    /// "Not found" for anything missing *or* belonging to another tenant: ids cannot be probed.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    /// A field-level validation failure (HTTP 422); `field` is named in `details`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(ErrorCode::ValidationFailed, format!("{field}: {message}"))
            .with_details(serde_json::json!({ "field": field, "reason": message }))
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PayloadTooLarge, message)
    }
    /// An internal failure; the cause must be logged by the caller, the client sees a generic text.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Timeout, message)
    }

    /// The JSON body of the error, as every interface reports it.
    /// `details` is always there (`null` when the error has none), so a client can rely
    /// on the documented shape.
    pub fn body(&self) -> Value {
        serde_json::json!({ "error": {
            "code": self.code.as_str(),
            "message": self.message,
            "details": self.details,
        } })
    }

    /// The error of one part of a request (`events[3]`), its field named from the
    /// request's top (`events[3].aliases[0].raw_value`); an error without a field names
    /// the part.
    pub fn within(mut self, part: &str) -> Self {
        let field = self
            .details
            .as_ref()
            .and_then(|d| d.get("field"))
            .and_then(Value::as_str)
            .map(str::to_string);
        match field {
            Some(field) => {
                let full = format!("{part}.{field}");
                if let Some(rest) = self.message.strip_prefix(&format!("{field}:")) {
                    self.message = format!("{full}:{rest}");
                }
                if let Some(d) = self.details.as_mut().and_then(Value::as_object_mut) {
                    d.insert("field".into(), Value::String(full));
                }
            }
            None => {
                self.message = format!("{part}: {}", self.message);
                if self.code == ErrorCode::ValidationFailed && self.details.is_none() {
                    self.details = Some(serde_json::json!({ "field": part }));
                }
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_status() {
        let all = [
            ErrorCode::BadRequest,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Conflict,
            ErrorCode::Gone,
            ErrorCode::PreconditionFailed,
            ErrorCode::PayloadTooLarge,
            ErrorCode::ValidationFailed,
            ErrorCode::RateLimited,
            ErrorCode::Internal,
            ErrorCode::Unavailable,
            ErrorCode::Timeout,
        ];
        for code in all {
            assert_eq!(ErrorCode::from_http_status(code.http_status()), code);
        }
    }

    #[test]
    fn body_has_the_documented_shape() {
        let e = DomainError::invalid("name", "must be 1-50 characters");
        let b = e.body();
        assert_eq!(b["error"]["code"], "validation_failed");
        assert_eq!(b["error"]["details"]["field"], "name");
        assert_eq!(
            DomainError::not_found("lead").body()["error"].get("details"),
            Some(&Value::Null)
        );
    }

    #[test]
    fn an_error_within_a_part_names_the_field_from_the_top() {
        let e = DomainError::invalid("aliases[1].raw_value", "not an email").within("events[0]");
        assert_eq!(e.message, "events[0].aliases[1].raw_value: not an email");
        assert_eq!(
            e.details,
            Some(
                serde_json::json!({"field": "events[0].aliases[1].raw_value", "reason": "not an email"})
            )
        );
        let e = DomainError::new(ErrorCode::ValidationFailed, "bad").within("events[2]");
        assert_eq!(e.message, "events[2]: bad");
        assert_eq!(e.details, Some(serde_json::json!({"field": "events[2]"})));
        let e = DomainError::not_found("lead").within("events[1]");
        assert_eq!(
            (e.message.as_str(), e.details),
            ("events[1]: lead not found", None)
        );
    }
}
