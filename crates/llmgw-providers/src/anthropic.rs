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
    /// Builds the adapter and its pooled HTTP client; the endpoint URL is parsed here, so a
    /// base URL that does not make a valid URL is a config error.
    pub fn new(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        let mut auth = vec![("anthropic-version", ANTHROPIC_VERSION.to_string())];
        if let Some(k) = &settings.api_key {
            auth.push(("x-api-key", k.expose().to_string()));
        }
        let up = Upstream::new(settings, Dialect::Anthropic, auth, |base| {
            if base.ends_with("/v1") {
                format!("{base}/messages")
            } else {
                format!("{base}/v1/messages")
            }
        })?;
        Ok(AnthropicProvider { up: Arc::new(up) })
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
        let (resp, deadline) = self.up.post(self.up.endpoint.clone(), &body, false).await?;
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
        let (resp, deadline) = self.up.post(self.up.endpoint.clone(), &body, true).await?;
        let translator = AnthropicStream::new(&req.model, unix_now(), req.include_usage())
            .with_json_tool(json_tool_name(req));
        Ok(self.up.clone().sse(resp, translator, deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(base: &str) -> Result<String, ProviderError> {
        let settings = ProviderSettings::new("a", ProviderKind::Anthropic).with_base_url(base);
        AnthropicProvider::new(&settings).map(|p| p.up.endpoint.to_string())
    }

    #[test]
    fn the_endpoint_is_built_once_from_the_base_url() {
        assert_eq!(
            endpoint("https://api.anthropic.com").unwrap(),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            endpoint("http://127.0.0.1:9/anthropic/v1/").unwrap(),
            "http://127.0.0.1:9/anthropic/v1/messages"
        );
        let err = endpoint("http://[::1/v1").unwrap_err();
        assert_eq!(err.kind, crate::ProviderErrorKind::Config);
    }
}
