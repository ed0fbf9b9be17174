//! The provider trait and the enum of configured providers.

use crate::{
    AnthropicProvider, GeminiProvider, OpenAiProvider, ProviderError, ProviderKind,
    ProviderSettings,
};
use futures::stream::BoxStream;
use llmgw_types::{ChatCompletionRequest, ChatCompletionResponse, StreamChunk};
use std::future::Future;

/// OpenAI chunks as they arrive; a failure mid-way is the last item. Chunks of an
/// OpenAI-compatible upstream carry the payload it sent (see [`StreamChunk::raw`]).
pub type ChunkStream = BoxStream<'static, Result<StreamChunk, ProviderError>>;

/// What every adapter does: answer a chat request whole, or as a stream.
/// `req.model` is already the upstream model name.
pub trait ChatProvider {
    /// The configured provider name.
    fn name(&self) -> &str;
    /// The protocol.
    fn kind(&self) -> ProviderKind;
    /// One whole answer.
    fn complete(
        &self,
        req: &ChatCompletionRequest,
    ) -> impl Future<Output = Result<ChatCompletionResponse, ProviderError>> + Send;
    /// A stream of chunks. Errors before the first byte (HTTP status, connect, timeout) come
    /// back as `Err`; later ones as the stream's last item.
    fn stream(
        &self,
        req: &ChatCompletionRequest,
    ) -> impl Future<Output = Result<ChunkStream, ProviderError>> + Send;
}

/// A configured provider of any kind. Cheap to clone (the HTTP client and settings are shared).
#[derive(Debug, Clone)]
pub enum Provider {
    /// OpenAI or an OpenAI-compatible server.
    OpenAi(OpenAiProvider),
    /// Anthropic.
    Anthropic(AnthropicProvider),
    /// Gemini.
    Gemini(GeminiProvider),
}

impl Provider {
    /// Builds the adapter for `settings.kind`.
    pub fn new(settings: &ProviderSettings) -> Result<Provider, ProviderError> {
        Ok(match settings.kind {
            ProviderKind::OpenAi => Provider::OpenAi(OpenAiProvider::new(settings)?),
            ProviderKind::Anthropic => Provider::Anthropic(AnthropicProvider::new(settings)?),
            ProviderKind::Gemini => Provider::Gemini(GeminiProvider::new(settings)?),
        })
    }

    /// The configured provider name.
    pub fn name(&self) -> &str {
        match self {
            Provider::OpenAi(p) => p.name(),
            Provider::Anthropic(p) => p.name(),
            Provider::Gemini(p) => p.name(),
        }
    }

    /// The protocol.
    pub fn kind(&self) -> ProviderKind {
        match self {
            Provider::OpenAi(_) => ProviderKind::OpenAi,
            Provider::Anthropic(_) => ProviderKind::Anthropic,
            Provider::Gemini(_) => ProviderKind::Gemini,
        }
    }

    /// One whole answer.
    pub async fn complete(
        &self,
        req: &ChatCompletionRequest,
    ) -> Result<ChatCompletionResponse, ProviderError> {
        match self {
            Provider::OpenAi(p) => p.complete(req).await,
            Provider::Anthropic(p) => p.complete(req).await,
            Provider::Gemini(p) => p.complete(req).await,
        }
    }

    /// A stream of chunks (see [`ChatProvider::stream`]).
    pub async fn stream(&self, req: &ChatCompletionRequest) -> Result<ChunkStream, ProviderError> {
        match self {
            Provider::OpenAi(p) => p.stream(req).await,
            Provider::Anthropic(p) => p.stream(req).await,
            Provider::Gemini(p) => p.stream(req).await,
        }
    }
}

impl ChatProvider for Provider {
    fn name(&self) -> &str {
        Provider::name(self)
    }

    fn kind(&self) -> ProviderKind {
        Provider::kind(self)
    }

    async fn complete(
        &self,
        req: &ChatCompletionRequest,
    ) -> Result<ChatCompletionResponse, ProviderError> {
        Provider::complete(self, req).await
    }

    async fn stream(&self, req: &ChatCompletionRequest) -> Result<ChunkStream, ProviderError> {
        Provider::stream(self, req).await
    }
}
