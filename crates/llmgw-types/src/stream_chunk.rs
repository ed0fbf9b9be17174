//! A streamed chunk together with the upstream's own encoding of it.

use crate::ChatCompletionChunk;

/// One chunk of a streamed answer and, when an OpenAI-compatible upstream sent it and it has
/// not been changed since, the JSON payload the upstream sent for it (one line, without the
/// `data: ` prefix). A chunk with a payload can be passed on as those bytes, unknown fields
/// included, without being encoded again.
///
/// The payload always stands for the chunk as carried: [`StreamChunk::chunk_mut`] drops it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamChunk {
    chunk: ChatCompletionChunk,
    raw: Option<String>,
}

impl StreamChunk {
    /// A chunk without a payload (translated from another protocol, or built by the gateway).
    pub fn new(chunk: ChatCompletionChunk) -> Self {
        StreamChunk { chunk, raw: None }
    }

    /// A chunk together with `raw`, the single-line JSON payload it was parsed from.
    pub fn with_raw(chunk: ChatCompletionChunk, raw: String) -> Self {
        StreamChunk {
            chunk,
            raw: Some(raw),
        }
    }

    /// The parsed chunk.
    pub fn chunk(&self) -> &ChatCompletionChunk {
        &self.chunk
    }

    /// The upstream's payload for this chunk, if it is known and still matches the chunk.
    pub fn raw(&self) -> Option<&str> {
        self.raw.as_deref()
    }

    /// The chunk, to be changed: the upstream's payload no longer stands for it and is dropped.
    pub fn chunk_mut(&mut self) -> &mut ChatCompletionChunk {
        self.raw = None;
        &mut self.chunk
    }

    /// The parsed chunk, without the payload.
    pub fn into_chunk(self) -> ChatCompletionChunk {
        self.chunk
    }
}

impl From<ChatCompletionChunk> for StreamChunk {
    fn from(chunk: ChatCompletionChunk) -> Self {
        StreamChunk::new(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChunkDelta, Usage};

    #[test]
    fn changing_the_chunk_drops_the_payload() {
        let chunk = ChatCompletionChunk::usage_only("c", "m", 1, Usage::new(1, 2));
        let raw = r#"{"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":1}}"#;
        let mut s = StreamChunk::with_raw(chunk.clone(), raw.to_string());
        assert_eq!(s.raw(), Some(raw));
        assert_eq!(s.chunk(), &chunk);
        s.chunk_mut().usage = None;
        assert_eq!(s.raw(), None);
        assert_eq!(s.chunk().usage, None);

        let built = StreamChunk::from(ChatCompletionChunk::with_delta(
            "c",
            "m",
            1,
            ChunkDelta::default(),
            None,
        ));
        assert_eq!(built.raw(), None);
    }
}
