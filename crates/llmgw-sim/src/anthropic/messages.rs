//! Validation of Anthropic `messages`: alternating roles, content blocks and tool_use/tool_result pairing.

use serde_json::{Map, Value};

use crate::conversation::{Conversation, Part, Role};
use crate::wire;

const BLOCK_TAGS: &str =
    "'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'";

/// Parses and validates `messages` into `conv`; errors are `invalid_request_error` messages.
pub(crate) fn parse(msgs: &[Value], conv: &mut Conversation) -> Result<(), String> {
    // Tool-use ids of the previous assistant message, which the next user message must answer.
    let mut pending: Vec<String> = Vec::new();
    let mut previous: Option<&str> = None;
    for (i, message) in msgs.iter().enumerate() {
        let m = message
            .as_object()
            .ok_or_else(|| format!("messages.{i}: Input should be a valid dictionary"))?;
        if let Some(extra) = m
            .keys()
            .find(|k| !["role", "content"].contains(&k.as_str()))
        {
            return Err(format!(
                "messages.{i}.{extra}: Extra inputs are not permitted"
            ));
        }
        let role = match m.get("role").and_then(Value::as_str) {
            Some(r @ ("user" | "assistant")) => r,
            Some("system") => {
                return Err("messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.".into())
            }
            Some(_) => return Err(format!("messages.{i}.role: Input should be 'user' or 'assistant'")),
            None => return Err(format!("messages.{i}.role: Field required")),
        };
        if i == 0 && role != "user" {
            return Err("messages: first message must use the \"user\" role".into());
        }
        if previous == Some(role) {
            return Err(format!(
                "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row"
            ));
        }
        previous = Some(role);
        let is_final = i + 1 == msgs.len();
        let blocks = blocks_of(m, i, role == "assistant" && is_final)?;
        if role == "user" {
            user(&blocks, i, &mut pending, conv)?;
        } else {
            pending = assistant(&blocks, i, conv)?;
        }
        conv.messages += 1;
    }
    if msgs.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    Ok(())
}

/// The content of message `i` as blocks (a string becomes one text block).
fn blocks_of(
    m: &Map<String, Value>,
    i: usize,
    final_assistant: bool,
) -> Result<Vec<Value>, String> {
    let empty = || {
        format!("messages.{i}: all messages must have non-empty content except for the optional final assistant message")
    };
    match m.get("content") {
        None => Err(format!("messages.{i}.content: Field required")),
        Some(Value::String(s)) if s.is_empty() && !final_assistant => Err(empty()),
        Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![serde_json::json!({"type": "text", "text": s})]),
        Some(Value::Array(a)) if a.is_empty() && !final_assistant => Err(empty()),
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(_) => Err(format!(
            "messages.{i}.content: Input should be a valid list"
        )),
    }
}

fn text_of(block: &Map<String, Value>, at: &str) -> Result<String, String> {
    match block.get("text") {
        Some(Value::String(t)) if t.is_empty() => {
            Err("messages: text content blocks must be non-empty".into())
        }
        Some(Value::String(t)) => Ok(t.clone()),
        None => Err(format!("{at}.text: Field required")),
        Some(_) => Err(format!("{at}.text: Input should be a valid string")),
    }
}

fn media_of(block: &Map<String, Value>, at: &str) -> Result<Part, String> {
    let source = block
        .get("source")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{at}.source: Field required"))?;
    let key = match source.get("type").and_then(Value::as_str) {
        Some("base64") => source.get("data").and_then(Value::as_str),
        Some("url") => source.get("url").and_then(Value::as_str),
        Some("file") => source.get("file_id").and_then(Value::as_str),
        Some("text") | Some("content") => Some(""),
        _ => {
            return Err(format!(
                "{at}.source.type: Input should be 'base64', 'url' or 'file'"
            ))
        }
    }
    .ok_or_else(|| format!("{at}.source: Field required"))?;
    Ok(Part::Media(wire::media_id(key)))
}

