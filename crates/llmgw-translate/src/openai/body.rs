//! The request body sent to an OpenAI-compatible upstream, written in one pass.

use llmgw_types::{ChatCompletionRequest, GATEWAY_FIELDS};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// The body sent to an OpenAI-compatible upstream: the request's typed fields, then the
/// unknown fields the client sent, minus the gateway's own fields ([`GATEWAY_FIELDS`]) and
/// minus any unknown field whose name a typed field already wrote (typed fields win).
///
/// It borrows the request and serialises straight to the output (e.g. `serde_json::to_vec`),
/// so nothing is copied or converted on the way.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamBody<'a> {
    req: &'a ChatCompletionRequest,
    mode: StreamMode,
}

/// How `stream` and `stream_options` are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamMode {
    /// As the request has them.
    AsSent,
    /// `"stream": true`, `stream_options` as the request has them.
    Streaming,
    /// Neither `stream` nor `stream_options`.
    Whole,
}

/// The body for `req` as it stands (see [`UpstreamBody`]).
pub fn upstream_body(req: &ChatCompletionRequest) -> UpstreamBody<'_> {
    UpstreamBody {
        req,
        mode: StreamMode::AsSent,
    }
}

impl UpstreamBody<'_> {
    /// Asks for a stream: `"stream": true`, with the request's `stream_options`.
    pub fn streaming(self) -> Self {
        UpstreamBody {
            mode: StreamMode::Streaming,
            ..self
        }
    }

    /// Asks for one whole answer: neither `stream` nor `stream_options` is sent.
    pub fn whole(self) -> Self {
        UpstreamBody {
            mode: StreamMode::Whole,
            ..self
        }
    }
}

