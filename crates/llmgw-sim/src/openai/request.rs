//! Parsing and validation of an OpenAI chat-completions request body.

use serde_json::{Map, Value};

use super::error::Invalid;
use super::messages::{self, empty_array, missing, type_error};
use crate::conversation::{Conversation, Format, ToolChoice, ToolDef};
use crate::wire;

/// Every top-level parameter the chat-completions endpoint accepts; anything else is refused.
const KNOWN: &[&str] = &[
    "model",
    "messages",
    "audio",
    "frequency_penalty",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "max_completion_tokens",
    "max_tokens",
    "metadata",
    "modalities",
    "n",
    "parallel_tool_calls",
    "prediction",
    "presence_penalty",
    "prompt_cache_key",
    "reasoning_effort",
    "response_format",
    "safety_identifier",
    "seed",
    "service_tier",
    "stop",
    "store",
    "stream",
    "stream_options",
    "temperature",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "user",
    "verbosity",
    "web_search_options",
];

const PARSE_ERROR: &str = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";

/// A validated chat-completions request.
#[derive(Debug, Clone)]
pub(crate) struct ChatRequest {
    pub model: String,
    pub conv: Conversation,
    pub stream: bool,
    pub include_usage: bool,
    pub n: u32,
}

/// The `model` field of a body, if it can be read (for request accounting before validation).
pub(crate) fn model_of(body: &Value) -> Option<String> {
    body.get("model")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Parses and validates a request body.
pub(crate) fn parse(body: &Value) -> Result<ChatRequest, Invalid> {
    let obj = match body {
        Value::Object(o) => o,
        Value::Null => return Err(Invalid::new(PARSE_ERROR)),
        other => return Err(type_error("body", "an object", other)),
    };
    if let Some(unknown) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(Invalid::new(format!(
            "Unrecognized request argument supplied: {unknown}"
        )));
    }
    let model = match obj.get("model") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Err(Invalid::new("you must provide a model parameter"))
        }
        Some(other) => return Err(type_error("model", "a string", other)),
    };
    let msgs = match obj.get("messages") {
        Some(Value::Array(a)) if a.is_empty() => return Err(empty_array("messages")),
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(other) => return Err(type_error("messages", "an array", other)),
    };
    let mut conv = Conversation::default();
    messages::parse(msgs, &mut conv)?;

    number(obj, "temperature", 0.0, 2.0)?;
    number(obj, "top_p", 0.0, 1.0)?;
    number(obj, "presence_penalty", -2.0, 2.0)?;
    number(obj, "frequency_penalty", -2.0, 2.0)?;
    integer(obj, "seed", i64::MIN, i64::MAX)?;
    let n = integer(obj, "n", 1, 128)?.unwrap_or(1) as u32;
    let max_tokens = integer(obj, "max_tokens", 1, i64::from(u32::MAX))?;
    let max_completion = integer(obj, "max_completion_tokens", 1, i64::from(u32::MAX))?;
    conv.max_tokens = max_completion.or(max_tokens).map(|v| v as u32);
    conv.stop = stop(obj)?;
    if let Some(u) = obj.get("user").filter(|u| !u.is_null() && !u.is_string()) {
        return Err(type_error("user", "a string", u));
    }

    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(type_error("stream", "a boolean", other)),
    };
    let include_usage = match obj.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(_) if !stream => {
            return Err(Invalid::new(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            )
            .param("stream_options"))
        }
        Some(Value::Object(o)) => match o.get("include_usage") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(type_error(
                    "stream_options.include_usage",
                    "a boolean",
                    other,
                ))
            }
        },
        Some(other) => return Err(type_error("stream_options", "an object", other)),
    };

    conv.tools = tools(obj)?;
    conv.tool_choice = tool_choice(obj, &conv.tools)?;
    match obj.get("parallel_tool_calls") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(_)) if conv.tools.is_empty() => {
            return Err(Invalid::new(
                "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.",
            )
            .param("parallel_tool_calls"))
        }
        Some(Value::Bool(b)) => conv.parallel_tool_calls = *b,
        Some(other) => return Err(type_error("parallel_tool_calls", "a boolean", other)),
    }
    conv.format = response_format(obj, msgs)?;
    Ok(ChatRequest {
        model,
        conv,
        stream,
        include_usage,
        n,
    })
}

fn number(obj: &Map<String, Value>, key: &str, lo: f64, hi: f64) -> Result<Option<f64>, Invalid> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let v = n.as_f64().unwrap_or(f64::NAN);
            if v < lo {
                Err(Invalid::new(format!(
                    "Invalid '{key}': decimal below minimum value. Expected a value >= {lo}, but got {v} instead."
                ))
                .param(key)
                .code("decimal_below_min_value"))
            } else if v > hi {
                Err(Invalid::new(format!(
                    "Invalid '{key}': decimal above maximum value. Expected a value <= {hi}, but got {v} instead."
                ))
                .param(key)
                .code("decimal_above_max_value"))
            } else {
                Ok(Some(v))
            }
        }
        Some(other) => Err(type_error(key, "a decimal", other)),
    }
}

fn integer(obj: &Map<String, Value>, key: &str, lo: i64, hi: i64) -> Result<Option<i64>, Invalid> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
            let v = n.as_i64().unwrap_or(i64::MAX);
            if v < lo {
                Err(Invalid::new(format!(
                    "Invalid '{key}': integer below minimum value. Expected a value >= {lo}, but got {v} instead."
                ))
                .param(key)
                .code("integer_below_min_value"))
            } else if v > hi {
                Err(Invalid::new(format!(
                    "Invalid '{key}': integer above maximum value. Expected a value <= {hi}, but got {v} instead."
                ))
                .param(key)
                .code("integer_above_max_value"))
            } else {
                Ok(Some(v))
            }
        }
        Some(other) => Err(type_error(key, "an integer", other)),
    }
}

