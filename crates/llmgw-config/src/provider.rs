//! `[providers.<name>]`: the upstream LLM services the gateway calls.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The wire protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI Chat Completions, and any OpenAI-compatible server (vLLM, Ollama, Together, Groq…).
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic Messages API.
    Anthropic,
    /// Google Gemini `generateContent`.
    Gemini,
}

impl ProviderKind {
    /// The public base URL of the provider's own service.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "https://api.openai.com/v1",
            ProviderKind::Anthropic => "https://api.anthropic.com",
            ProviderKind::Gemini => "https://generativelanguage.googleapis.com",
        }
    }

    /// The name used in config files (`openai`, `anthropic`, `gemini`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a provider is served by the built-in simulator instead of its real service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SimulateMode {
    /// Always call the real service (default).
    #[default]
    Never,
    /// Use the simulator when the key's environment variable is unset or empty.
    WhenNoKey,
    /// Always use the simulator.
    Always,
}

/// One `[providers.<name>]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Wire protocol: `openai`, `anthropic` or `gemini`.
    pub kind: ProviderKind,
    /// Base URL; default: the kind's public service. For `openai` it includes `/v1`
    /// (the gateway appends `/chat/completions`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Name of the environment variable that holds the API key (never the key itself).
    /// Unset: the provider is called without a key (local OpenAI-compatible servers).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Extra HTTP headers sent with every request to this provider.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// When to serve this provider from the built-in simulator. Default `never`.
    #[serde(default)]
    pub simulate: SimulateMode,
}

/// Whether a provider's key is available, without exposing the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// The provider takes no key (`api_key_env` unset).
    NotNeeded,
    /// The named environment variable is set and not empty.
    Present,
    /// The named environment variable is unset or empty.
    Missing,
}

impl ProviderConfig {
    /// The base URL to call (the configured one, or the kind's default), without a trailing `/`.
    pub fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or(self.kind.default_base_url())
            .trim_end_matches('/')
    }

    /// The API key read from the environment variable named by `api_key_env`.
    /// `None` when no variable is named or it is unset or empty.
    pub fn api_key_from_env(&self) -> Option<String> {
        let var = self.api_key_env.as_deref()?;
        std::env::var(var).ok().filter(|k| !k.trim().is_empty())
    }

    /// Whether the key is needed and present (reads the environment).
    pub fn key_status(&self) -> KeyStatus {
        match &self.api_key_env {
            None => KeyStatus::NotNeeded,
            Some(_) if self.api_key_from_env().is_some() => KeyStatus::Present,
            Some(_) => KeyStatus::Missing,
        }
    }

    /// Whether this provider should be served by the simulator, given its key status.
    pub fn use_simulator(&self, key: KeyStatus) -> bool {
        match self.simulate {
            SimulateMode::Never => false,
            SimulateMode::Always => true,
            SimulateMode::WhenNoKey => key == KeyStatus::Missing,
        }
    }

    pub(crate) fn validate(&mut self, file: &Path, name: &str) -> Result<(), ConfigError> {
        let key = |k: &str| format!("providers.{name}.{k}");
        if !is_identifier(name) {
            return Err(ConfigError::invalid(
                file,
                format!("providers.{name}"),
                "expected a provider name made of letters, digits, `-` and `_`",
            ));
        }
        if let Some(url) = &self.base_url {
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.len() <= "https://".len()
                || url.contains(char::is_whitespace)
            {
                return Err(ConfigError::invalid(
                    file,
                    key("base_url"),
                    format!("expected an http:// or https:// URL, got {url:?}"),
                ));
            }
        }
        if let Some(var) = &self.api_key_env {
            // Never echo the value: a user may have pasted a key here by mistake.
            if looks_like_a_key(var) {
                return Err(ConfigError::invalid(
                    file,
                    key("api_key_env"),
                    "expected the NAME of an environment variable (e.g. \"OPENAI_API_KEY\"), \
                     but the value looks like an API key; keys never go in the config file",
                ));
            }
            if !is_env_var_name(var) {
                return Err(ConfigError::invalid(
                    file,
                    key("api_key_env"),
                    "expected the name of an environment variable: letters, digits and `_`, \
                     not starting with a digit",
                ));
            }
        }
        for (header, value) in &self.headers {
            if header.is_empty() || !header.bytes().all(is_header_name_byte) {
                return Err(ConfigError::invalid(
                    file,
                    format!("providers.{name}.headers"),
                    format!("expected HTTP header names (letters, digits, `-`), got {header:?}"),
                ));
            }
            if !value
                .bytes()
                .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
            {
                return Err(ConfigError::invalid(
                    file,
                    format!("providers.{name}.headers.{header}"),
                    "expected a header value of printable ASCII characters",
                ));
            }
        }
        Ok(())
    }
}

/// Letters, digits, `-`, `_`; not empty.
pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_env_var_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn looks_like_a_key(s: &str) -> bool {
    let prefixes = ["sk-", "sk_", "AIza", "gsk_", "xai-", "Bearer "];
    prefixes.iter().any(|p| s.starts_with(p))
        || (s.len() >= 32
            && s.bytes().any(|b| b.is_ascii_lowercase())
            && s.bytes().any(|b| b.is_ascii_digit()))
}

fn is_header_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names() {
        assert!(is_env_var_name("OPENAI_API_KEY"));
        assert!(is_env_var_name("_X1"));
        assert!(!is_env_var_name("1X"));
        assert!(!is_env_var_name("MY-KEY"));
        assert!(!is_env_var_name(""));
    }

    #[test]
    fn keys_are_recognised() {
        assert!(looks_like_a_key("sk-proj-abc123"));
        assert!(looks_like_a_key("AIzaSyD-abcdef"));
        assert!(looks_like_a_key("a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6"));
        assert!(!looks_like_a_key("OPENAI_API_KEY"));
        assert!(!looks_like_a_key("LLMGW_TOGETHER_API_KEY_FOR_PRODUCTION"));
    }
}
