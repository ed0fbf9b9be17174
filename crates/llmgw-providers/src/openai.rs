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
    /// Builds the adapter and its pooled HTTP client; `{base_url}/chat/completions` is parsed
    /// here, so a base URL that does not make a valid URL is a config error.
    pub fn new(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        let auth = settings
            .api_key
            .as_ref()
            .map(|k| vec![("authorization", format!("Bearer {}", k.expose()))])
            .unwrap_or_default();
        let up = Upstream::new(settings, Dialect::OpenAi, auth, |base| {
            format!("{base}/chat/completions")
        })?;
        Ok(OpenAiProvider { up: Arc::new(up) })
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
        let body = upstream_body(req).whole();
        let (resp, deadline) = self.up.post(self.up.endpoint.clone(), &body, false).await?;
        let (body, content_type) = self.up.read_body(resp, deadline).await?;
        self.up.parse_json(&body, content_type.as_deref())
    }

    async fn stream(&self, req: &ChatCompletionRequest) -> Result<ChunkStream, ProviderError> {
        let body = upstream_body(req).streaming();
        let (resp, deadline) = self.up.post(self.up.endpoint.clone(), &body, true).await?;
        Ok(self
            .up
            .clone()
            .sse(resp, OpenAiStream::new(req.include_usage()), deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(base: &str) -> Result<String, ProviderError> {
        let settings = ProviderSettings::new("o", ProviderKind::OpenAi).with_base_url(base);
        OpenAiProvider::new(&settings).map(|p| p.up.endpoint.to_string())
    }

    #[test]
    fn the_endpoint_is_built_once_from_the_base_url() {
        assert_eq!(
            endpoint("http://host:8000/v1/").unwrap(),
            "http://host:8000/v1/chat/completions"
        );
        assert_eq!(
            endpoint(" https://api.example.com/openai/v1 ").unwrap(),
            "https://api.example.com/openai/v1/chat/completions"
        );
    }

    #[test]
    fn a_base_url_that_is_not_a_url_is_a_config_error() {
        let err = endpoint("http://exa mple.com/v1").unwrap_err();
        assert_eq!(err.kind, crate::ProviderErrorKind::Config);
        assert!(err.message.contains("not a valid URL"), "{}", err.message);
        assert!(err.message.contains("exa mple.com"), "{}", err.message);
    }
}
