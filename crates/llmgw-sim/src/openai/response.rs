//! OpenAI chat-completion responses: the `chat.completion` object and `chat.completion.chunk` streams.

use serde_json::{json, Value};

use crate::answer::{Finish, Reply, Usage};
use crate::stream::{Frame, Kind};
use crate::tokens;

const FINGERPRINT: &str = "fp_sim0001";
/// Longest text delta, in characters.
const TEXT_PIECE: usize = 16;
/// Longest tool-argument delta, in characters (arguments always arrive in several deltas).
const ARGS_PIECE: usize = 6;

/// Identity shared by a response and all its chunks.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub id: String,
    pub created: u64,
    pub model: String,
}

fn finish_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Stop | Finish::StopSequence(_) => "stop",
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
    }
}

/// OpenAI's tool call id for a reply's call.
pub(crate) fn call_id(seed: &str) -> String {
    format!("call_{seed}")
}

/// The `usage` object.
pub(crate) fn usage_json(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.prompt,
        "completion_tokens": u.completion,
        "total_tokens": u.prompt + u.completion,
        "prompt_tokens_details": {"cached_tokens": u.cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

/// The non-streaming `chat.completion` object.
pub(crate) fn completion(meta: &Meta, replies: &[Reply], usage: &Usage) -> Value {
    let choices: Vec<Value> = replies
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut message = json!({
                "role": "assistant",
                "content": if r.tool_calls.is_empty() { Value::String(r.text.clone()) } else { Value::Null },
                "refusal": null,
                "annotations": []
            });
            if !r.tool_calls.is_empty() {
                message["tool_calls"] = r
                    .tool_calls
                    .iter()
                    .map(|c| {
                        json!({
                            "id": call_id(&c.id_seed),
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments_json()}
                        })
                    })
                    .collect();
            }
            json!({
                "index": i,
                "message": message,
                "logprobs": null,
                "finish_reason": finish_reason(&r.finish)
            })
        })
        .collect();
    json!({
        "id": meta.id,
        "object": "chat.completion",
        "created": meta.created,
        "model": meta.model,
        "choices": choices,
        "usage": usage_json(usage),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT
    })
}

fn chunk(meta: &Meta, choices: Value, include_usage: bool) -> Value {
    let mut v = json!({
        "id": meta.id,
        "object": "chat.completion.chunk",
        "created": meta.created,
        "model": meta.model,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
        "choices": choices
    });
    if include_usage {
        v["usage"] = Value::Null;
    }
    v
}

fn delta(meta: &Meta, index: usize, delta: Value, finish: Option<&str>, usage: bool) -> Value {
    chunk(
        meta,
        json!([{"index": index, "delta": delta, "logprobs": null, "finish_reason": finish}]),
        usage,
    )
}

fn data(v: &Value, kind: Kind) -> Frame {
    Frame::sse(None, &v.to_string(), "\n", kind)
}

