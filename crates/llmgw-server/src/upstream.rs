//! The call seam: what the gateway needs from a provider adapter. The provider crate's
//! clients implement it (see `providers.rs`); tests can put any implementation behind it.

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use llmgw_types::{ApiError, ChatCompletionRequest, ChatCompletionResponse, StreamChunk};

/// A failed upstream call, already in OpenAI's error shape (its message names the provider
/// and never the key), with a machine-readable kind for logs and retries.
#[derive(Debug, Clone)]
pub struct UpstreamError {
    /// Status and body to send to the client.
    pub error: Box<ApiError>,
    /// Short class such as `upstream_timeout`, `upstream_rate_limited`, `stream_cut`.
    pub kind: String,
    /// Whether another attempt (or another model) could succeed.
    pub retryable: bool,
    /// How long the provider asked callers to wait (429 `retry-after`).
    pub retry_after: Option<std::time::Duration>,
}

impl UpstreamError {
    /// An error of `kind` with the client-facing `error`.
    pub fn new(kind: impl Into<String>, error: ApiError, retryable: bool) -> Self {
        UpstreamError {
            error: Box::new(error),
            kind: kind.into(),
            retryable,
            retry_after: None,
        }
    }
}

/// Streamed chunks of one answer, in order; an `Err` ends the stream. A chunk may carry the
/// upstream's own JSON payload for it ([`StreamChunk::raw`]), which the respond stage sends
/// as is when the client is to see exactly that chunk.
pub type ChunkStream = BoxStream<'static, Result<StreamChunk, UpstreamError>>;

/// One provider's client: answers an OpenAI-shaped request whose `model` is the upstream
/// model name.
pub trait Upstream: Send + Sync + 'static {
    /// The whole answer at once.
    fn complete(
        &self,
        request: ChatCompletionRequest,
    ) -> BoxFuture<'static, Result<ChatCompletionResponse, UpstreamError>>;

    /// The answer as a stream of chunks. Resolves once the upstream has accepted the
    /// request (status received), so a refusal is a plain error rather than a broken stream.
    fn stream(
        &self,
        request: ChatCompletionRequest,
    ) -> BoxFuture<'static, Result<ChunkStream, UpstreamError>>;
}
