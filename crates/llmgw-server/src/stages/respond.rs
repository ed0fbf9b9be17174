//! Respond stage: the answer as the client asked for it. JSON, or server-sent events passed
//! on chunk by chunk as they arrive, ending with `data: [DONE]` on success or with an error
//! event when the upstream fails or cuts the stream.

use std::convert::Infallible;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use llmgw_config::CatalogModel;
use llmgw_types::{ApiError, ChatCompletionChunk, ChatCompletionResponse, ErrorBody, StreamChunk};

use super::record::{apply_usage, RecordGuard};
use crate::error::error_response;
use crate::meta::ResponseMeta;
use crate::upstream::ChunkStream;

/// The error response for `err`, with the headers known so far.
pub fn error(err: &ApiError, meta: &ResponseMeta) -> Response {
    let mut resp = error_response(err);
    meta.apply(resp.headers_mut());
    resp
}

/// A complete answer as JSON. `model` is rewritten to the catalog id the client knows.
pub fn json(mut answer: ChatCompletionResponse, model_id: &str, meta: &ResponseMeta) -> Response {
    answer.model = model_id.to_string();
    match serde_json::to_vec(&answer) {
        Ok(body) => {
            let mut resp = (StatusCode::OK, body).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            meta.apply(resp.headers_mut());
            resp
        }
        Err(e) => error(
            &ApiError::internal(format!("could not encode the response: {e}")),
            meta,
        ),
    }
}

/// How a stream is passed on.
pub struct StreamPlan {
    /// The catalog model (its id goes into every chunk; its prices cost the usage).
    pub model: CatalogModel,
    /// Provider name, for messages.
    pub provider: String,
    /// The client asked for `stream_options.include_usage`.
    pub client_wants_usage: bool,
    /// When the first chunk must have arrived.
    pub first_chunk_budget: Duration,
    /// When the whole stream must have ended.
    pub total_budget: Duration,
}

