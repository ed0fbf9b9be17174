//! Cache stage: answer from a response cache when one is installed (as JSON, or replayed as
//! a stream), and offer complete answers to it: non-streamed ones at once, streamed ones
//! when the stream has ended with a finish reason (see [`store_when_complete`]). Without a
//! cache every request goes upstream; `"cache": false` in the body or `cache-control:
//! no-cache` (or `no-store`) in the request headers bypasses it.

use axum::http::{header, HeaderMap};
use futures::future::BoxFuture;
use llmgw_config::CacheConfig;
use llmgw_types::{
    ApiError, ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse, ChunkDelta,
    FinishReason, FunctionCallDelta, Role, ToolCallDelta, ToolKind,
};
use serde::Deserialize;

use super::auth::Caller;
use crate::auto::AutoRouting;

pub use super::cache_fill::{store_when_complete, OwnedQuery, StreamAssembler};

/// The request-body field that steers the cache for one request: `"cache": false` bypasses
/// it, `"cache": {"semantic": true, "min_similarity": 0.97}` also looks for similar prompts.
pub const CACHE_FIELD: &str = "cache";

/// A prompt's sentence embedding (L2-normalised) and the encoder that produced it.
#[derive(Debug, Clone, Copy)]
pub struct PromptEmbedding<'a> {
    /// The vector.
    pub vector: &'a [f32],
    /// Id of the encoder (vectors of different encoders are never compared).
    pub encoder: &'a str,
}

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
    /// The embedding of the request's routing text, when the gateway has one (always for
    /// `auto`; for a named model only when a semantic lookup was asked for). Stored with
    /// the answer so that later semantic lookups can match it.
    pub embedding: Option<PromptEmbedding<'a>>,
    /// `Some(t)`: after an exact miss, also reuse the answer of a prompt whose embedding
    /// has cosine similarity `>= t` with this one (same tenant, model and parameters).
    pub min_similarity: Option<f64>,
}

/// A stored answer.
#[derive(Debug, Clone)]
pub struct CachedAnswer {
    /// The complete response, replayed as a stream when a stream is asked for.
    pub response: ChatCompletionResponse,
    /// Cosine similarity of the matched prompt (semantic hits only; `None`: exact hit).
    pub similarity: Option<f64>,
}

/// A cache's size and eviction counters, read when `/metrics` is scraped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answers held now.
    pub entries: u64,
    /// Bytes held now (as the cache counts them).
    pub bytes: u64,
    /// Answers held now that carry a prompt embedding (semantic lookups can match them).
    pub indexed: u64,
    /// Answers evicted (least recently used) to respect the limits, since start.
    pub evictions: u64,
    /// Answers dropped because their TTL had passed, since start.
    pub expirations: u64,
    /// Answers refused: incomplete, or larger than the whole byte budget.
    pub refused: u64,
}

/// A response cache. Implementations bound their memory and never store failed or
/// incomplete answers (the gateway only offers complete ones).
///
/// Both operations return futures so that a cache may live out of process (Redis); an
/// in-memory cache answers with a ready future.
pub trait ResponseCache: Send + Sync + 'static {
    /// A stored answer for this query, if any: an exact match first, then (when
    /// `query.min_similarity` is set) the most similar stored prompt at or above it.
    fn lookup<'a>(&'a self, query: &'a CacheQuery<'a>) -> BoxFuture<'a, Option<CachedAnswer>>;
    /// Offer a complete answer for storage. The gateway awaits it before it answers a
    /// non-streamed request; a slow store may spawn its work and return at once.
    fn store<'a>(
        &'a self,
        query: &'a CacheQuery<'a>,
        response: &'a ChatCompletionResponse,
    ) -> BoxFuture<'a, ()>;
    /// Size and eviction counters for `/metrics` (`None`: not known).
    fn stats(&self) -> Option<CacheStats> {
        None
    }
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

    /// On a hit: `exact` or `semantic` (the `x-llmgw-cache-match` header).
    pub fn match_kind(&self) -> Option<&'static str> {
        match self {
            CacheOutcome::Hit(hit) if hit.similarity.is_some() => Some("semantic"),
            CacheOutcome::Hit(_) => Some("exact"),
            _ => None,
        }
    }
}