fn stop(obj: &Map<String, Value>) -> Result<Vec<String>, Invalid> {
    match obj.get("stop") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => {
            if items.len() > 4 {
                return Err(Invalid::new(format!(
                    "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length {} instead.",
                    items.len()
                ))
                .param("stop")
                .code("array_above_max_length"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    s.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| type_error(&format!("stop[{i}]"), "a string", s))
                })
                .collect()
        }
        Some(other) => Err(type_error(
            "stop",
            "one of a string or array of strings",
            other,
        )),
    }
}

fn tools(obj: &Map<String, Value>) -> Result<Vec<ToolDef>, Invalid> {
    let list = match obj.get("tools") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) if a.is_empty() => return Err(empty_array("tools")),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(type_error("tools", "an array", other)),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, tool) in list.iter().enumerate() {
        let p = format!("tools[{i}]");
        let t = tool
            .as_object()
            .ok_or_else(|| type_error(&p, "an object", tool))?;
        match t.get("type").and_then(Value::as_str) {
            Some("function") => {}
            Some(other) => {
                return Err(Invalid::new(format!(
                    "Invalid value: '{other}'. Supported values are: 'function'."
                ))
                .param(format!("{p}.type"))
                .code("invalid_value"))
            }
            None => return Err(missing(&format!("{p}.type"))),
        }
        let f = match t.get("function") {
            Some(Value::Object(f)) => f,
            None | Some(Value::Null) => return Err(missing(&format!("{p}.function"))),
            Some(other) => return Err(type_error(&format!("{p}.function"), "an object", other)),
        };
        let name = match f.get("name") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => return Err(missing(&format!("{p}.function.name"))),
            Some(other) => {
                return Err(type_error(&format!("{p}.function.name"), "a string", other))
            }
        };
        if !wire::valid_tool_name(&name, 64) {
            return Err(Invalid::new(format!(
                "Invalid '{p}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'."
            ))
            .param(format!("{p}.function.name"))
            .code("invalid_value"));
        }
        let parameters = match f.get("parameters") {
            None | Some(Value::Null) => Value::Null,
            Some(v @ Value::Object(_)) => v.clone(),
            Some(other) => {
                return Err(type_error(
                    &format!("{p}.function.parameters"),
                    "an object",
                    other,
                ))
            }
        };
        let description = f
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        out.push(ToolDef {
            name,
            description,
            parameters,
        });
    }
    Ok(out)
}

fn tool_choice(obj: &Map<String, Value>, tools: &[ToolDef]) -> Result<ToolChoice, Invalid> {
    let choice = match obj.get("tool_choice") {
        None | Some(Value::Null) => return Ok(ToolChoice::Auto),
        Some(c) => c,
    };
    if tools.is_empty() {
        return Err(Invalid::new(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
        )
        .param("tool_choice"));
    }
    match choice {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(Invalid::new(format!(
                "Invalid value: '{other}'. Supported values are: 'none', 'auto', and 'required'."
            ))
            .param("tool_choice")
            .code("invalid_value")),
        },
        Value::Object(o) => {
            if o.get("type").and_then(Value::as_str) != Some("function") {
                return Err(missing("tool_choice.type"));
            }
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| missing("tool_choice.function.name"))?;
            if !tools.iter().any(|t| t.name == name) {
                return Err(Invalid::new(format!(
                    "Invalid value for 'tool_choice': function '{name}' is not one of the functions in 'tools'."
                ))
                .param("tool_choice"));
            }
            Ok(ToolChoice::Named(name.to_string()))
        }
        other => Err(type_error(
            "tool_choice",
            "one of a string or object",
            other,
        )),
    }
}

fn response_format(obj: &Map<String, Value>, msgs: &[Value]) -> Result<Format, Invalid> {
    let rf = match obj.get("response_format") {
        None | Some(Value::Null) => return Ok(Format::Text),
        Some(Value::Object(o)) => o,
        Some(other) => return Err(type_error("response_format", "an object", other)),
    };
    match rf.get("type").and_then(Value::as_str) {
        Some("text") => Ok(Format::Text),
        Some("json_object") => {
            let mentions_json = msgs.iter().any(|m| {
                m.get("content")
                    .map(|c| c.to_string().to_ascii_lowercase().contains("json"))
                    .unwrap_or(false)
            });
            if !mentions_json {
                return Err(Invalid::new(
                    "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
                )
                .param("messages"));
            }
            Ok(Format::JsonObject)
        }
        Some("json_schema") => {
            let js = match rf.get("json_schema") {
                Some(Value::Object(js)) => js,
                None | Some(Value::Null) => return Err(missing("response_format.json_schema")),
                Some(other) => {
                    return Err(type_error("response_format.json_schema", "an object", other))
                }
            };
            match js.get("name") {
                Some(Value::String(n)) if wire::valid_tool_name(n, 64) => {}
                None | Some(Value::Null) => {
                    return Err(missing("response_format.json_schema.name"))
                }
                Some(_) => {
                    return Err(Invalid::new(
                        "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                    )
                    .param("response_format.json_schema.name")
                    .code("invalid_value"))
                }
            }
            let schema = js
                .get("schema")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({"type": "object"}));
            Ok(Format::JsonSchema(schema))
        }
        Some(other) => Err(Invalid::new(format!(
            "Invalid value: '{other}'. Supported values are: 'text', 'json_object', and 'json_schema'."
        ))
        .param("response_format.type")
        .code("invalid_value")),
        None => Err(missing("response_format.type")),
    }
}