/// The SSE frames of a streamed answer, ending with `data: [DONE]`.
pub(crate) fn chunks(
    meta: &Meta,
    replies: &[Reply],
    usage: &Usage,
    include_usage: bool,
) -> Vec<Frame> {
    let mut frames = Vec::new();
    for (i, r) in replies.iter().enumerate() {
        if r.tool_calls.is_empty() {
            let role = json!({"role": "assistant", "content": "", "refusal": null});
            frames.push(data(
                &delta(meta, i, role, None, include_usage),
                Kind::Structural,
            ));
            for piece in tokens::pieces(&r.text, TEXT_PIECE) {
                let d = json!({"content": piece});
                frames.push(data(
                    &delta(meta, i, d, None, include_usage),
                    Kind::Content(tokens::weight(&piece)),
                ));
            }
        }
        for (k, call) in r.tool_calls.iter().enumerate() {
            let mut head = json!({"tool_calls": [{
                "index": k,
                "id": call_id(&call.id_seed),
                "type": "function",
                "function": {"name": call.name, "arguments": ""}
            }]});
            if k == 0 {
                head["role"] = json!("assistant");
                head["content"] = Value::Null;
                head["refusal"] = Value::Null;
            }
            frames.push(data(
                &delta(meta, i, head, None, include_usage),
                Kind::Content(tokens::weight(&call.name)),
            ));
            for piece in tokens::pieces(&call.arguments_json(), ARGS_PIECE) {
                let d = json!({"tool_calls": [{"index": k, "function": {"arguments": piece}}]});
                frames.push(data(
                    &delta(meta, i, d, None, include_usage),
                    Kind::Content(tokens::weight(&piece)),
                ));
            }
        }
        let end = delta(
            meta,
            i,
            json!({}),
            Some(finish_reason(&r.finish)),
            include_usage,
        );
        frames.push(data(&end, Kind::Terminal));
    }
    if include_usage {
        let mut last = chunk(meta, json!([]), true);
        last["usage"] = usage_json(usage);
        frames.push(data(&last, Kind::Terminal));
    }
    frames.push(Frame::sse(None, "[DONE]", "\n", Kind::Terminal));
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::ToolCall;

    fn meta() -> Meta {
        Meta {
            id: "chatcmpl-1".into(),
            created: 1,
            model: "m".into(),
        }
    }

    fn payloads(frames: &[Frame]) -> Vec<String> {
        frames
            .iter()
            .map(|f| {
                let s = std::str::from_utf8(&f.bytes).unwrap();
                s.strip_prefix("data: ").unwrap().trim_end().to_string()
            })
            .collect()
    }

    #[test]
    fn streamed_text_reassembles_and_ends_with_usage_and_done() {
        let reply = Reply {
            text: "Hello there, general reader.".into(),
            tool_calls: vec![],
            finish: Finish::Stop,
        };
        let usage = Usage {
            prompt: 5,
            completion: 7,
            cached: 0,
        };
        let frames = chunks(&meta(), &[reply], &usage, true);
        let p = payloads(&frames);
        assert_eq!(p.last().unwrap(), "[DONE]");
        let objs: Vec<Value> = p[..p.len() - 1]
            .iter()
            .map(|s| serde_json::from_str(s).unwrap())
            .collect();
        let text: String = objs
            .iter()
            .filter_map(|o| {
                o["choices"]
                    .get(0)?
                    .get("delta")?
                    .get("content")?
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        assert_eq!(text, "Hello there, general reader.");
        let usage_chunk = objs.last().unwrap();
        assert_eq!(usage_chunk["choices"], json!([]));
        assert_eq!(usage_chunk["usage"]["total_tokens"], 12);
        assert!(objs[..objs.len() - 1].iter().all(|o| o["usage"].is_null()));
        assert_eq!(objs[objs.len() - 2]["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn tool_arguments_are_split_across_deltas() {
        let reply = Reply {
            text: String::new(),
            tool_calls: vec![ToolCall {
                id_seed: "abc".into(),
                name: "get_weather".into(),
                arguments: json!({"city": "Paris", "days": 3}),
            }],
            finish: Finish::ToolCalls,
        };
        let usage = Usage {
            prompt: 1,
            completion: 1,
            cached: 0,
        };
        let p = payloads(&chunks(&meta(), &[reply], &usage, false));
        let objs: Vec<Value> = p[..p.len() - 1]
            .iter()
            .map(|s| serde_json::from_str(s).unwrap())
            .collect();
        assert_eq!(
            objs[0]["choices"][0]["delta"]["tool_calls"][0]["id"],
            "call_abc"
        );
        assert_eq!(objs[0]["choices"][0]["delta"]["role"], "assistant");
        let arg_deltas: Vec<&str> = objs[1..]
            .iter()
            .filter_map(|o| {
                o["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            })
            .collect();
        assert!(arg_deltas.len() >= 3);
        let args: Value = serde_json::from_str(&arg_deltas.concat()).unwrap();
        assert_eq!(args, json!({"city": "Paris", "days": 3}));
        assert_eq!(
            objs.last().unwrap()["choices"][0]["finish_reason"],
            "tool_calls"
        );
    }
}
