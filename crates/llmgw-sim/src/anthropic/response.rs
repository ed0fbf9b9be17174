//! Anthropic Messages responses: the `message` object and the SSE event stream
//! (`message_start`, `content_block_start`, `ping`, `content_block_delta`, `content_block_stop`,
//! `message_delta`, `message_stop`).

use serde_json::{json, Value};

use crate::answer::{Finish, Reply, Usage};
use crate::stream::{Frame, Kind};
use crate::tokens;

/// Longest text delta, in characters.
const TEXT_PIECE: usize = 16;
/// Longest `input_json_delta`, in characters.
const ARGS_PIECE: usize = 6;

/// Identity of a response.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub id: String,
    pub model: String,
}

/// A content block of the answer.
enum Block<'a> {
    Text(String),
    ToolUse(&'a crate::answer::ToolCall),
}

/// Anthropic's tool_use id for a reply's call.
pub(crate) fn tool_id(seed: &str) -> String {
    let tail: String = seed.chars().take(22).collect();
    format!("toolu_01{tail}")
}

/// The short text Claude writes before its tool calls.
fn preamble(reply: &Reply) -> Option<String> {
    let names: Vec<&str> = reply.tool_calls.iter().map(|c| c.name.as_str()).collect();
    match names.as_slice() {
        [] => None,
        [one] => Some(format!("I'll use the {one} tool to help with that.")),
        many => Some(format!("I'll use these tools: {}.", many.join(", "))),
    }
}

fn blocks(reply: &Reply) -> Vec<Block<'_>> {
    let mut out = Vec::new();
    if let Some(p) = preamble(reply) {
        out.push(Block::Text(p));
    } else if !reply.text.is_empty() {
        out.push(Block::Text(reply.text.clone()));
    }
    out.extend(reply.tool_calls.iter().map(Block::ToolUse));
    out
}

/// Output tokens: the reply plus the preamble before tool calls.
pub(crate) fn output_tokens(reply: &Reply, usage: &Usage) -> u32 {
    usage.completion + preamble(reply).map_or(0, |p| tokens::count(&p))
}

fn stop(reply: &Reply) -> (&'static str, Value) {
    match &reply.finish {
        Finish::Stop => ("end_turn", Value::Null),
        Finish::Length => ("max_tokens", Value::Null),
        Finish::ToolCalls => ("tool_use", Value::Null),
        Finish::StopSequence(s) => ("stop_sequence", Value::String(s.clone())),
    }
}

fn usage_json(usage: &Usage, output: u32) -> Value {
    json!({
        "input_tokens": usage.prompt - usage.cached,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached,
        "output_tokens": output,
        "service_tier": "standard"
    })
}

/// The non-streaming `message` object.
pub(crate) fn message(meta: &Meta, reply: &Reply, usage: &Usage) -> Value {
    let content: Vec<Value> = blocks(reply)
        .into_iter()
        .map(|b| match b {
            Block::Text(t) => json!({"type": "text", "text": t}),
            Block::ToolUse(c) => json!({
                "type": "tool_use", "id": tool_id(&c.id_seed), "name": c.name, "input": c.arguments
            }),
        })
        .collect();
    let (stop_reason, stop_sequence) = stop(reply);
    json!({
        "id": meta.id,
        "type": "message",
        "role": "assistant",
        "model": meta.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage_json(usage, output_tokens(reply, usage))
    })
}

fn event(name: &str, data: &Value, kind: Kind) -> Frame {
    Frame::sse(Some(name), &data.to_string(), "\n", kind)
}

/// The SSE events of a streamed answer.
pub(crate) fn events(meta: &Meta, reply: &Reply, usage: &Usage) -> Vec<Frame> {
    let start_usage = json!({
        "input_tokens": usage.prompt - usage.cached,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached,
        "output_tokens": 1,
        "service_tier": "standard"
    });
    let start = json!({"type": "message_start", "message": {
        "id": meta.id, "type": "message", "role": "assistant", "model": meta.model,
        "content": [], "stop_reason": null, "stop_sequence": null, "usage": start_usage
    }});
    let mut frames = vec![event("message_start", &start, Kind::Structural)];
    let ping = || event("ping", &json!({"type": "ping"}), Kind::Structural);
    let all = blocks(reply);
    if all.is_empty() {
        frames.push(ping());
    }
    for (index, block) in all.into_iter().enumerate() {
        let (head, pieces, delta_type, field) = match block {
            Block::Text(t) => (
                json!({"type": "text", "text": ""}),
                tokens::pieces(&t, TEXT_PIECE),
                "text_delta",
                "text",
            ),
            Block::ToolUse(c) => {
                let mut pieces = vec![String::new()];
                pieces.extend(tokens::pieces(&c.arguments_json(), ARGS_PIECE));
                (
                    json!({"type": "tool_use", "id": tool_id(&c.id_seed), "name": c.name, "input": {}}),
                    pieces,
                    "input_json_delta",
                    "partial_json",
                )
            }
        };
        let block_start =
            json!({"type": "content_block_start", "index": index, "content_block": head});
        frames.push(event("content_block_start", &block_start, Kind::Structural));
        if index == 0 {
            frames.push(ping());
        }
        for piece in pieces {
            let kind = if piece.is_empty() {
                Kind::Structural
            } else {
                Kind::Content(tokens::weight(&piece))
            };
            let mut delta = json!({"type": delta_type});
            delta[field] = Value::String(piece);
            let d = json!({"type": "content_block_delta", "index": index, "delta": delta});
            frames.push(event("content_block_delta", &d, kind));
        }
        let block_stop = json!({"type": "content_block_stop", "index": index});
        frames.push(event("content_block_stop", &block_stop, Kind::Structural));
    }
    let (stop_reason, stop_sequence) = stop(reply);
    let delta = json!({
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
        "usage": {"output_tokens": output_tokens(reply, usage)}
    });
    frames.push(event("message_delta", &delta, Kind::Terminal));
    frames.push(event(
        "message_stop",
        &json!({"type": "message_stop"}),
        Kind::Terminal,
    ));
    frames
}
