//! OpenAI chat request -> Anthropic Messages request.

use super::wire::{ContentBlock, Message, MessagesRequest, Metadata, Source, Tool, ToolChoice};
use crate::args::parse_arguments;
use crate::{DataUrl, Result, TranslateError};
use llmgw_types::{
    ChatCompletionRequest, ChatMessage, ContentPart, ResponseFormat, Role,
    ToolChoice as OaToolChoice, ToolChoiceMode,
};
use serde_json::{json, Value};

/// The instruction appended to the system prompt for `response_format: json_object`
/// (Anthropic has no JSON mode).
pub const JSON_MODE_INSTRUCTION: &str = "Respond only with a single valid JSON object. \
Do not write any text, explanation or markdown code fence before or after the JSON.";

/// Description of the tool that carries a `json_schema` answer when the schema has none.
const JSON_TOOL_DESCRIPTION: &str = "Give the final answer as a JSON object matching this schema.";

/// For `response_format: json_schema` with a schema and no tools of the client's own, the
/// answer is requested as a forced call of a tool whose input schema is the JSON schema
/// (Anthropic then guarantees the shape); this is that tool's name. Responses and streams
/// translated with the same name turn the call back into JSON text.
pub fn json_tool_name(req: &ChatCompletionRequest) -> Option<String> {
    if req.has_tools() {
        return None;
    }
    let Some(ResponseFormat::JsonSchema { json_schema }) = &req.response_format else {
        return None;
    };
    json_schema.schema.as_ref()?;
    let name = &json_schema.name;
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    Some(if valid {
        name.clone()
    } else {
        "json_response".to_string()
    })
}

/// Text of the user turn inserted when a conversation starts with an assistant turn.
const LEADING_USER_TURN: &str = "(continue)";

/// `max_tokens` sent when the request sets no limit: the model family's usual output limit.
pub fn default_max_tokens(model: &str) -> u32 {
    let m = model.to_ascii_lowercase();
    if m.starts_with("claude-3-5") || m.starts_with("claude-3.5") || m.starts_with("claude-3-7") {
        8192
    } else if m.starts_with("claude-3")
        || m.starts_with("claude-2")
        || m.starts_with("claude-instant")
    {
        4096
    } else {
        8192
    }
}

