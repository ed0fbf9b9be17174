//! Cache stage: answer from a response cache when one is installed (as JSON, or replayed as
//! a stream), and offer complete answers to it: non-streamed ones at once, streamed ones
//! when the stream has ended with a finish reason (see [`store_when_complete`]). Without a
//! cache every request goes upstream; `"cache": false` in the body or `cache-control:
//! no-cache` (or `no-store`) in the request headers bypasses it.

use axum::http::{header, HeaderMap};
use llmgw_types::{
    ApiError, ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse, ChunkDelta,
    FinishReason, FunctionCallDelta, Role, ToolCallDelta, ToolKind,
};

use super::auth::Caller;

pub use super::cache_fill::{store_when_complete, OwnedQuery, StreamAssembler};

/// The request-body field that turns the cache off for one request (`"cache": false`).
pub const CACHE_FIELD: &str = "cache";

/// What the cache is asked about: the request as it will be sent (model resolved) and who
/// sends it, so entries never cross tenants.
#[derive(Debug, Clone, Copy)]
pub struct CacheQuery<'a> {
    /// The caller.
    pub caller: &'a Caller,
    /// Catalog id of the resolved model.
    pub model: &'a str,
    /// The request, with the resolved model.
    pub request: &'a ChatCompletionRequest,
}

/// A stored answer.
#[derive(Debug, Clone)]
pub struct CachedAnswer {
    /// The complete response, replayed as a stream when a stream is asked for.
    pub response: ChatCompletionResponse,
    /// Cosine similarity of the matched prompt (semantic hits only).
    pub similarity: Option<f64>,
}

/// A response cache. Implementations bound their memory and never store failed or
/// incomplete answers (the gateway only offers complete ones).
pub trait ResponseCache: Send + Sync + 'static {
    /// A stored answer for this query, if any.
    fn lookup(&self, query: &CacheQuery<'_>) -> Option<CachedAnswer>;
    /// Offer a complete answer for storage.
    fn store(&self, query: &CacheQuery<'_>, response: &ChatCompletionResponse);
}

/// What the cache stage decided for a request.
#[derive(Debug, Clone)]
pub enum CacheOutcome {
    /// No cache is installed.
    Disabled,
    /// Looked up, nothing found: call upstream (and offer the answer).
    Miss,
    /// Found: answer from the cache.
    Hit(Box<CachedAnswer>),
    /// The client asked not to use the cache: call upstream, store nothing.
    Bypass,
}

impl CacheOutcome {
    /// The value of the `x-llmgw-cache` header (`None` when no cache is installed).
    pub fn label(&self) -> Option<&'static str> {
        match self {
            CacheOutcome::Disabled => None,
            CacheOutcome::Miss => Some("miss"),
            CacheOutcome::Hit(_) => Some("hit"),
            CacheOutcome::Bypass => Some("bypass"),
        }
    }
}

/// Whether the client asked to bypass the cache: `"cache": false` in the body, or
/// `cache-control: no-cache` / `no-store`. A `cache` field that is not a boolean is a 400.
pub fn bypass_requested(
    headers: &HeaderMap,
    req: &ChatCompletionRequest,
) -> Result<bool, ApiError> {
    let body_off = match req.extra.get(CACHE_FIELD) {
        None | Some(serde_json::Value::Bool(true)) => false,
        Some(serde_json::Value::Bool(false)) => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "`cache` must be a boolean: `false` answers this request without the cache.",
                Some(CACHE_FIELD),
            ))
        }
    };
    let header_off = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_ascii_lowercase())
        .any(|d| d == "no-cache" || d == "no-store");
    Ok(body_off || header_off)
}

/// Look the request up in `cache` (if any), unless `bypass`.
pub fn lookup(
    cache: Option<&dyn ResponseCache>,
    query: &CacheQuery<'_>,
    bypass: bool,
) -> CacheOutcome {
    match cache {
        None => CacheOutcome::Disabled,
        Some(_) if bypass => CacheOutcome::Bypass,
        Some(c) => match c.lookup(query) {
            Some(hit) => CacheOutcome::Hit(Box::new(hit)),
            None => CacheOutcome::Miss,
        },
    }
}

