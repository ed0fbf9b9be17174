//! Validation of OpenAI chat `messages`, as strict as the real API.

use serde_json::{Map, Value};

use super::error::Invalid;
use crate::conversation::{Conversation, Part, Role};
use crate::wire;

/// Describes a JSON value the way OpenAI's messages do ("an integer", "an object").
pub(crate) fn described(v: &Value) -> &'static str {
    match wire::kind(v) {
        "null" => "null",
        "boolean" => "a boolean",
        "integer" => "an integer",
        "number" => "a decimal",
        "string" => "a string",
        "array" => "an array",
        _ => "an object",
    }
}

/// "Invalid type for 'param': expected X, but got Y instead."
pub(crate) fn type_error(param: &str, expected: &str, got: &Value) -> Invalid {
    Invalid::new(format!(
        "Invalid type for '{param}': expected {expected}, but got {} instead.",
        described(got)
    ))
    .param(param)
    .code("invalid_type")
}

/// "Missing required parameter: 'param'."
pub(crate) fn missing(param: &str) -> Invalid {
    Invalid::new(format!("Missing required parameter: '{param}'."))
        .param(param)
        .code("missing_required_parameter")
}

/// "Invalid 'param': empty array. ..."
pub(crate) fn empty_array(param: &str) -> Invalid {
    Invalid::new(format!(
        "Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead."
    ))
    .param(param)
    .code("empty_array")
}

/// Tool calls of the latest assistant message still waiting for their `tool` answers.
struct OpenCalls {
    assistant_index: usize,
    ids: Vec<String>,
    unanswered: Vec<String>,
}

/// Parses and validates `messages` into `conv`.
pub(crate) fn parse(messages: &[Value], conv: &mut Conversation) -> Result<(), Invalid> {
    let mut open: Option<OpenCalls> = None;
    for (i, message) in messages.iter().enumerate() {
        let p = format!("messages[{i}]");
        let m = message
            .as_object()
            .ok_or_else(|| type_error(&p, "an object", message))?;
        let role = match m.get("role") {
            Some(Value::String(r)) => r.as_str(),
            None | Some(Value::Null) => return Err(missing(&format!("{p}.role"))),
            Some(other) => return Err(type_error(&format!("{p}.role"), "a string", other)),
        };
        if role != "tool" {
            if let Some(calls) = open.take() {
                if !calls.unanswered.is_empty() {
                    return Err(unanswered(&calls));
                }
            }
        }
        match role {
            "system" | "developer" => {
                let text = text_content(m, &p, true)?;
                conv.system.push(text);
            }
            "user" => user(m, &p, conv)?,
            "assistant" => {
                if let Some(ids) = assistant(m, &p, conv)? {
                    open = Some(OpenCalls {
                        assistant_index: i,
                        unanswered: ids.clone(),
                        ids,
                    });
                }
            }
            "tool" => tool(m, &p, i, conv, open.as_mut())?,
            "function" => {
                let name = match m.get("name") {
                    Some(Value::String(n)) => n.clone(),
                    _ => return Err(missing(&format!("{p}.name"))),
                };
                let content = text_content(m, &p, true)?;
                conv.push(
                    Role::User,
                    Part::ToolResult {
                        id: String::new(),
                        name,
                        content,
                    },
                );
            }
            other => {
                return Err(Invalid::new(format!(
                    "Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."
                ))
                .param(format!("{p}.role"))
                .code("invalid_value"))
            }
        }
        conv.messages += 1;
    }
    if let Some(calls) = open {
        if !calls.unanswered.is_empty() {
            return Err(unanswered(&calls));
        }
    }
    Ok(())
}

fn unanswered(calls: &OpenCalls) -> Invalid {
    Invalid::new(format!(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
        calls.unanswered.join(", ")
    ))
    .param(format!("messages.[{}].role", calls.assistant_index))
}

/// Text of a system/developer/tool message: a string or an array of text parts.
fn text_content(m: &Map<String, Value>, p: &str, required: bool) -> Result<String, Invalid> {
    let param = format!("{p}.content");
    match m.get("content") {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) if !required => Ok(String::new()),
        None | Some(Value::Null) => Err(missing(&param)),
        Some(Value::Array(parts)) => {
            if parts.is_empty() {
                return Err(empty_array(&param));
            }
            let mut texts = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                let pp = format!("{param}[{j}]");
                let obj = part
                    .as_object()
                    .ok_or_else(|| type_error(&pp, "an object", part))?;
                match obj.get("type").and_then(Value::as_str) {
                    Some("text") => texts.push(text_field(obj, &pp)?),
                    Some(other) => {
                        return Err(Invalid::new(format!(
                            "Invalid value: '{other}'. Supported values are: 'text'."
                        ))
                        .param(format!("{pp}.type"))
                        .code("invalid_value"))
                    }
                    None => return Err(missing(&format!("{pp}.type"))),
                }
            }
            Ok(texts.join("\n"))
        }
        Some(other) => Err(type_error(
            &param,
            "one of a string or array of objects",
            other,
        )),
    }
}

fn text_field(obj: &Map<String, Value>, pp: &str) -> Result<String, Invalid> {
    match obj.get("text") {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(missing(&format!("{pp}.text"))),
        Some(other) => Err(type_error(&format!("{pp}.text"), "a string", other)),
    }
}