/// `data: <json>\n\n`.
pub fn sse_data(json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(json.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// The error event: `data: {"error": {...}}` (what OpenAI's SDKs raise on).
pub fn sse_error(err: &ApiError) -> Bytes {
    let json = serde_json::to_vec(&err.body).unwrap_or_else(|_| {
        br#"{"error":{"message":"stream failed","type":"server_error","param":null,"code":null}}"#
            .to_vec()
    });
    sse_data(&json)
}

/// The end of a successful stream.
pub const SSE_DONE: &[u8] = b"data: [DONE]\n\n";

fn cut_error(provider: &str) -> ApiError {
    ApiError::new(
        502,
        ErrorBody::upstream(format!(
            "Provider `{provider}` ended the stream before the answer was complete."
        ))
        .with_code("stream_cut"),
    )
}

fn stream_timeout(provider: &str, budget: Duration, what: &str) -> ApiError {
    ApiError::new(
        504,
        ErrorBody::timeout(format!(
            "Provider `{provider}` did not {what} within {:.1} s.",
            budget.as_secs_f64()
        )),
    )
}

/// A streaming response. Chunks are forwarded as they arrive; the record in `guard` is
/// completed when the stream ends (or by the guard when the client goes away).
pub fn sse(
    upstream: ChunkStream,
    plan: StreamPlan,
    mut guard: RecordGuard,
    meta: &ResponseMeta,
) -> Response {
    let body = async_stream::stream! {
        let mut upstream = upstream;
        let start = tokio::time::Instant::now();
        let total_deadline = start + plan.total_budget;
        let first_deadline = (start + plan.first_chunk_budget).min(total_deadline);
        let mut seen_chunk = false;
        let mut finished = false;
        loop {
            let deadline = if seen_chunk { total_deadline } else { first_deadline };
            let next = tokio::time::timeout_at(deadline, upstream.next()).await;
            let failure: Option<(ApiError, &str)> = match next {
                Err(_) => Some(if seen_chunk {
                    (stream_timeout(&plan.provider, plan.total_budget, "finish the stream"), "upstream_timeout")
                } else {
                    (stream_timeout(&plan.provider, plan.first_chunk_budget, "send a first token"), "upstream_timeout")
                }),
                Ok(None) if finished => {
                    yield Ok::<Bytes, Infallible>(Bytes::from_static(SSE_DONE));
                    guard.finish();
                    return;
                }
                Ok(None) => Some((cut_error(&plan.provider), "stream_cut")),
                Ok(Some(Err(e))) => {
                    if let Some(rec) = guard.rec() {
                        rec.error_kind = Some(e.kind.clone());
                    }
                    yield Ok(sse_error(&e.error));
                    guard.finish();
                    return;
                }
                Ok(Some(Ok(chunk))) => {
                    seen_chunk = true;
                    if let Some(bytes) = forward(chunk, &plan, &mut guard, &mut finished) {
                        yield Ok(bytes);
                    }
                    None
                }
            };
            if let Some((err, kind)) = failure {
                if let Some(rec) = guard.rec() {
                    rec.error_kind = Some(kind.to_string());
                }
                yield Ok(sse_error(&err));
                guard.finish();
                return;
            }
        }
    };
    let mut resp = Response::new(Body::from_stream(body));
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    meta.apply(headers);
    resp
}

/// Observe one chunk (first token, usage, finish) and encode what the client gets: the
/// upstream's own payload when the client is to see exactly that chunk (same model name, no
/// usage to strip or hide), otherwise the chunk encoded again with the catalog id as its model.
fn forward(
    mut item: StreamChunk,
    plan: &StreamPlan,
    guard: &mut RecordGuard,
    finished: &mut bool,
) -> Option<Bytes> {
    let chunk = item.chunk();
    observe(chunk, plan, guard, finished);
    let strip_usage = chunk.usage.is_some() && !plan.client_wants_usage;
    if strip_usage && chunk.choices.is_empty() {
        return None;
    }
    if !strip_usage && chunk.model == plan.model.id {
        // a client that did not ask for usage gets no `usage` key at all, not even the
        // `"usage":null` an upstream asked for it sends on every chunk (inside a JSON string
        // the quotes are escaped, so this finds keys only)
        if let Some(raw) = item
            .raw()
            .filter(|raw| plan.client_wants_usage || !raw.contains("\"usage\""))
        {
            return Some(sse_data(raw.as_bytes()));
        }
    }
    let chunk = item.chunk_mut();
    chunk.model.clone_from(&plan.model.id);
    if strip_usage {
        chunk.usage = None;
    }
    serde_json::to_vec(chunk).ok().map(|json| sse_data(&json))
}

/// Note what `chunk` tells about the answer: output size, first token, usage, finish.
fn observe(
    chunk: &ChatCompletionChunk,
    plan: &StreamPlan,
    guard: &mut RecordGuard,
    finished: &mut bool,
) {
    let output_chars: usize = chunk
        .choices
        .iter()
        .map(|c| {
            c.delta.content.as_deref().map_or(0, str::len)
                + c.delta
                    .tool_calls
                    .iter()
                    .flatten()
                    .map(|t| {
                        t.function
                            .as_ref()
                            .and_then(|f| f.arguments.as_deref())
                            .map_or(0, str::len)
                    })
                    .sum::<usize>()
        })
        .sum();
    guard.add_output_chars(output_chars);
    if let Some(rec) = guard.rec() {
        let has_output = chunk.choices.iter().any(|c| {
            c.delta.content.as_deref().is_some_and(|t| !t.is_empty())
                || c.delta.tool_calls.is_some()
                || c.delta.refusal.is_some()
        });
        if has_output && rec.first_token_at.is_none() {
            let now = SystemTime::now();
            rec.first_token_at = Some(now);
            rec.ttft_ms = now
                .duration_since(rec.received_at)
                .ok()
                .map(|d| d.as_secs_f64() * 1000.0);
        }
        if let Some(usage) = &chunk.usage {
            apply_usage(rec, usage, &plan.model);
            if rec.cache_hit != llmgw_outcomes::CacheHit::None {
                // Replayed from the gateway's cache: nothing was paid for it.
                rec.cost_usd = Some(0.0);
            }
        }
        for c in &chunk.choices {
            if let Some(reason) = c.finish_reason {
                *finished = true;
                rec.finish_reason = Some(reason.as_str().to_string());
            }
        }
    } else if chunk.choices.iter().any(|c| c.finish_reason.is_some()) {
        *finished = true;
    }
}
