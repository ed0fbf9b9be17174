//! Tool-call arguments: OpenAI sends a JSON string, Anthropic and Gemini want an object.

use crate::{Result, TranslateError};
use serde_json::{json, Value};

/// Parses tool-call arguments into a JSON object (`""` means no arguments).
pub(crate) fn parse_arguments(arguments: &str, param: &str) -> Result<Value> {
    if arguments.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(TranslateError::invalid_request(
            "tool call arguments must be a JSON object encoded as a string",
            param,
        )),
    }
}
