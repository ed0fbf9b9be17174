//! Gemini `generateContent` / `streamGenerateContent?alt=sse`.

use crate::http::Upstream;
use crate::{
    ChatProvider, ChunkStream, ProviderError, ProviderErrorKind, ProviderKind, ProviderSettings,
};
use llmgw_translate::gemini::{
    from_gemini_response, to_gemini_request, wire::GenerateContentResponse, GeminiStream,
};
use llmgw_translate::Dialect;
use llmgw_types::{unix_now, ChatCompletionRequest, ChatCompletionResponse};
use reqwest::Url;
use std::sync::Arc;

/// A Gemini upstream (`x-goog-api-key`).
#[derive(Debug, Clone)]
pub struct GeminiProvider {
    up: Arc<Upstream>,
}

impl GeminiProvider {
    /// Builds the adapter and its pooled HTTP client. The models URL (`…/v1beta/models/`) is
    /// parsed here, so a base URL that does not make a valid URL is a config error; each call
    /// only appends `{model}:{method}`.
    pub fn new(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        let auth = settings
            .api_key
            .as_ref()
            .map(|k| vec![("x-goog-api-key", k.expose().to_string())])
            .unwrap_or_default();
        let up = Upstream::new(settings, Dialect::Gemini, auth, |base| {
            if base.ends_with("/v1beta") || base.ends_with("/v1") || base.ends_with("/v1alpha") {
                format!("{base}/models/")
            } else {
                format!("{base}/v1beta/models/")
            }
        })?;
        Ok(GeminiProvider { up: Arc::new(up) })
    }

    /// `…/v1beta/models/{model}:{method}`: the models URL built with the adapter, plus the
    /// model and the method.
    fn url(&self, model: &str, method: &str) -> Result<Url, ProviderError> {
        let model = model.strip_prefix("models/").unwrap_or(model);
        let prefix = self.up.endpoint.as_str();
        let mut url = String::with_capacity(prefix.len() + model.len() + 1 + method.len());
        url.push_str(prefix);
        url.push_str(model);
        url.push(':');
        url.push_str(method);
        Url::parse(&url).map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::BadRequest,
                &self.up.name,
                format!(
                    "{}: model `{model}` does not make a valid URL: {e}",
                    self.up.name
                ),
            )
        })
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
        let url = self.url(&req.model, "generateContent")?;
        let (resp, deadline) = self.up.post(url, &body, false).await?;
        let (text, content_type) = self.up.read_body(resp, deadline).await?;
        let parsed: GenerateContentResponse = self.up.parse_json(&text, content_type.as_deref())?;
        Ok(from_gemini_response(&parsed, &req.model, unix_now()))
    }

    async fn stream(&self, req: &ChatCompletionRequest) -> Result<ChunkStream, ProviderError> {
        let body = to_gemini_request(req).map_err(|e| self.up.translate_err(&e))?;
        let url = self.url(&req.model, "streamGenerateContent?alt=sse")?;
        let (resp, deadline) = self.up.post(url, &body, true).await?;
        let translator = GeminiStream::new(&req.model, unix_now(), req.include_usage());
        Ok(self.up.clone().sse(resp, translator, deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(base: &str) -> Result<GeminiProvider, ProviderError> {
        GeminiProvider::new(&ProviderSettings::new("g", ProviderKind::Gemini).with_base_url(base))
    }

    #[test]
    fn urls_are_the_models_prefix_plus_model_and_method() {
        let p = provider("https://generativelanguage.googleapis.com").unwrap();
        assert_eq!(
            p.url("gemini-2.0-flash", "generateContent")
                .unwrap()
                .as_str(),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"
        );
        assert_eq!(
            p.url("models/gemini-x", "streamGenerateContent?alt=sse")
                .unwrap()
                .as_str(),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-x:streamGenerateContent?alt=sse"
        );
        let p = provider("http://127.0.0.1:9/gemini/v1alpha/").unwrap();
        assert_eq!(
            p.url("m", "generateContent").unwrap().as_str(),
            "http://127.0.0.1:9/gemini/v1alpha/models/m:generateContent"
        );
    }

    #[test]
    fn a_base_url_that_is_not_a_url_is_a_config_error() {
        let err = provider("https://bad host").err().unwrap();
        assert_eq!(err.kind, ProviderErrorKind::Config);
    }
}