/// What the client asked of the cache for one request.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CacheOptions {
    /// Answer without the cache and store nothing.
    pub bypass: bool,
    /// `Some(t)`: after an exact miss, look for a prompt at least this similar.
    pub min_similarity: Option<f64>,
}

/// The object form of the `cache` body field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheBody {
    #[serde(default)]
    semantic: Option<bool>,
    #[serde(default)]
    min_similarity: Option<f64>,
}

/// Read the client's cache options: `"cache": false` or `cache-control: no-cache` /
/// `no-store` bypass the cache; `"cache": {"semantic": true, "min_similarity": 0.97}`
/// turns semantic matching on (or off, with `false`) for this request, at the given or the
/// configured threshold (`min_similarity` alone implies `semantic: true`). Without the
/// object, `[cache] semantic` decides. Anything else in `cache` is a 400.
pub fn options(
    headers: &HeaderMap,
    req: &ChatCompletionRequest,
    config: &CacheConfig,
) -> Result<CacheOptions, ApiError> {
    let (body_off, body) = match req.extra.get(CACHE_FIELD) {
        None | Some(serde_json::Value::Bool(true)) => (false, None),
        Some(serde_json::Value::Bool(false)) => (true, None),
        Some(v @ serde_json::Value::Object(_)) => {
            let body: CacheBody = serde_json::from_value(v.clone()).map_err(|e| {
                ApiError::bad_request(
                    format!(
                        "Invalid 'cache': {e}. Expected `false`, or an object with `semantic` \
                         (boolean) and `min_similarity` (number above 0, at most 1)."
                    ),
                    Some(CACHE_FIELD),
                )
            })?;
            (false, Some(body))
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "`cache` must be a boolean or an object: `false` answers this request without \
                 the cache; `{\"semantic\": true, \"min_similarity\": 0.95}` also reuses the \
                 answer of a similar prompt.",
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
    let (semantic, threshold) = match &body {
        None => (config.semantic, config.similarity_threshold),
        Some(b) => {
            if let Some(t) = b.min_similarity {
                if !(t > 0.0 && t <= 1.0) {
                    return Err(ApiError::bad_request(
                        format!("'cache.min_similarity' must be above 0 and at most 1, got {t}."),
                        Some("cache.min_similarity"),
                    ));
                }
            }
            (
                b.semantic
                    .unwrap_or(b.min_similarity.is_some() || config.semantic),
                b.min_similarity.unwrap_or(config.similarity_threshold),
            )
        }
    };
    let bypass = body_off || header_off;
    Ok(CacheOptions {
        bypass,
        min_similarity: (semantic && !bypass).then_some(threshold),
    })
}

/// The embedding of a named-model request that asked for a semantic lookup. Without a
/// loaded router there is no encoder: a 400 that says so. Should the encoder fail, the
/// request goes on with exact matching only (the failure is logged).
pub async fn named_model_embedding(
    auto: &AutoRouting,
    req: &ChatCompletionRequest,
) -> Result<Option<(Vec<f32>, String)>, ApiError> {
    if let Some(reason) = auto.disabled_reason() {
        return Err(ApiError::new(
            400,
            llmgw_types::ErrorBody::invalid_request(format!(
                "The semantic cache needs the router's encoder to embed prompts, and none is \
                 loaded: {reason}. Send `\"cache\": {{\"semantic\": false}}` or load a router."
            ))
            .with_param(CACHE_FIELD)
            .with_code("semantic_cache_unavailable"),
        ));
    }
    match embed_for_cache(auto, req).await {
        Ok(e) => Ok(Some(e)),
        Err(e) => {
            tracing::warn!(error = %e, "could not embed the prompt: exact cache matching only");
            Ok(None)
        }
    }
}

/// The embedding a named-model request needs for a semantic lookup: its routing text,
/// embedded by the router's encoder (the one pass the gateway makes for the cache alone;
/// `auto` requests reuse the embedding computed while routing).
pub async fn embed_for_cache(
    auto: &AutoRouting,
    req: &ChatCompletionRequest,
) -> Result<(Vec<f32>, String), String> {
    let turns: Vec<(&str, String)> = req
        .messages
        .iter()
        .map(|m| (m.role.as_str(), m.text()))
        .collect();
    let refs: Vec<(&str, &str)> = turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
    auto.embed(llmgw_classifier::routing_text(&refs)).await
}

/// Look the request up in `cache` (if any), unless `bypass`.
pub async fn lookup(
    cache: Option<&dyn ResponseCache>,
    query: &CacheQuery<'_>,
    bypass: bool,
) -> CacheOutcome {
    match cache {
        None => CacheOutcome::Disabled,
        Some(_) if bypass => CacheOutcome::Bypass,
        Some(c) => match c.lookup(query).await {
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

    fn opts(
        headers: &HeaderMap,
        cache: Option<serde_json::Value>,
        config: &CacheConfig,
    ) -> Result<CacheOptions, ApiError> {
        let mut req = ChatCompletionRequest::default();
        if let Some(v) = cache {
            req.extra.insert("cache".into(), v);
        }
        options(headers, &req, config)
    }

    #[test]
    fn bypass_comes_from_the_body_or_cache_control() {
        let cfg = CacheConfig::default();
        let mut headers = HeaderMap::new();
        assert!(!opts(&headers, None, &cfg).unwrap().bypass);
        assert!(
            !opts(&headers, Some(serde_json::json!(true)), &cfg)
                .unwrap()
                .bypass
        );
        assert!(
            opts(&headers, Some(serde_json::json!(false)), &cfg)
                .unwrap()
                .bypass
        );
        let err = opts(&headers, Some(serde_json::json!("no")), &cfg).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.body.error.param.as_deref(), Some("cache"));
        headers.insert(
            header::CACHE_CONTROL,
            "max-age=0, No-Cache".parse().unwrap(),
        );
        assert!(opts(&headers, None, &cfg).unwrap().bypass);
        headers.insert(header::CACHE_CONTROL, "max-age=60".parse().unwrap());
        assert!(!opts(&headers, None, &cfg).unwrap().bypass);
    }

    #[test]
    fn semantic_matching_comes_from_the_config_or_the_request() {
        let h = HeaderMap::new();
        let off = CacheConfig::default();
        let on = CacheConfig {
            semantic: true,
            similarity_threshold: 0.9,
            ..CacheConfig::default()
        };
        let sem =
            |v: Option<serde_json::Value>, c: &CacheConfig| opts(&h, v, c).unwrap().min_similarity;
        assert_eq!(sem(None, &off), None);
        assert_eq!(sem(None, &on), Some(0.9));
        assert_eq!(sem(Some(serde_json::json!(true)), &on), Some(0.9));
        assert_eq!(sem(Some(serde_json::json!(false)), &on), None, "bypassed");
        let t = off.similarity_threshold;
        assert_eq!(
            sem(Some(serde_json::json!({"semantic": true})), &off),
            Some(t)
        );
        assert_eq!(
            sem(Some(serde_json::json!({"min_similarity": 0.97})), &off),
            Some(0.97)
        );
        assert_eq!(sem(Some(serde_json::json!({"semantic": false})), &on), None);
        assert_eq!(
            sem(Some(serde_json::json!({"min_similarity": 1.0})), &on),
            Some(1.0)
        );
        let mut no_cache = HeaderMap::new();
        no_cache.insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
        let o = opts(&no_cache, Some(serde_json::json!({"semantic": true})), &on).unwrap();
        assert!(o.bypass && o.min_similarity.is_none());
        for (bad, param) in [
            (
                serde_json::json!({"min_similarity": 0}),
                "cache.min_similarity",
            ),
            (
                serde_json::json!({"min_similarity": 1.5}),
                "cache.min_similarity",
            ),
            (serde_json::json!({"min_similarity": "high"}), "cache"),
            (serde_json::json!({"semantc": true}), "cache"),
            (serde_json::json!(3), "cache"),
        ] {
            let err = opts(&h, Some(bad.clone()), &on).unwrap_err();
            assert_eq!(err.status, 400, "{bad}");
            assert_eq!(err.body.error.param.as_deref(), Some(param), "{bad}");
        }
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
