//! Validation of Gemini `contents`: roles `user`/`model`, parts, and the ordering rules of
//! `functionCall` / `functionResponse` turns.

use serde_json::Value;

use super::request::{camel, field, unknown_fields};
use crate::conversation::{Conversation, Part, Role};
use crate::wire;

const PART_FIELDS: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "thought",
    "thoughtSignature",
    "videoMetadata",
];
const DATA_FIELDS: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
];

/// What a turn was, for the ordering rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    User,
    FunctionResponses,
    Model,
    FunctionCalls(usize),
}

/// Parses and validates `contents` into `conv`; errors are `INVALID_ARGUMENT` messages.
pub(crate) fn parse(items: &[Value], conv: &mut Conversation) -> Result<(), String> {
    let mut previous: Option<Turn> = None;
    for (i, item) in items.iter().enumerate() {
        let at = format!("contents[{i}]");
        let c = item
            .as_object()
            .ok_or_else(|| format!("Invalid JSON payload received. '{at}' must be an object."))?;
        unknown_fields(c, &["role", "parts"], Some(&at))?;
        let role = match c.get("role").and_then(Value::as_str) {
            None | Some("user") => Role::User,
            Some("model") => Role::Assistant,
            Some(_) => return Err("Please use a valid role: user, model.".into()),
        };
        let parts = match field(c, "parts") {
            Some(Value::Array(p)) if !p.is_empty() => p,
            _ => {
                return Err(format!(
                    "* GenerateContentRequest.{at}.parts: contents.parts must not be empty.\n"
                ))
            }
        };
        let mut calls = 0usize;
        let mut responses = 0usize;
        for (j, part) in parts.iter().enumerate() {
            let pat = format!("{at}.parts[{j}]");
            let p = part.as_object().ok_or_else(|| {
                format!("Invalid JSON payload received. '{pat}' must be an object.")
            })?;
            unknown_fields(p, PART_FIELDS, Some(&pat))?;
            let data: Vec<(String, &Value)> = p
                .iter()
                .map(|(k, v)| (camel(k), v))
                .filter(|(k, _)| DATA_FIELDS.contains(&k.as_str()))
                .collect();
            let (name, value) = match data.as_slice() {
                [one] => (one.0.as_str(), one.1),
                [] => {
                    return Err(format!(
                        "* GenerateContentRequest.{pat}.data: required oneof field 'data' must have one initialized field\n"
                    ))
                }
                [_, second, ..] => {
                    return Err(format!(
                        "Invalid JSON payload received. Unknown name \"{}\" at '{pat}': oneof field 'data' is already set. Cannot set '{}'",
                        second.0, second.0
                    ))
                }
            };
            let piece = match name {
                "text" => Part::Text(value.as_str().unwrap_or_default().to_string()),
                "inlineData" | "fileData" => Part::Media(wire::media_id(&value.to_string())),
                "executableCode" | "codeExecutionResult" => Part::Text(value.to_string()),
                "functionCall" => {
                    if role != Role::Assistant {
                        return Err(format!("* GenerateContentRequest.{pat}.function_call: function calls can only be in model turns.\n"));
                    }
                    calls += 1;
                    let fname = value
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if fname.is_empty() {
                        return Err(format!("* GenerateContentRequest.{pat}.function_call.name: Name cannot be empty.\n"));
                    }
                    Part::ToolCall {
                        id: fname.to_string(),
                        name: fname.to_string(),
                        arguments: value
                            .get("args")
                            .cloned()
                            .unwrap_or_else(|| serde_json::json!({})),
                    }
                }
                _ => {
                    if role != Role::User {
                        return Err(format!("* GenerateContentRequest.{pat}.function_response: function responses can only be in user turns.\n"));
                    }
                    responses += 1;
                    let fname = value
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if fname.is_empty() {
                        return Err(format!("* GenerateContentRequest.{pat}.function_response.name: Name cannot be empty.\n"));
                    }
                    let response = value.get("response").cloned().unwrap_or(Value::Null);
                    Part::ToolResult {
                        id: fname.to_string(),
                        name: fname.to_string(),
                        content: response.to_string(),
                    }
                }
            };
            conv.push(role, piece);
        }
        let turn = match (role, calls, responses) {
            (Role::Assistant, 0, _) => Turn::Model,
            (Role::Assistant, n, _) => Turn::FunctionCalls(n),
            (Role::User, _, 0) => Turn::User,
            (Role::User, _, _) => Turn::FunctionResponses,
        };
        if let Turn::FunctionCalls(_) = turn {
            if !matches!(previous, Some(Turn::User) | Some(Turn::FunctionResponses)) {
                return Err("Please ensure that function call turn comes immediately after a user turn or after a function response turn.".into());
            }
        }
        if turn == Turn::FunctionResponses {
            match previous {
                Some(Turn::FunctionCalls(n)) if n == responses => {}
                Some(Turn::FunctionCalls(_)) => {
                    return Err("Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.".into())
                }
                _ => {
                    return Err("Please ensure that function response turn comes immediately after a function call turn.".into())
                }
            }
        }
        previous = Some(turn);
        conv.messages += 1;
    }
    Ok(())
}