fn user(
    blocks: &[Value],
    i: usize,
    pending: &mut Vec<String>,
    conv: &mut Conversation,
) -> Result<(), String> {
    let mut answered: Vec<String> = Vec::new();
    let mut seen_other = false;
    for (j, block) in blocks.iter().enumerate() {
        let at = format!("messages.{i}.content.{j}");
        let b = block
            .as_object()
            .ok_or_else(|| format!("{at}: Input should be a valid dictionary"))?;
        match b.get("type").and_then(Value::as_str) {
            Some("text") => {
                seen_other = true;
                conv.push(Role::User, Part::Text(text_of(b, &at)?));
            }
            Some("image") | Some("document") => {
                seen_other = true;
                conv.push(Role::User, media_of(b, &at)?);
            }
            Some("tool_result") => {
                if seen_other {
                    return Err(format!(
                        "messages.{i}: `tool_result` blocks must come first in the content array, before any other content"
                    ));
                }
                let id = b
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{at}.tool_use_id: Field required"))?;
                if !pending.iter().any(|p| p == id) {
                    return Err(format!(
                        "{at}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                    ));
                }
                let content = tool_result_text(b.get("content"), &at)?;
                let name = conv.tool_name_for(id).unwrap_or_default();
                conv.push(
                    Role::User,
                    Part::ToolResult {
                        id: id.to_string(),
                        name,
                        content,
                    },
                );
                answered.push(id.to_string());
            }
            Some("tool_use") | Some("thinking") | Some("redacted_thinking") => {
                return Err(format!("{at}: this content block type is only allowed in assistant messages"));
            }
            Some(other) => {
                return Err(format!(
                    "{at}: Input tag '{other}' found using 'type' does not match any of the expected tags: {BLOCK_TAGS}"
                ))
            }
            None => return Err(format!("{at}.type: Field required")),
        }
    }
    let missing: Vec<&String> = pending.iter().filter(|p| !answered.contains(p)).collect();
    if !missing.is_empty() {
        return Err(format!(
            "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
            missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    pending.clear();
    Ok(())
}

fn tool_result_text(content: Option<&Value>, at: &str) -> Result<String, String> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(items)) => {
            let mut texts = Vec::new();
            for (k, item) in items.iter().enumerate() {
                match item.get("type").and_then(Value::as_str) {
                    Some("text") => texts.push(item.get("text").and_then(Value::as_str).unwrap_or_default().to_string()),
                    Some("image") | Some("document") | Some("search_result") => {}
                    _ => return Err(format!("{at}.content.{k}.type: Input should be 'text', 'image', 'document' or 'search_result'")),
                }
            }
            Ok(texts.join("\n"))
        }
        Some(_) => Err(format!(
            "{at}.content: Input should be a valid string or list"
        )),
    }
}

/// An assistant message; returns the ids of its tool_use blocks.
fn assistant(blocks: &[Value], i: usize, conv: &mut Conversation) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    for (j, block) in blocks.iter().enumerate() {
        let at = format!("messages.{i}.content.{j}");
        let b = block
            .as_object()
            .ok_or_else(|| format!("{at}: Input should be a valid dictionary"))?;
        match b.get("type").and_then(Value::as_str) {
            Some("text") => conv.push(Role::Assistant, Part::Text(text_of(b, &at)?)),
            Some("thinking") | Some("redacted_thinking") => {}
            Some("tool_use") => {
                let id = b
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{at}.id: Field required"))?;
                let name = b
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{at}.name: Field required"))?;
                let input = match b.get("input") {
                    Some(v @ Value::Object(_)) => v.clone(),
                    None => return Err(format!("{at}.input: Field required")),
                    Some(_) => return Err(format!("{at}.input: Input should be a valid dictionary")),
                };
                conv.push(
                    Role::Assistant,
                    Part::ToolCall {
                        id: id.to_string(),
                        name: name.to_string(),
                        arguments: input,
                    },
                );
                ids.push(id.to_string());
            }
            Some("tool_result") | Some("image") | Some("document") => {
                return Err(format!("{at}: this content block type is only allowed in user messages"));
            }
            Some(other) => {
                return Err(format!(
                    "{at}: Input tag '{other}' found using 'type' does not match any of the expected tags: {BLOCK_TAGS}"
                ))
            }
            None => return Err(format!("{at}.type: Field required")),
        }
    }
    Ok(ids)
}
