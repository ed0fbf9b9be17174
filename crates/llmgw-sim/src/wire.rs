//! Small helpers shared by the request parsers.

use serde_json::Value;

/// JSON type name of a value, as validation messages name it.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether `name` is a valid tool/function name: `[a-zA-Z0-9_-]`, 1 to `max` characters.
pub(crate) fn valid_tool_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A short digest naming an attachment (image URL or inline data) without keeping it.
pub(crate) fn media_id(source: &str) -> String {
    hex::encode(&crate::seed::digest(&[source.as_bytes()])[..8])
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_and_names() {
        assert_eq!(kind(&json!(1)), "integer");
        assert_eq!(kind(&json!(1.5)), "number");
        assert_eq!(kind(&json!([])), "array");
        assert!(valid_tool_name("get_weather-2", 64));
        assert!(!valid_tool_name("get weather", 64));
        assert!(!valid_tool_name("", 64));
        assert!(!valid_tool_name(&"a".repeat(65), 64));
        assert_eq!(media_id("x"), media_id("x"));
        assert_ne!(media_id("x"), media_id("y"));
    }
}