fn user(m: &Map<String, Value>, p: &str, conv: &mut Conversation) -> Result<(), Invalid> {
    let param = format!("{p}.content");
    match m.get("content") {
        Some(Value::String(s)) => conv.push(Role::User, Part::Text(s.clone())),
        None | Some(Value::Null) => return Err(missing(&param)),
        Some(Value::Array(parts)) => {
            if parts.is_empty() {
                return Err(empty_array(&param));
            }
            for (j, part) in parts.iter().enumerate() {
                let pp = format!("{param}[{j}]");
                let obj = part
                    .as_object()
                    .ok_or_else(|| type_error(&pp, "an object", part))?;
                let piece = match obj.get("type").and_then(Value::as_str) {
                    Some("text") => Part::Text(text_field(obj, &pp)?),
                    Some("image_url") => {
                        let url = obj
                            .get("image_url")
                            .and_then(|u| u.get("url"))
                            .and_then(Value::as_str)
                            .ok_or_else(|| missing(&format!("{pp}.image_url.url")))?;
                        Part::Media(wire::media_id(url))
                    }
                    Some(kind @ ("input_audio" | "file")) => {
                        let inner = obj.get(kind).ok_or_else(|| missing(&format!("{pp}.{kind}")))?;
                        Part::Media(wire::media_id(&inner.to_string()))
                    }
                    Some(other) => {
                        return Err(Invalid::new(format!(
                            "Invalid value: '{other}'. Supported values are: 'text', 'image_url', 'input_audio', and 'file'."
                        ))
                        .param(format!("{pp}.type"))
                        .code("invalid_value"))
                    }
                    None => return Err(missing(&format!("{pp}.type"))),
                };
                conv.push(Role::User, piece);
            }
        }
        Some(other) => {
            return Err(type_error(
                &param,
                "one of a string or array of objects",
                other,
            ))
        }
    }
    Ok(())
}

/// An assistant message; returns the ids of its tool calls, if it made any.
fn assistant(
    m: &Map<String, Value>,
    p: &str,
    conv: &mut Conversation,
) -> Result<Option<Vec<String>>, Invalid> {
    let has_content = match m.get("content") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => {
            conv.push(Role::Assistant, Part::Text(s.clone()));
            true
        }
        Some(Value::Array(parts)) => {
            for (j, part) in parts.iter().enumerate() {
                let pp = format!("{p}.content[{j}]");
                let obj = part
                    .as_object()
                    .ok_or_else(|| type_error(&pp, "an object", part))?;
                match obj.get("type").and_then(Value::as_str) {
                    Some("text") => conv.push(Role::Assistant, Part::Text(text_field(obj, &pp)?)),
                    Some("refusal") => {}
                    _ => {
                        return Err(Invalid::new(format!(
                            "Invalid value for '{pp}.type'. Supported values are: 'text' and 'refusal'."
                        ))
                        .param(format!("{pp}.type"))
                        .code("invalid_value"))
                    }
                }
            }
            true
        }
        Some(other) => {
            return Err(type_error(
                &format!("{p}.content"),
                "one of a string or array of objects",
                other,
            ))
        }
    };
    let calls = match m.get("tool_calls") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(calls)) => calls.clone(),
        Some(other) => return Err(type_error(&format!("{p}.tool_calls"), "an array", other)),
    };
    if calls.is_empty() {
        if !has_content {
            return Err(
                Invalid::new("Invalid value for 'content': expected a string, got null.")
                    .param(format!("{p}.content")),
            );
        }
        return Ok(None);
    }
    let mut ids = Vec::new();
    for (j, call) in calls.iter().enumerate() {
        let cp = format!("{p}.tool_calls[{j}]");
        let c = call
            .as_object()
            .ok_or_else(|| type_error(&cp, "an object", call))?;
        let id = match c.get("id") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => return Err(missing(&format!("{cp}.id"))),
            Some(other) => return Err(type_error(&format!("{cp}.id"), "a string", other)),
        };
        match c.get("type") {
            Some(Value::String(t)) if t == "function" => {}
            None => return Err(missing(&format!("{cp}.type"))),
            Some(_) => {
                return Err(Invalid::new(format!(
                    "Invalid value for '{cp}.type'. Supported values are: 'function'."
                ))
                .param(format!("{cp}.type"))
                .code("invalid_value"))
            }
        }
        let f = c
            .get("function")
            .and_then(Value::as_object)
            .ok_or_else(|| missing(&format!("{cp}.function")))?;
        let name = match f.get("name") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(missing(&format!("{cp}.function.name"))),
        };
        let arguments = match f.get("arguments") {
            Some(Value::String(s)) => {
                serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
            }
            None | Some(Value::Null) => return Err(missing(&format!("{cp}.function.arguments"))),
            Some(other) => {
                return Err(type_error(
                    &format!("{cp}.function.arguments"),
                    "a string",
                    other,
                ))
            }
        };
        conv.push(
            Role::Assistant,
            Part::ToolCall {
                id: id.clone(),
                name,
                arguments,
            },
        );
        ids.push(id);
    }
    Ok(Some(ids))
}

fn tool(
    m: &Map<String, Value>,
    p: &str,
    i: usize,
    conv: &mut Conversation,
    open: Option<&mut OpenCalls>,
) -> Result<(), Invalid> {
    let id = match m.get("tool_call_id") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => return Err(missing(&format!("{p}.tool_call_id"))),
        Some(other) => return Err(type_error(&format!("{p}.tool_call_id"), "a string", other)),
    };
    let not_a_response = || {
        Invalid::new(
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
        )
        .param(format!("messages.[{i}].role"))
    };
    let calls = open.ok_or_else(not_a_response)?;
    if !calls.ids.contains(&id) {
        return Err(not_a_response());
    }
    calls.unanswered.retain(|u| u != &id);
    let content = text_content(m, p, true)?;
    let name = conv.tool_name_for(&id).unwrap_or_default();
    conv.push(Role::User, Part::ToolResult { id, name, content });
    Ok(())
}
