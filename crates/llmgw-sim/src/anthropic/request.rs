//! Parsing and validation of an Anthropic Messages API request body.

use serde_json::{Map, Value};

use super::messages;
use crate::conversation::{Conversation, ToolChoice, ToolDef};
use crate::wire;

/// Every top-level field the Messages API accepts; anything else is refused.
const KNOWN: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "system",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_k",
    "top_p",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
];

/// A validated Messages API request.
#[derive(Debug, Clone)]
pub(crate) struct MessagesRequest {
    pub model: String,
    pub conv: Conversation,
    pub stream: bool,
}

/// The `model` field of a body, if it can be read.
pub(crate) fn model_of(body: &Value) -> Option<String> {
    body.get("model")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Parses and validates a request body; the error is the `invalid_request_error` message.
pub(crate) fn parse(body: &Value) -> Result<MessagesRequest, String> {
    let obj = match body {
        Value::Object(o) => o,
        Value::Null => {
            return Err(
                "There was an error parsing the body of your request: expected a JSON object."
                    .into(),
            )
        }
        _ => return Err("Input should be a valid dictionary or object".into()),
    };
    if let Some(extra) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("{extra}: Extra inputs are not permitted"));
    }
    let model = match obj.get("model") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        None => return Err("model: Field required".into()),
        Some(_) => return Err("model: Input should be a valid string".into()),
    };
    let max_tokens = match obj.get("max_tokens") {
        None => return Err("max_tokens: Field required".into()),
        Some(Value::Number(n)) if n.is_u64() => match n.as_u64() {
            Some(0) => return Err("max_tokens: Input should be greater than or equal to 1".into()),
            Some(v) => u32::try_from(v).unwrap_or(u32::MAX),
            None => return Err("max_tokens: Input should be a valid integer".into()),
        },
        Some(Value::Number(n)) if n.is_i64() => {
            return Err("max_tokens: Input should be greater than or equal to 1".into())
        }
        Some(_) => return Err("max_tokens: Input should be a valid integer".into()),
    };
    let msgs = match obj.get("messages") {
        None => return Err("messages: Field required".into()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("messages: Input should be a valid list".into()),
    };
    let mut conv = Conversation {
        max_tokens: Some(max_tokens),
        ..Conversation::default()
    };
    conv.system = system(obj.get("system"))?;
    messages::parse(msgs, &mut conv)?;
    range(obj, "temperature", 0.0, 1.0)?;
    range(obj, "top_p", 0.0, 1.0)?;
    if let Some(k) = obj.get("top_k").filter(|k| !k.is_null()) {
        if k.as_u64().is_none() {
            return Err("top_k: Input should be a valid integer greater than or equal to 0".into());
        }
    }
    conv.stop = match obj.get("stop_sequences") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("stop_sequences.{i}: Input should be a valid string"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("stop_sequences: Input should be a valid list".into()),
    };
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("stream: Input should be a valid boolean".into()),
    };
    if let Some(m) = obj.get("metadata") {
        if !m.is_object() {
            return Err("metadata: Input should be a valid dictionary".into());
        }
    }
    conv.tools = tools(obj.get("tools"))?;
    tool_choice(obj.get("tool_choice"), &mut conv)?;
    Ok(MessagesRequest {
        model,
        conv,
        stream,
    })
}

fn range(obj: &Map<String, Value>, key: &str, lo: f64, hi: f64) -> Result<(), String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Number(n)) => {
            let v = n.as_f64().unwrap_or(f64::NAN);
            if v < lo {
                Err(format!(
                    "{key}: Input should be greater than or equal to {lo}"
                ))
            } else if v > hi {
                Err(format!("{key}: Input should be less than or equal to {hi}"))
            } else {
                Ok(())
            }
        }
        Some(_) => Err(format!("{key}: Input should be a valid number")),
    }
}

fn system(value: Option<&Value>) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if b.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(format!("system.{i}.type: Input should be 'text'"));
                }
                match b.get("text") {
                    Some(Value::String(t)) if !t.is_empty() => Ok(t.clone()),
                    Some(Value::String(_)) => {
                        Err("system: text content blocks must be non-empty".to_string())
                    }
                    _ => Err(format!("system.{i}.text: Field required")),
                }
            })
            .collect(),
        Some(_) => Err("system: Input should be a valid string or a list of text blocks".into()),
    }
}

fn tools(value: Option<&Value>) -> Result<Vec<ToolDef>, String> {
    let list = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("tools: Input should be a valid list".into()),
    };
    let mut out = Vec::new();
    for (i, tool) in list.iter().enumerate() {
        let t = tool
            .as_object()
            .ok_or_else(|| format!("tools.{i}: Input should be a valid dictionary"))?;
        let name = match t.get("name") {
            Some(Value::String(n)) => n.clone(),
            None => return Err(format!("tools.{i}.name: Field required")),
            Some(_) => return Err(format!("tools.{i}.name: Input should be a valid string")),
        };
        match t.get("type").and_then(Value::as_str) {
            None | Some("custom") => {}
            // Server tools (web search, code execution, ...) run on the provider's side.
            Some(_) => continue,
        }
        if !wire::valid_tool_name(&name, 128) {
            return Err(format!(
                "tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
            ));
        }
        let schema = match t.get("input_schema") {
            Some(s @ Value::Object(_)) => s.clone(),
            None => return Err(format!("tools.{i}.custom.input_schema: Field required")),
            Some(_) => {
                return Err(format!(
                    "tools.{i}.custom.input_schema: Input should be a valid dictionary"
                ))
            }
        };
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(format!(
                "tools.{i}.custom.input_schema.type: Input should be 'object'"
            ));
        }
        if let Some(extra) = t.keys().find(|k| {
            ![
                "name",
                "description",
                "input_schema",
                "type",
                "cache_control",
            ]
            .contains(&k.as_str())
        }) {
            return Err(format!(
                "tools.{i}.custom.{extra}: Extra inputs are not permitted"
            ));
        }
        out.push(ToolDef {
            name,
            description: t
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            parameters: schema,
        });
    }
    Ok(out)
}

fn tool_choice(value: Option<&Value>, conv: &mut Conversation) -> Result<(), String> {
    let tc = match value {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(o)) => o,
        Some(_) => return Err("tool_choice: Input should be a valid dictionary".into()),
    };
    if let Some(disable) = tc.get("disable_parallel_tool_use") {
        match disable {
            Value::Bool(b) => conv.parallel_tool_calls = !b,
            _ => {
                return Err(
                    "tool_choice.disable_parallel_tool_use: Input should be a valid boolean".into(),
                )
            }
        }
    }
    conv.tool_choice = match tc.get("type").and_then(Value::as_str) {
        Some("auto") => ToolChoice::Auto,
        Some("any") => ToolChoice::Required,
        Some("none") => ToolChoice::None,
        Some("tool") => {
            let name = tc
                .get("name")
                .and_then(Value::as_str)
                .ok_or("tool_choice.tool.name: Field required")?;
            if !conv.tools.iter().any(|t| t.name == name) {
                return Err(format!(
                    "tool_choice: tool '{name}' was not found in the provided tools"
                ));
            }
            ToolChoice::Named(name.to_string())
        }
        Some(other) => {
            return Err(format!(
                "tool_choice: Input tag '{other}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
            ))
        }
        None => return Err("tool_choice.type: Field required".into()),
    };
    if conv.tools.is_empty() && matches!(conv.tool_choice, ToolChoice::Required) {
        return Err("tool_choice: 'any' requires at least one tool in 'tools'".into());
    }
    Ok(())
}
