//! Anthropic Messages API.

use crate::http::Upstream;
use crate::{ChatProvider, ChunkStream, ProviderError, ProviderKind, ProviderSettings};
use llmgw_translate::anthropic::{
    from_anthropic_response, json_tool_name, to_anthropic_request, wire::MessagesResponse,
    AnthropicStream, ANTHROPIC_VERSION,
};
use llmgw_translate::Dialect;
use llmgw_types::{unix_now, ChatCompletionRequest, ChatCompletionResponse};
use std::sync::Arc;

/// An Anthropic upstream (`x-api-key`, `anthropic-version: 2023-06-01`).
#[derive(Debug, Clone)]
pub struct AnthropicProvider {
    up: Arc<Upstream>,
}

impl AnthropicProvider {
    /// Builds the adapter and its pooled HTTP client.
    pub fn new(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        let mut auth = vec![("anthropic-version", ANTHROPIC_VERSION.to_string())];
        if let Some(k) = &settings.api_key {
            auth.push(("x-api-key", k.expose().to_string()));
        }
        Ok(AnthropicProvider {
            up: Arc::new(Upstream::new(settings, Dialect::Anthropic, auth)?),
        })
    }

    fn url(&self) -> String {
        if self.up.base_url.ends_with("/v1") {
            format!("{}/messages", self.up.base_url)
        } else {
            format!("{}/v1/messages", self.up.base_url)
        }
    }
}

impl ChatProvider for AnthropicProvider {
    fn name(&self) -> &str {
        &self.up.name
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    async fn complete(
        &self,
        req: &ChatCompletionRequest,
    ) -> Result<ChatCompletionResponse, ProviderError> {
        let mut body = to_anthropic_request(req, None).map_err(|e| self.up.translate_err(&e))?;
        body.stream = None;
        let (resp, deadline) = self.up.post(&self.url(), &body, false).await?;
        let (text, content_type) = self.up.read_body(resp, deadline).await?;
        let parsed: MessagesResponse = self.up.parse_json(&text, content_type.as_deref())?;
        let json_tool = json_tool_name(req);
        Ok(from_anthropic_response(
            &parsed,
            unix_now(),
            json_tool.as_deref(),
        ))
    }

    async fn stream(&self, req: &ChatCompletionRequest) -> Result<ChunkStream, ProviderError> {
        let mut body = to_anthropic_request(req, None).map_err(|e| self.up.translate_err(&e))?;
        body.stream = Some(true);
        let (resp, deadline) = self.up.post(&self.url(), &body, true).await?;
        let translator = AnthropicStream::new(&req.model, unix_now(), req.include_usage())
            .with_json_tool(json_tool_name(req));
        Ok(self.up.clone().sse(resp, translator, deadline))
    }
}
