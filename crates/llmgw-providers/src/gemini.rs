//! Gemini `generateContent` / `streamGenerateContent?alt=sse`.

use crate::http::Upstream;
use crate::{ChatProvider, ChunkStream, ProviderError, ProviderKind, ProviderSettings};
use llmgw_translate::gemini::{
    from_gemini_response, to_gemini_request, wire::GenerateContentResponse, GeminiStream,
};
use llmgw_translate::Dialect;
use llmgw_types::{unix_now, ChatCompletionRequest, ChatCompletionResponse};
use std::sync::Arc;

/// A Gemini upstream (`x-goog-api-key`).
#[derive(Debug, Clone)]
pub struct GeminiProvider {
    up: Arc<Upstream>,
}

impl GeminiProvider {
    /// Builds the adapter and its pooled HTTP client.
    pub fn new(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        let auth = settings
            .api_key
            .as_ref()
            .map(|k| vec![("x-goog-api-key", k.expose().to_string())])
            .unwrap_or_default();
        Ok(GeminiProvider {
            up: Arc::new(Upstream::new(settings, Dialect::Gemini, auth)?),
        })
    }

    /// `…/v1beta/models/{model}:{method}`.
    fn url(&self, model: &str, method: &str) -> String {
        let model = model.strip_prefix("models/").unwrap_or(model);
        let base = &self.up.base_url;
        if base.ends_with("/v1beta") || base.ends_with("/v1") || base.ends_with("/v1alpha") {
            format!("{base}/models/{model}:{method}")
        } else {
            format!("{base}/v1beta/models/{model}:{method}")
        }
    }
}

impl ChatProvider for GeminiProvider {
    fn name(&self) -> &str {
        &self.up.name
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Gemini
    }

    async fn complete(
        &self,
        req: &ChatCompletionRequest,
    ) -> Result<ChatCompletionResponse, ProviderError> {
        let body = to_gemini_request(req).map_err(|e| self.up.translate_err(&e))?;
        let url = self.url(&req.model, "generateContent");
        let (resp, deadline) = self.up.post(&url, &body, false).await?;
        let (text, content_type) = self.up.read_body(resp, deadline).await?;
        let parsed: GenerateContentResponse = self.up.parse_json(&text, content_type.as_deref())?;
        Ok(from_gemini_response(&parsed, &req.model, unix_now()))
    }

    async fn stream(&self, req: &ChatCompletionRequest) -> Result<ChunkStream, ProviderError> {
        let body = to_gemini_request(req).map_err(|e| self.up.translate_err(&e))?;
        let url = self.url(&req.model, "streamGenerateContent?alt=sse");
        let (resp, deadline) = self.up.post(&url, &body, true).await?;
        let translator = GeminiStream::new(&req.model, unix_now(), req.include_usage());
        Ok(self.up.clone().sse(resp, translator, deadline))
    }
}