/// Names of the typed fields written so far (the request has 18).
struct Written {
    names: [&'static str; 18],
    len: usize,
}

impl Written {
    fn new() -> Self {
        Written {
            names: [""; 18],
            len: 0,
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.names[..self.len].contains(&name)
    }

    /// Writes `key: value` when there is a value, and remembers the name.
    fn put<M: SerializeMap, V: Serialize + ?Sized>(
        &mut self,
        map: &mut M,
        key: &'static str,
        value: Option<&V>,
    ) -> Result<(), M::Error> {
        if let Some(value) = value {
            map.serialize_entry(key, value)?;
            if let Some(slot) = self.names.get_mut(self.len) {
                *slot = key;
                self.len += 1;
            }
        }
        Ok(())
    }
}

impl Serialize for UpstreamBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Every field is named, so a field added to the request cannot be forgotten here.
        let ChatCompletionRequest {
            model,
            messages,
            tools,
            tool_choice,
            parallel_tool_calls,
            temperature,
            top_p,
            max_tokens,
            max_completion_tokens,
            stop,
            seed,
            user,
            n,
            presence_penalty,
            frequency_penalty,
            response_format,
            stream,
            stream_options,
            extra,
        } = self.req;
        let (stream, stream_options) = match self.mode {
            StreamMode::AsSent => (*stream, stream_options.as_ref()),
            StreamMode::Streaming => (Some(true), stream_options.as_ref()),
            StreamMode::Whole => (None, None),
        };
        let mut map = serializer.serialize_map(None)?;
        let mut w = Written::new();
        w.put(&mut map, "model", Some(model))?;
        w.put(&mut map, "messages", Some(messages))?;
        w.put(&mut map, "tools", tools.as_ref())?;
        w.put(&mut map, "tool_choice", tool_choice.as_ref())?;
        w.put(
            &mut map,
            "parallel_tool_calls",
            parallel_tool_calls.as_ref(),
        )?;
        w.put(&mut map, "temperature", temperature.as_ref())?;
        w.put(&mut map, "top_p", top_p.as_ref())?;
        w.put(&mut map, "max_tokens", max_tokens.as_ref())?;
        w.put(
            &mut map,
            "max_completion_tokens",
            max_completion_tokens.as_ref(),
        )?;
        w.put(&mut map, "stop", stop.as_ref())?;
        w.put(&mut map, "seed", seed.as_ref())?;
        w.put(&mut map, "user", user.as_ref())?;
        w.put(&mut map, "n", n.as_ref())?;
        w.put(&mut map, "presence_penalty", presence_penalty.as_ref())?;
        w.put(&mut map, "frequency_penalty", frequency_penalty.as_ref())?;
        w.put(&mut map, "response_format", response_format.as_ref())?;
        w.put(&mut map, "stream", stream.as_ref())?;
        w.put(&mut map, "stream_options", stream_options)?;
        for (key, value) in extra {
            if !GATEWAY_FIELDS.contains(&key.as_str()) && !w.contains(key) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmgw_types::{ChatMessage, ResponseFormat, StopSequences, StreamOptions};
    use serde_json::{json, Value};

    fn full_request() -> ChatCompletionRequest {
        let mut req: ChatCompletionRequest = serde_json::from_value(json!({
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
            "tool_choice": "auto",
            "parallel_tool_calls": false,
            "temperature": 0.5,
            "top_p": 0.9,
            "max_tokens": 10,
            "max_completion_tokens": 20,
            "seed": 7,
            "user": "u",
            "n": 1,
            "presence_penalty": 0.1,
            "frequency_penalty": 0.2,
            "stream": true,
            "top_k": 40,
        }))
        .unwrap();
        req.stop = Some(StopSequences::Many(vec!["END".into()]));
        req.response_format = Some(ResponseFormat::JsonObject);
        req.stream_options = Some(StreamOptions {
            include_usage: Some(true),
        });
        req
    }

    fn as_value(body: UpstreamBody<'_>) -> Value {
        serde_json::to_value(body).unwrap()
    }

    #[test]
    fn writes_what_the_request_itself_serialises_to() {
        let req = full_request();
        assert_eq!(req.extra.len(), 1, "only top_k is unknown");
        let expected = serde_json::to_value(&req).unwrap();
        assert_eq!(as_value(upstream_body(&req)), expected);
        let minimal = ChatCompletionRequest::new("m", vec![ChatMessage::user("hi")]);
        assert_eq!(
            as_value(upstream_body(&minimal)),
            serde_json::to_value(&minimal).unwrap()
        );
    }

    #[test]
    fn stream_modes_set_or_drop_the_stream_fields() {
        let req = full_request();
        let whole = as_value(upstream_body(&req).whole());
        assert!(whole.get("stream").is_none(), "{whole}");
        assert!(whole.get("stream_options").is_none(), "{whole}");
        assert_eq!(whole["top_k"], 40);

        let minimal = ChatCompletionRequest::new("m", vec![ChatMessage::user("hi")]);
        let streaming = as_value(upstream_body(&minimal).streaming());
        assert_eq!(streaming["stream"], true);
        assert!(streaming.get("stream_options").is_none(), "{streaming}");
        let streaming = as_value(upstream_body(&req).streaming());
        assert_eq!(streaming["stream_options"]["include_usage"], true);
    }

    #[test]
    fn each_key_is_written_once_and_typed_fields_win() {
        let mut req = ChatCompletionRequest::new("typed", vec![ChatMessage::user("hi")]);
        req.temperature = Some(0.25);
        req.extra.insert("model".into(), json!("extra"));
        req.extra.insert("temperature".into(), json!(2.0));
        // No typed value: the unknown field of the same name is sent.
        req.extra.insert("seed".into(), json!(3));
        req.extra.insert("cache".into(), json!({"ttl": 5}));
        let bytes = serde_json::to_vec(&upstream_body(&req)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(text.matches("\"model\"").count(), 1, "{text}");
        assert_eq!(text.matches("\"temperature\"").count(), 1, "{text}");
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["model"], "typed");
        assert_eq!(body["temperature"], 0.25);
        assert_eq!(body["seed"], 3);
        assert!(body.get("cache").is_none(), "{body}");
    }
}