/// A cached answer as the chunks of a stream: the role and text, each tool call whole, the
/// finish reason, then the usage-only chunk (the respond stage drops it when not asked for).
pub fn replay_as_chunks(resp: &ChatCompletionResponse) -> Vec<ChatCompletionChunk> {
    let Some(choice) = resp.choices.first() else {
        return Vec::new();
    };
    let chunk = |delta: ChunkDelta, finish: Option<FinishReason>| {
        ChatCompletionChunk::with_delta(&resp.id, &resp.model, resp.created, delta, finish)
    };
    let mut out = vec![chunk(
        ChunkDelta {
            role: Some(Role::Assistant),
            content: choice.message.content.clone(),
            refusal: choice.message.refusal.clone(),
            tool_calls: None,
        },
        None,
    )];
    if let Some(calls) = &choice.message.tool_calls {
        let deltas = calls
            .iter()
            .enumerate()
            .map(|(i, c)| ToolCallDelta {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                id: Some(c.id.clone()),
                kind: Some(ToolKind::Function),
                function: Some(FunctionCallDelta {
                    name: Some(c.function.name.clone()),
                    arguments: Some(c.function.arguments.clone()),
                }),
            })
            .collect();
        out.push(chunk(
            ChunkDelta {
                tool_calls: Some(deltas),
                ..ChunkDelta::default()
            },
            None,
        ));
    }
    out.push(chunk(
        ChunkDelta::default(),
        Some(choice.finish_reason.unwrap_or(FinishReason::Stop)),
    ));
    if let Some(usage) = &resp.usage {
        out.push(ChatCompletionChunk::usage_only(
            &resp.id,
            &resp.model,
            resp.created,
            usage.clone(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmgw_types::{Choice, FunctionCall, ResponseMessage, ToolCall, Usage};

    #[test]
    fn bypass_comes_from_the_body_or_cache_control() {
        let mut req = ChatCompletionRequest::default();
        let mut headers = HeaderMap::new();
        assert!(!bypass_requested(&headers, &req).unwrap());
        req.extra
            .insert("cache".into(), serde_json::Value::Bool(true));
        assert!(!bypass_requested(&headers, &req).unwrap());
        req.extra
            .insert("cache".into(), serde_json::Value::Bool(false));
        assert!(bypass_requested(&headers, &req).unwrap());
        req.extra.insert("cache".into(), serde_json::json!("no"));
        let err = bypass_requested(&headers, &req).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.body.error.param.as_deref(), Some("cache"));
        req.extra.clear();
        headers.insert(
            header::CACHE_CONTROL,
            "max-age=0, No-Cache".parse().unwrap(),
        );
        assert!(bypass_requested(&headers, &req).unwrap());
        headers.insert(header::CACHE_CONTROL, "max-age=60".parse().unwrap());
        assert!(!bypass_requested(&headers, &req).unwrap());
    }

    #[test]
    fn replay_rebuilds_text_tool_calls_finish_and_usage() {
        let resp = ChatCompletionResponse {
            id: "c1".into(),
            object: "chat.completion".into(),
            created: 5,
            model: "m".into(),
            choices: vec![Choice {
                index: 0,
                message: ResponseMessage::assistant(
                    Some("hi".into()),
                    vec![ToolCall {
                        id: "call_1".into(),
                        kind: ToolKind::Function,
                        function: FunctionCall {
                            name: "f".into(),
                            arguments: "{\"a\":1}".into(),
                        },
                    }],
                ),
                finish_reason: Some(FinishReason::ToolCalls),
                logprobs: None,
            }],
            usage: Some(Usage::new(3, 4)),
            system_fingerprint: None,
        };
        let chunks = replay_as_chunks(&resp);
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks[0].choices[0].delta.content.as_deref(), Some("hi"));
        let call = &chunks[1].choices[0].delta.tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.id.as_deref(), Some("call_1"));
        assert_eq!(
            call.function.as_ref().unwrap().arguments.as_deref(),
            Some("{\"a\":1}")
        );
        assert_eq!(
            chunks[2].choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );
        assert_eq!(chunks[3].usage.as_ref().unwrap().completion_tokens, 4);
        assert!(chunks[3].choices.is_empty());
    }
}
