//! Gemini responses: `GenerateContentResponse` objects, streamed as SSE (`alt=sse`) or as a JSON array.

use serde_json::{json, Value};

use crate::answer::{Finish, Reply, Usage};
use crate::stream::{Frame, Kind};
use crate::tokens;

/// Longest text part of one stream chunk, in characters.
const TEXT_PIECE: usize = 24;

/// Identity of a response.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub id: String,
    pub model: String,
}

fn finish_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Length => "MAX_TOKENS",
        Finish::Stop | Finish::StopSequence(_) | Finish::ToolCalls => "STOP",
    }
}

/// `usageMetadata` after `completion` output tokens.
fn usage_json(usage: &Usage, completion: u32) -> Value {
    let mut u = json!({
        "promptTokenCount": usage.prompt,
        "candidatesTokenCount": completion,
        "totalTokenCount": usage.prompt + completion,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.prompt}]
    });
    if usage.cached > 0 {
        u["cachedContentTokenCount"] = json!(usage.cached);
    }
    u
}

fn parts(reply: &Reply) -> Vec<Value> {
    let mut out = Vec::new();
    if !reply.text.is_empty() || reply.tool_calls.is_empty() {
        out.push(json!({"text": reply.text}));
    }
    for call in &reply.tool_calls {
        out.push(json!({"functionCall": {"name": call.name, "args": call.arguments}}));
    }
    out
}

fn wrap(meta: &Meta, candidates: Value, usage: Value) -> Value {
    json!({
        "candidates": candidates,
        "usageMetadata": usage,
        "modelVersion": meta.model,
        "responseId": meta.id
    })
}

/// The non-streaming response.
pub(crate) fn response(meta: &Meta, replies: &[Reply], usage: &Usage) -> Value {
    let candidates: Vec<Value> = replies
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({
                "content": {"parts": parts(r), "role": "model"},
                "finishReason": finish_reason(&r.finish),
                "index": i
            })
        })
        .collect();
    wrap(
        meta,
        Value::Array(candidates),
        usage_json(usage, usage.completion),
    )
}

/// The stream chunks; `sse` picks `data:` events (`alt=sse`) over a streamed JSON array.
pub(crate) fn chunks(meta: &Meta, replies: &[Reply], usage: &Usage, sse: bool) -> Vec<Frame> {
    let mut objects: Vec<(Value, Kind)> = Vec::new();
    let mut so_far = 0u32;
    for (i, r) in replies.iter().enumerate() {
        let candidate =
            |part: Value| json!([{"content": {"parts": [part], "role": "model"}, "index": i}]);
        for piece in tokens::pieces(&r.text, TEXT_PIECE) {
            so_far += tokens::count(&piece);
            let obj = wrap(
                meta,
                candidate(json!({"text": piece})),
                usage_json(usage, so_far),
            );
            objects.push((obj, Kind::Content(tokens::weight(&piece))));
        }
        for call in &r.tool_calls {
            let part = json!({"functionCall": {"name": call.name, "args": call.arguments}});
            so_far += tokens::count(&call.name) + tokens::count(&call.arguments_json());
            let weight = tokens::weight(&call.arguments_json());
            objects.push((
                wrap(meta, candidate(part), usage_json(usage, so_far)),
                Kind::Content(weight),
            ));
        }
        let last = json!([{
            "content": {"parts": [{"text": ""}], "role": "model"},
            "finishReason": finish_reason(&r.finish),
            "index": i
        }]);
        let completion = if i + 1 == replies.len() {
            usage.completion
        } else {
            so_far
        };
        objects.push((
            wrap(meta, last, usage_json(usage, completion)),
            Kind::Terminal,
        ));
    }
    if sse {
        return objects
            .into_iter()
            .map(|(o, kind)| Frame::sse(None, &o.to_string(), "\r\n", kind))
            .collect();
    }
    let mut frames: Vec<Frame> = objects
        .into_iter()
        .enumerate()
        .map(|(n, (o, kind))| {
            let sep = if n == 0 { "[" } else { ",\r\n" };
            Frame::new(format!("{sep}{o}"), kind)
        })
        .collect();
    frames.push(Frame::new("]", Kind::Terminal));
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::ToolCall;

    fn meta() -> Meta {
        Meta {
            id: "r".into(),
            model: "gemini-x".into(),
        }
    }

    #[test]
    fn json_array_stream_is_one_valid_array() {
        let reply = Reply {
            text: "A short answer for the array test.".into(),
            tool_calls: vec![],
            finish: Finish::Stop,
        };
        let usage = Usage {
            prompt: 3,
            completion: 9,
            cached: 2,
        };
        let frames = chunks(&meta(), &[reply], &usage, false);
        let text: String = frames
            .iter()
            .map(|f| String::from_utf8(f.bytes.to_vec()).unwrap())
            .collect();
        let v: Value = serde_json::from_str(&text).unwrap();
        let arr = v.as_array().unwrap();
        let last = arr.last().unwrap();
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 9);
        assert_eq!(last["usageMetadata"]["cachedContentTokenCount"], 2);
        let joined: String = arr
            .iter()
            .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
            .collect();
        assert_eq!(joined, "A short answer for the array test.");
    }

    #[test]
    fn function_calls_have_no_text_part_and_stop() {
        let reply = Reply {
            text: String::new(),
            tool_calls: vec![ToolCall {
                id_seed: "x".into(),
                name: "f".into(),
                arguments: json!({"a": 1}),
            }],
            finish: Finish::ToolCalls,
        };
        let usage = Usage {
            prompt: 3,
            completion: 2,
            cached: 0,
        };
        let v = response(&meta(), &[reply], &usage);
        assert_eq!(
            v["candidates"][0]["content"]["parts"],
            json!([{"functionCall": {"name": "f", "args": {"a": 1}}}])
        );
        assert_eq!(v["candidates"][0]["finishReason"], "STOP");
        assert!(v["usageMetadata"].get("cachedContentTokenCount").is_none());
    }
}
