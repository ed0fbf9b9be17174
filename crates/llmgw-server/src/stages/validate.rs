//! Validate stage: read the body within the size limit, parse it, and check the request
//! before anything is spent on it. Every failure is an OpenAI-shaped 4xx naming the
//! parameter at fault.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use llmgw_config::CatalogModel;
use llmgw_types::{ApiError, ChatCompletionRequest, ChatMessage, ErrorBody, Role};
use serde::de::DeserializeOwned;

/// Read the whole body, refusing with 413 as soon as it exceeds `limit` bytes.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared {
        if len > limit as u64 {
            return Err(too_large(limit));
        }
    }
    let mut buf = BytesMut::with_capacity(declared.map_or(8 * 1024, |n| n as usize));
    let mut stream = body.into_data_stream();
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|e| {
            ApiError::bad_request(format!("Could not read the request body: {e}"), None)
        })?;
        if buf.len() + piece.len() > limit {
            return Err(too_large(limit));
        }
        buf.extend_from_slice(&piece);
    }
    Ok(buf.freeze())
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        413,
        ErrorBody::invalid_request(format!(
            "The request body is larger than the gateway's limit of {limit} bytes \
             (server.max_body_bytes)."
        ))
        .with_code("request_too_large"),
    )
}

/// Parse a JSON body into `T`: malformed JSON, a non-object, a missing field or a value of
/// the wrong type each give a 400 naming the parameter.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            400,
            ErrorBody::invalid_request("The request body is empty; expected a JSON object.")
                .with_code("invalid_json"),
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            400,
            ErrorBody::invalid_request(format!("The request body is not valid JSON: {e}."))
                .with_code("invalid_json"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            400,
            ErrorBody::invalid_request("The request body must be a JSON object.")
                .with_code("invalid_json"),
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let (param, message) = match missing_field(&inner) {
            Some(field) => {
                let param = if path == "." {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                };
                let message = format!("Missing required parameter: '{param}'.");
                (param, message)
            }
            None => {
                let message = format!("Invalid value for '{path}': {inner}.");
                (path, message)
            }
        };
        ApiError::new(
            400,
            ErrorBody::invalid_request(message)
                .with_param(param)
                .with_code(if missing_field(&inner).is_some() {
                    "missing_required_parameter"
                } else {
                    "invalid_type"
                }),
        )
    })
}

/// `missing field `x`` → `x`.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

