//! Tool arguments whose failures read like every other error of the API.
//!
//! rmcp's own `Parameters` answers an argument of the wrong type, a missing one or an
//! unknown one with a tool error whose text is serde's message. Ours answers with the
//! REST error body, `{"error": {"code": "validation_failed", "message", "details":
//! {"field"}}}`, naming the argument by its path (`aliases[0].kind`), as REST names a
//! body's field. The `#[tool]` macro takes a tool's input schema from its argument of a
//! type named `Parameters`, which this one is.

use leadwire_models::validate;
use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use rmcp::ErrorData;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// What rmcp looks for to turn an argument error into a tool error (rather than a
/// JSON-RPC one); the text after it is our error body.
const ARGUMENT_ERROR: &str = "failed to deserialize parameters:";

/// A tool's arguments, deserialised with the failing argument's path.
pub struct Parameters<T>(pub T);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<S>) -> Result<Self, ErrorData> {
        let arguments = serde_json::Value::Object(context.arguments.take().unwrap_or_default());
        serde_path_to_error::deserialize(arguments)
            .map(Parameters)
            .map_err(|e| {
                let path = e.path().to_string();
                let error = validate::serde_error(&path, &e.inner().to_string());
                ErrorData::invalid_params(format!("{ARGUMENT_ERROR} {}", error.body()), None)
            })
    }
}

/// A tool call's answer with an argument error's text made the error body alone (rmcp
/// puts its prefix before it); an argument error of rmcp's own making gets a body too.
pub(crate) fn argument_errors_as_bodies(response: CallToolResponse) -> CallToolResponse {
    let CallToolResponse::Complete(result) = response else {
        return response;
    };
    if result.is_error != Some(true) || result.content.len() != 1 {
        return CallToolResponse::Complete(result);
    }
    let body = result.content[0]
        .as_text()
        .and_then(|t| t.text.strip_prefix(ARGUMENT_ERROR))
        .map(|rest| {
            let rest = rest.trim_start();
            match serde_json::from_str::<serde_json::Value>(rest) {
                Ok(body) if body.get("error").is_some() => body,
                _ => validate::serde_error(".", rest).body(),
            }
        });
    match body {
        Some(body) => CallToolResult::error(vec![ContentBlock::text(body.to_string())]).into(),
        None => CallToolResponse::Complete(result),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_argument_error_names_the_argument_by_its_path_from_the_top() {
        let e = validate::serde_error("aliases[0].kind", "unknown variant `fax`");
        assert_eq!(e.code, leadwire_models::ErrorCode::ValidationFailed);
        assert_eq!(
            e.details,
            Some(
                serde_json::json!({"field": "aliases[0].kind", "reason": "unknown variant `fax`"})
            )
        );
        let e = validate::serde_error(".", "unknown field `ownerId`, expected one of `lead_id`");
        assert_eq!(e.details.unwrap()["field"], "ownerId");
        let e = validate::serde_error(".", "missing field `lead_id`");
        assert_eq!(e.details.unwrap()["field"], "lead_id");
        let e = validate::serde_error(".", "invalid type: string \"x\", expected a map");
        assert!(e.details.is_none());
        assert_eq!(e.code, leadwire_models::ErrorCode::ValidationFailed);
        assert!(e.message.contains("expected a map"));
    }

    #[test]
    fn rmcps_prefixed_text_becomes_the_error_body() {
        let text = |r: &CallToolResponse| match r {
            CallToolResponse::Complete(r) => r.content[0]
                .as_text()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t.text).ok()),
            _ => None,
        };
        let ours =
            validate::serde_error("limit", "invalid type: string \"x\", expected u32").body();
        let r = argument_errors_as_bodies(
            CallToolResult::error(vec![ContentBlock::text(format!("{ARGUMENT_ERROR} {ours}"))])
                .into(),
        );
        assert_eq!(text(&r), Some(ours));
        let r = argument_errors_as_bodies(
            CallToolResult::error(vec![ContentBlock::text(format!(
                "{ARGUMENT_ERROR} missing field `lead_id`"
            ))])
            .into(),
        );
        let body = text(&r).unwrap();
        assert_eq!(body["error"]["details"]["field"], "lead_id", "{body}");
        // any other tool error is left as it is
        let other = serde_json::json!({"error": {"code": "not_found"}}).to_string();
        let r = argument_errors_as_bodies(
            CallToolResult::error(vec![ContentBlock::text(other.clone())]).into(),
        );
        assert_eq!(text(&r), serde_json::from_str(&other).ok());
    }
}