/// Translates an OpenAI request (its `model` already the upstream name) into an Anthropic
/// Messages request. `default_max_tokens_override` is used when the request sets no limit
/// (else [`default_max_tokens`]).
pub fn to_anthropic_request(
    req: &ChatCompletionRequest,
    default_max_tokens_override: Option<u32>,
) -> Result<MessagesRequest> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::invalid_request(
            "anthropic models return one choice per request; `n` greater than 1 is not supported",
            "n",
        ));
    }
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<Message> = Vec::new();
    for (i, msg) in req.messages.iter().enumerate() {
        match msg.role {
            Role::System | Role::Developer => {
                let text = msg.text();
                if !text.trim().is_empty() {
                    system.push(text);
                }
            }
            Role::User => push_turn(&mut turns, "user", user_blocks(msg, i)?),
            Role::Assistant => push_turn(&mut turns, "assistant", assistant_blocks(msg, i)?),
            Role::Tool => push_turn(&mut turns, "user", vec![tool_result_block(msg, i)?]),
        }
    }
    if turns.is_empty() {
        return Err(TranslateError::invalid_request(
            "`messages` must contain at least one user message",
            "messages",
        ));
    }
    if turns.first().is_some_and(|t| t.role != "user") {
        turns.insert(
            0,
            Message {
                role: "user".into(),
                content: vec![ContentBlock::Text {
                    text: LEADING_USER_TURN.into(),
                }],
            },
        );
    }
    for turn in turns.iter_mut().filter(|t| t.role == "user") {
        // Anthropic wants tool results before any other block of a user turn.
        turn.content
            .sort_by_key(|b| !matches!(b, ContentBlock::ToolResult { .. }));
    }
    let json_tool = json_tool_name(req);
    if json_tool.is_none() {
        if let Some(instruction) = req.response_format.as_ref().and_then(json_instruction) {
            system.push(instruction);
        }
    }
    let (tools, tool_choice) = match (&json_tool, &req.response_format) {
        (Some(name), Some(ResponseFormat::JsonSchema { json_schema })) => (
            Some(vec![Tool {
                name: name.clone(),
                description: Some(
                    json_schema
                        .description
                        .clone()
                        .unwrap_or_else(|| JSON_TOOL_DESCRIPTION.to_string()),
                ),
                input_schema: input_schema(json_schema.schema.as_ref()),
            }]),
            Some(ToolChoice {
                kind: "tool".into(),
                name: Some(name.clone()),
                disable_parallel_tool_use: None,
            }),
        ),
        _ => {
            let tools = req.tools.as_ref().filter(|t| !t.is_empty()).map(|tools| {
                tools
                    .iter()
                    .map(|t| Tool {
                        name: t.function.name.clone(),
                        description: t.function.description.clone(),
                        input_schema: input_schema(t.function.parameters.as_ref()),
                    })
                    .collect::<Vec<_>>()
            });
            let choice = if tools.is_some() {
                tool_choice(req.tool_choice.as_ref(), req.parallel_tool_calls)
            } else {
                None
            };
            (tools, choice)
        }
    };
    let stop: Vec<String> = req
        .stop_sequences()
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect();
    Ok(MessagesRequest {
        model: req.model.clone(),
        messages: turns,
        max_tokens: req
            .output_token_limit()
            .or(default_max_tokens_override)
            .unwrap_or_else(|| default_max_tokens(&req.model)),
        system: (!system.is_empty()).then(|| system.join("\n\n")),
        stop_sequences: (!stop.is_empty()).then_some(stop),
        temperature: req.temperature.map(|t| t.clamp(0.0, 1.0)),
        top_p: req.top_p,
        stream: req.is_stream().then_some(true),
        tools,
        tool_choice,
        metadata: req.user.as_ref().map(|u| Metadata { user_id: u.clone() }),
    })
}

/// Appends blocks as a turn, merging into the previous turn when the role repeats.
fn push_turn(turns: &mut Vec<Message>, role: &str, blocks: Vec<ContentBlock>) {
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some(last) if last.role == role => last.content.extend(blocks),
        _ => turns.push(Message {
            role: role.to_string(),
            content: blocks,
        }),
    }
}

fn user_blocks(msg: &ChatMessage, i: usize) -> Result<Vec<ContentBlock>> {
    msg.parts()
        .iter()
        .enumerate()
        .filter_map(|(j, p)| part_block(p, &format!("messages[{i}].content[{j}]")).transpose())
        .collect()
}

/// One content part as a block; `None` for parts that carry nothing (empty text).
fn part_block(part: &ContentPart, param: &str) -> Result<Option<ContentBlock>> {
    Ok(match part {
        ContentPart::Text { text } | ContentPart::Refusal { refusal: text } => {
            (!text.is_empty()).then(|| ContentBlock::Text { text: text.clone() })
        }
        ContentPart::ImageUrl { image_url } => Some(ContentBlock::Image {
            source: match DataUrl::parse(&image_url.url) {
                Some(d) => Source::Base64 {
                    media_type: d.media_type,
                    data: d.data,
                },
                None if image_url.url.starts_with("http://")
                    || image_url.url.starts_with("https://") =>
                {
                    Source::Url {
                        url: image_url.url.clone(),
                    }
                }
                None => {
                    return Err(TranslateError::invalid_request(
                        "image_url.url must be an http(s) URL or a base64 data URL",
                        param,
                    ))
                }
            },
        }),
        ContentPart::File { file } => match file.file_data.as_deref().and_then(DataUrl::parse) {
            Some(d) if d.media_type == "application/pdf" => Some(ContentBlock::Document {
                source: Source::Base64 {
                    media_type: d.media_type,
                    data: d.data,
                },
            }),
            _ => {
                return Err(TranslateError::invalid_request(
                    "anthropic accepts file parts only as base64 PDF data URLs in `file_data`",
                    param,
                ))
            }
        },
        ContentPart::InputAudio { .. } => {
            return Err(TranslateError::invalid_request(
                "anthropic models do not accept audio input",
                param,
            ))
        }
    })
}

