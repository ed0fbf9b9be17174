//! OpenAI streams, checked and passed through.

use super::PROVIDER;
use crate::{Result, TranslateError};
use llmgw_types::{ChatCompletionChunk, StreamChunk};
use serde_json::Value;

/// One OpenAI stream, checked and passed through: every chunk is forwarded as it comes
/// (usage-only chunks only when the client asked for usage), `[DONE]` ends it, and a stream
/// that stops before `[DONE]` is an error.
#[derive(Debug)]
pub struct OpenAiStream {
    include_usage: bool,
    done: bool,
    finished_choice: bool,
}

impl OpenAiStream {
    /// A checker; `include_usage` says whether the client asked for the usage chunk.
    pub fn new(include_usage: bool) -> Self {
        OpenAiStream {
            include_usage,
            done: false,
            finished_choice: false,
        }
    }

    /// True once `[DONE]` was seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds one SSE `data:` payload.
    pub fn feed(&mut self, data: &str) -> Result<Vec<ChatCompletionChunk>> {
        Ok(self
            .next(data)?
            .map(|(chunk, _)| chunk)
            .into_iter()
            .collect())
    }

    /// Feeds one SSE `data:` payload and keeps it with the chunk it parses to, so the chunk
    /// can be passed on as sent. The payload is dropped when the chunk was changed (usage
    /// removed) or when it spans several lines (it could not be sent as one `data:` line).
    pub fn feed_payload(&mut self, data: String) -> Result<Option<StreamChunk>> {
        Ok(self.next(&data)?.map(|(chunk, unchanged)| {
            if unchanged && !data.contains(['\n', '\r']) {
                StreamChunk::with_raw(chunk, data)
            } else {
                StreamChunk::new(chunk)
            }
        }))
    }

    /// The chunk `data` stands for, if any, and whether it is unchanged from `data`.
    fn next(&mut self, data: &str) -> Result<Option<(ChatCompletionChunk, bool)>> {
        if self.done {
            return Ok(None);
        }
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(None);
        }
        let mut chunk = parse(data)?;
        if chunk.choices.iter().any(|c| c.finish_reason.is_some()) {
            self.finished_choice = true;
        }
        if !self.include_usage {
            if chunk.choices.is_empty() {
                return Ok(None);
            }
            if chunk.usage.take().is_some() {
                return Ok(Some((chunk, false)));
            }
        }
        Ok(Some((chunk, true)))
    }

    /// Call when the byte stream ends. Some OpenAI-compatible servers omit `[DONE]`; a stream
    /// whose choices all carried a `finish_reason` counts as complete.
    pub fn finish(&mut self) -> Result<Vec<ChatCompletionChunk>> {
        if self.done || self.finished_choice {
            self.done = true;
            Ok(Vec::new())
        } else {
            Err(TranslateError::StreamIncomplete { provider: PROVIDER })
        }
    }
}

/// Parses one payload as a chunk; an `error` object becomes a stream error.
fn parse(data: &str) -> Result<ChatCompletionChunk> {
    // A payload that cannot hold an `error` key is read straight into the chunk type.
    if !data.contains("\"error\"") {
        if let Ok(chunk) = serde_json::from_str(data) {
            return Ok(chunk);
        }
    }
    let value: Value = serde_json::from_str(data).map_err(|e| {
        TranslateError::invalid_response(PROVIDER, format!("unreadable stream event: {e}"))
    })?;
    if let Some(err) = value.get("error") {
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = err
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_string();
        return Err(TranslateError::StreamError {
            provider: PROVIDER,
            status: if kind.contains("rate_limit") {
                429
            } else {
                502
            },
            kind,
            message: crate::redact_secrets(message),
        });
    }
    serde_json::from_value(value).map_err(|e| {
        TranslateError::invalid_response(PROVIDER, format!("unexpected stream chunk: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","system_fingerprint":"fp_x","x_vendor":{"a":1},"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"usage":null}"#;
    const USAGE: &str = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#;

    #[test]
    fn payload_is_kept_with_the_chunk_it_parses_to() {
        let mut st = OpenAiStream::new(false);
        let got = st.feed_payload(TEXT.to_string()).unwrap().unwrap();
        assert_eq!(got.raw(), Some(TEXT));
        assert_eq!(got.chunk().model, "gpt-x");
        assert_eq!(got.chunk().choices[0].delta.content.as_deref(), Some("hi"));
        assert_eq!(got.chunk(), &st.feed(TEXT).unwrap()[0]);
    }

    #[test]
    fn payload_is_dropped_when_usage_is_removed_or_it_spans_lines() {
        let mut st = OpenAiStream::new(false);
        let got = st.feed_payload(USAGE.to_string()).unwrap().unwrap();
        assert_eq!(got.chunk().usage, None);
        assert_eq!(got.raw(), None, "the usage it carried was removed");

        let mut st = OpenAiStream::new(true);
        let got = st.feed_payload(USAGE.to_string()).unwrap().unwrap();
        assert!(got.chunk().usage.is_some());
        assert_eq!(got.raw(), Some(USAGE));

        let two_lines = TEXT.replacen(',', ",\n", 1);
        let got = st.feed_payload(two_lines).unwrap().unwrap();
        assert_eq!(got.raw(), None);
        assert_eq!(got.chunk().choices[0].delta.content.as_deref(), Some("hi"));
    }

    #[test]
    fn error_payloads_are_errors_whatever_else_they_hold() {
        let mut st = OpenAiStream::new(true);
        let with_chunk_fields = r#"{"id":"c1","model":"m","choices":[],"error":{"message":"boom","type":"server_error"}}"#;
        let err = st.feed_payload(with_chunk_fields.to_string()).unwrap_err();
        assert_eq!(err.to_openai_error().0, 502);
        let err = st.feed_payload("{not json".to_string()).unwrap_err();
        assert!(err.to_string().contains("unreadable stream event"), "{err}");
        let err = st
            .feed_payload(r#"{"choices":[]}"#.to_string())
            .unwrap_err();
        assert!(err.to_string().contains("unexpected stream chunk"), "{err}");
    }
}