/// Check a parsed chat request: what the gateway can tell before routing.
pub fn check_chat_request(req: &ChatCompletionRequest) -> Result<(), ApiError> {
    if req.model.trim().is_empty() {
        return Err(invalid("model", "'model' must be a non-empty string."));
    }
    if req.messages.is_empty() {
        return Err(ApiError::new(
            400,
            ErrorBody::invalid_request("'messages' must contain at least one message.")
                .with_param("messages")
                .with_code("empty_array"),
        ));
    }
    for (i, m) in req.messages.iter().enumerate() {
        check_message(i, m)?;
    }
    range("temperature", req.temperature, 0.0, 2.0)?;
    range("top_p", req.top_p, 0.0, 1.0)?;
    range("presence_penalty", req.presence_penalty, -2.0, 2.0)?;
    range("frequency_penalty", req.frequency_penalty, -2.0, 2.0)?;
    for (name, value) in [
        ("max_tokens", req.max_tokens),
        ("max_completion_tokens", req.max_completion_tokens),
    ] {
        if value == Some(0) {
            return Err(invalid(name, &format!("'{name}' must be at least 1.")));
        }
    }
    if let Some(n) = req.n {
        if n != 1 {
            return Err(invalid(
                "n",
                "The gateway returns one choice per request; 'n' must be 1.",
            ));
        }
    }
    if let Some(tools) = &req.tools {
        for (i, t) in tools.iter().enumerate() {
            let name = &t.function.name;
            let ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !ok {
                return Err(invalid(
                    &format!("tools[{i}].function.name"),
                    &format!(
                        "Invalid 'tools[{i}].function.name': expected 1 to 64 letters, digits, \
                         '_' or '-', got {name:?}."
                    ),
                ));
            }
            if let Some(p) = &t.function.parameters {
                if !p.is_object() {
                    return Err(invalid(
                        &format!("tools[{i}].function.parameters"),
                        "Function parameters must be a JSON Schema object.",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_message(i: usize, m: &ChatMessage) -> Result<(), ApiError> {
    let has_content = m.content.as_ref().is_some_and(|c| !c.is_empty());
    match m.role {
        Role::System | Role::Developer | Role::User if m.content.is_none() => Err(invalid(
            &format!("messages[{i}].content"),
            &format!(
                "Missing required parameter: 'messages[{i}].content' ({} messages need content).",
                m.role.as_str()
            ),
        )),
        Role::Tool if m.tool_call_id.as_deref().is_none_or(str::is_empty) => Err(invalid(
            &format!("messages[{i}].tool_call_id"),
            &format!(
                "Missing required parameter: 'messages[{i}].tool_call_id' (tool messages answer a tool call)."
            ),
        )),
        Role::Assistant
            if !has_content
                && m.tool_calls.as_ref().is_none_or(Vec::is_empty)
                && m.refusal.is_none() =>
        {
            Err(invalid(
                &format!("messages[{i}].content"),
                &format!(
                    "Invalid 'messages[{i}]': an assistant message needs 'content' or 'tool_calls'."
                ),
            ))
        }
        _ => Ok(()),
    }
}

fn range(name: &str, value: Option<f64>, lo: f64, hi: f64) -> Result<(), ApiError> {
    match value {
        Some(v) if !(v.is_finite() && v >= lo && v <= hi) => Err(invalid(
            name,
            &format!("'{name}' must be between {lo} and {hi}, got {v}."),
        )),
        _ => Ok(()),
    }
}

fn invalid(param: &str, message: &str) -> ApiError {
    ApiError::new(
        400,
        ErrorBody::invalid_request(message)
            .with_param(param)
            .with_code("invalid_value"),
    )
}

/// Refuse a request whose estimated prompt alone exceeds the model's context window, or
/// whose output limit exceeds the model's. `prompt_tokens` is an estimate that errs low for
/// English text, so no request that fits is refused.
pub fn check_fits_model(
    req: &ChatCompletionRequest,
    model: &CatalogModel,
    prompt_tokens: u64,
) -> Result<(), ApiError> {
    if prompt_tokens > model.context_window {
        return Err(ApiError::new(
            400,
            ErrorBody::invalid_request(format!(
                "This model's maximum context length is {} tokens; the messages are about {} \
                 tokens. Shorten the messages or choose a model with a larger context window.",
                model.context_window, prompt_tokens
            ))
            .with_param("messages")
            .with_code("context_length_exceeded"),
        ));
    }
    if let (Some(limit), Some(max)) = (req.output_token_limit(), model.max_output_tokens) {
        if u64::from(limit) > max {
            let param = if req.max_completion_tokens.is_some() {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            return Err(invalid(
                param,
                &format!(
                    "'{param}' is {limit}, but model `{}` produces at most {max} tokens.",
                    model.id
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `param` of the error a request is rejected with.
    fn rejected_param(req: &ChatCompletionRequest) -> Option<String> {
        check_chat_request(req).unwrap_err().body.error.param
    }

    fn parse(body: &str) -> Result<ChatCompletionRequest, ApiError> {
        parse_json(body.as_bytes())
    }

    #[test]
    fn malformed_json_is_400_invalid_json() {
        let err = parse("{\"model\": ").unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.body.error.code.as_deref(), Some("invalid_json"));
        assert!(err.body.error.message.contains("not valid JSON"));
        let err = parse("").unwrap_err();
        assert!(err.body.error.message.contains("empty"));
        let err = parse("[1,2]").unwrap_err();
        assert!(err.body.error.message.contains("JSON object"));
    }

    #[test]
    fn missing_and_mistyped_fields_name_the_param() {
        let err = parse(r#"{"messages": []}"#).unwrap_err();
        assert_eq!(err.body.error.param.as_deref(), Some("model"));
        assert_eq!(
            err.body.error.code.as_deref(),
            Some("missing_required_parameter")
        );

        let err = parse(r#"{"model": "m", "messages": [{"role": "robot", "content": "x"}]}"#)
            .unwrap_err();
        assert_eq!(err.body.error.param.as_deref(), Some("messages[0].role"));
        assert!(
            err.body.error.message.contains("robot"),
            "{}",
            err.body.error.message
        );

        let err = parse(r#"{"model": "m", "messages": [], "temperature": "hot"}"#).unwrap_err();
        assert_eq!(err.body.error.param.as_deref(), Some("temperature"));

        let err = parse(r#"{"model": 5, "messages": []}"#).unwrap_err();
        assert_eq!(err.body.error.param.as_deref(), Some("model"));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let req = parse(r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"logit_bias":{},"whatever":1}"#)
            .unwrap();
        assert!(check_chat_request(&req).is_ok());
    }

    #[test]
    fn semantic_checks() {
        let ok = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
        assert!(check_chat_request(&parse(ok).unwrap()).is_ok());

        let err =
            check_chat_request(&parse(r#"{"model":"m","messages":[]}"#).unwrap()).unwrap_err();
        assert_eq!(err.body.error.param.as_deref(), Some("messages"));

        let err = check_chat_request(
            &parse(r#"{"model":"","messages":[{"role":"user","content":"x"}]}"#).unwrap(),
        )
        .unwrap_err();
        assert_eq!(err.body.error.param.as_deref(), Some("model"));

        let req =
            parse(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}"#)
                .unwrap();
        assert_eq!(rejected_param(&req).as_deref(), Some("temperature"));

        let req = parse(r#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#).unwrap();
        assert_eq!(
            rejected_param(&req).as_deref(),
            Some("messages[0].tool_call_id")
        );

        let req = parse(r#"{"model":"m","messages":[{"role":"user"}]}"#).unwrap();
        assert_eq!(rejected_param(&req).as_deref(), Some("messages[0].content"));

        let req =
            parse(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}"#).unwrap();
        assert_eq!(rejected_param(&req).as_deref(), Some("n"));

        let req = parse(
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],
                "tools":[{"type":"function","function":{"name":"bad name"}}]}"#,
        )
        .unwrap();
        assert_eq!(
            rejected_param(&req).as_deref(),
            Some("tools[0].function.name")
        );
    }

    #[test]
    fn context_window_and_output_limit() {
        let model: CatalogModel = CatalogModel {
            id: "small".into(),
            provider: "p".into(),
            upstream: None,
            input_per_mtok: 1.0,
            output_per_mtok: 1.0,
            cached_input_per_mtok: None,
            context_window: 100,
            max_output_tokens: Some(50),
            typical_output_tokens: None,
            quality_as: None,
        };
        let mut req =
            parse(r#"{"model":"small","messages":[{"role":"user","content":"x"}]}"#).unwrap();
        assert!(check_fits_model(&req, &model, 90).is_ok());
        let err = check_fits_model(&req, &model, 101).unwrap_err();
        assert_eq!(
            err.body.error.code.as_deref(),
            Some("context_length_exceeded")
        );
        req.max_tokens = Some(60);
        let err = check_fits_model(&req, &model, 10).unwrap_err();
        assert_eq!(err.body.error.param.as_deref(), Some("max_tokens"));
    }
}
