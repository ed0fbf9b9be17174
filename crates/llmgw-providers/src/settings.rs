//! Provider settings (independent of the gateway's config file format).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// A secret (API key). `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The secret value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The wire protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// OpenAI chat completions, and OpenAI-compatible servers (vLLM, Ollama, Together, Groq…).
    OpenAi,
    /// Anthropic Messages API.
    Anthropic,
    /// Gemini generateContent.
    Gemini,
}

impl ProviderKind {
    /// `openai`, `anthropic` or `gemini`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
        }
    }

    /// The public API's base URL.
    pub fn default_base_url(&self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "https://api.openai.com/v1",
            ProviderKind::Anthropic => "https://api.anthropic.com",
            ProviderKind::Gemini => "https://generativelanguage.googleapis.com",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "openai" | "openai-compatible" | "openai_compatible" => Ok(ProviderKind::OpenAi),
            "anthropic" => Ok(ProviderKind::Anthropic),
            "gemini" | "google" => Ok(ProviderKind::Gemini),
            other => Err(format!(
                "unknown provider kind `{other}`; expected one of: openai, anthropic, gemini"
            )),
        }
    }
}

/// Time limits of one upstream call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP/TLS connection.
    pub connect: Duration,
    /// Streams: from sending the request to the first chunk, and the longest gap between two
    /// upstream events afterwards.
    pub first_token: Duration,
    /// The whole call, body or stream included.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_token: Duration::from_secs(60),
            total: Duration::from_secs(600),
        }
    }
}

/// Everything needed to talk to one configured provider.
#[derive(Clone)]
pub struct ProviderSettings {
    /// The provider's name in the gateway's config (used in errors and logs).
    pub name: String,
    /// Its protocol.
    pub kind: ProviderKind,
    /// Base URL: `…/v1` for OpenAI-compatible servers, the host root for Anthropic and Gemini
    /// (a trailing `/v1` or `/v1beta` is accepted too).
    pub base_url: String,
    /// API key; `None` sends no credentials (local OpenAI-compatible servers).
    pub api_key: Option<Secret>,
    /// Headers added to every request.
    pub extra_headers: Vec<(String, String)>,
    /// Time limits.
    pub timeouts: Timeouts,
}

impl ProviderSettings {
    /// Settings for `kind` at its public base URL, without a key, with default timeouts.
    pub fn new(name: impl Into<String>, kind: ProviderKind) -> Self {
        ProviderSettings {
            name: name.into(),
            kind,
            base_url: kind.default_base_url().to_string(),
            api_key: None,
            extra_headers: Vec::new(),
            timeouts: Timeouts::default(),
        }
    }

    /// Sets the base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Sets the API key.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret::new(key));
        self
    }

    /// Sets the timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Adds a header sent with every request.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.extra_headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("ProviderSettings")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("extra_headers", &header_names)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = ProviderSettings::new("main", ProviderKind::Anthropic)
            .with_api_key("sk-ant-very-secret")
            .with_header("x-custom-auth", "hidden-value");
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("very-secret") && !dbg.contains("hidden-value"),
            "{dbg}"
        );
        assert!(dbg.contains("x-custom-auth"));
        let key = s.api_key.unwrap();
        assert_eq!(key.to_string(), "[redacted]");
        assert_eq!(key.expose(), "sk-ant-very-secret");
    }

    #[test]
    fn kinds_parse() {
        assert_eq!(
            "Anthropic".parse::<ProviderKind>(),
            Ok(ProviderKind::Anthropic)
        );
        assert_eq!("openai".parse::<ProviderKind>(), Ok(ProviderKind::OpenAi));
        assert!("bedrock"
            .parse::<ProviderKind>()
            .unwrap_err()
            .contains("expected one of"));
    }
}