fn assistant_blocks(msg: &ChatMessage, i: usize) -> Result<Vec<ContentBlock>> {
    let mut blocks = Vec::new();
    for (j, part) in msg.parts().iter().enumerate() {
        match part {
            ContentPart::Text { .. } | ContentPart::Refusal { .. } => {
                blocks.extend(part_block(part, &format!("messages[{i}].content[{j}]"))?);
            }
            _ => {
                return Err(TranslateError::invalid_request(
                    "assistant messages may only contain text",
                    format!("messages[{i}].content[{j}]"),
                ))
            }
        }
    }
    if let Some(refusal) = msg.refusal.as_ref().filter(|r| !r.is_empty()) {
        blocks.push(ContentBlock::Text {
            text: refusal.clone(),
        });
    }
    for (j, call) in msg.tool_calls.iter().flatten().enumerate() {
        let param = format!("messages[{i}].tool_calls[{j}].function.arguments");
        blocks.push(ContentBlock::ToolUse {
            id: call.id.clone(),
            name: call.function.name.clone(),
            input: parse_arguments(&call.function.arguments, &param)?,
        });
    }
    Ok(blocks)
}

fn tool_result_block(msg: &ChatMessage, i: usize) -> Result<ContentBlock> {
    let Some(id) = msg.tool_call_id.clone() else {
        return Err(TranslateError::invalid_request(
            "tool messages need `tool_call_id`",
            format!("messages[{i}].tool_call_id"),
        ));
    };
    let mut content = Vec::new();
    for (j, part) in msg.parts().iter().enumerate() {
        let param = format!("messages[{i}].content[{j}]");
        match part {
            ContentPart::Text { .. } | ContentPart::ImageUrl { .. } => {
                content.extend(part_block(part, &param)?)
            }
            _ => {
                return Err(TranslateError::invalid_request(
                    "tool results may only contain text and images",
                    param,
                ))
            }
        }
    }
    Ok(ContentBlock::ToolResult {
        tool_use_id: id,
        content,
        is_error: None,
    })
}

/// The tool's parameters schema as an `input_schema` (always an object schema).
fn input_schema(parameters: Option<&Value>) -> Value {
    match parameters {
        Some(Value::Object(map)) if !map.is_empty() => {
            let mut map = map.clone();
            map.entry("type").or_insert_with(|| json!("object"));
            Value::Object(map)
        }
        _ => json!({"type": "object", "properties": {}}),
    }
}

fn tool_choice(choice: Option<&OaToolChoice>, parallel: Option<bool>) -> Option<ToolChoice> {
    let disable_parallel = (parallel == Some(false)).then_some(true);
    let (kind, name) = match choice {
        None if disable_parallel.is_none() => return None,
        None | Some(OaToolChoice::Mode(ToolChoiceMode::Auto)) => ("auto", None),
        Some(OaToolChoice::Mode(ToolChoiceMode::None)) => {
            return Some(ToolChoice {
                kind: "none".into(),
                name: None,
                disable_parallel_tool_use: None,
            })
        }
        Some(OaToolChoice::Mode(ToolChoiceMode::Required)) => ("any", None),
        Some(OaToolChoice::Named(n)) => ("tool", Some(n.function.name.clone())),
    };
    Some(ToolChoice {
        kind: kind.into(),
        name,
        disable_parallel_tool_use: disable_parallel,
    })
}

/// The system instruction that stands in for `response_format`.
fn json_instruction(format: &ResponseFormat) -> Option<String> {
    match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(JSON_MODE_INSTRUCTION.to_string()),
        ResponseFormat::JsonSchema { json_schema } => {
            let mut s = JSON_MODE_INSTRUCTION.to_string();
            if let Some(schema) = &json_schema.schema {
                s.push_str(" The JSON object must match this JSON Schema: ");
                s.push_str(&schema.to_string());
            }
            Some(s)
        }
    }
}
