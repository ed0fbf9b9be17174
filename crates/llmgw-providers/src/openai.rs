//! OpenAI and OpenAI-compatible servers (vLLM, Ollama, Together, Groq…).

use crate::http::Upstream;
use crate::{ChatProvider, ChunkStream, ProviderError, ProviderKind, ProviderSettings};
use llmgw_translate::openai::{upstream_body, OpenAiStream};
use llmgw_translate::Dialect;
use llmgw_types::{ChatCompletionRequest, ChatCompletionResponse};
use std::sync::Arc;

/// An OpenAI-compatible upstream. Without a configured key no `Authorization` header is sent.
#[derive(Debug, Clone)]
pub struct OpenAiProvider {
    up: Arc<Upstream>,
}

impl OpenAiProvider {
    /// Builds the adapter and its pooled HTTP client.
    pub fn new(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        let auth = settings
            .api_key
            .as_ref()
            .map(|k| vec![("authorization", format!("Bearer {}", k.expose()))])
            .unwrap_or_default();
        Ok(OpenAiProvider {
            up: Arc::new(Upstream::new(settings, Dialect::OpenAi, auth)?),
        })
    }

    fn url(&self) -> String {
        format!("{}/chat/completions", self.up.base_url)
    }
}

impl ChatProvider for OpenAiProvider {
    fn name(&self) -> &str {
        &self.up.name
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::OpenAi
    }

    async fn complete(
        &self,
        req: &ChatCompletionRequest,
    ) -> Result<ChatCompletionResponse, ProviderError> {
        let mut r = req.clone();
        r.stream = None;
        r.stream_options = None;
        let (resp, deadline) = self.up.post(&self.url(), &upstream_body(&r), false).await?;
        let (body, content_type) = self.up.read_body(resp, deadline).await?;
        self.up.parse_json(&body, content_type.as_deref())
    }

    async fn stream(&self, req: &ChatCompletionRequest) -> Result<ChunkStream, ProviderError> {
        let mut r = req.clone();
        r.stream = Some(true);
        let (resp, deadline) = self.up.post(&self.url(), &upstream_body(&r), true).await?;
        Ok(self
            .up
            .clone()
            .sse(resp, OpenAiStream::new(req.include_usage()), deadline))
    }
}
