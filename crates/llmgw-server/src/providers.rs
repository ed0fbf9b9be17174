//! The configured providers as the gateway calls them: which are real, which simulated,
//! which have keys, and their clients.

use std::collections::BTreeMap;
use std::sync::Arc;

use llmgw_config::{Config, KeyStatus, ProviderKind};

use crate::upstream::Upstream;

/// A provider key. Its `Debug` and `Display` never show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a key.
    pub fn new(key: impl Into<String>) -> Self {
        Secret(key.into())
    }
    /// The key itself, for the one place that sends it upstream.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Base URLs of a running simulator (one per wire format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimEndpoints {
    /// OpenAI-format base URL (`…/openai/v1`).
    pub openai: String,
    /// Anthropic-format base URL (`…/anthropic`).
    pub anthropic: String,
    /// Gemini-format base URL (`…/gemini`).
    pub gemini: String,
}

impl SimEndpoints {
    fn for_kind(&self, kind: ProviderKind) -> &str {
        match kind {
            ProviderKind::OpenAi => &self.openai,
            ProviderKind::Anthropic => &self.anthropic,
            ProviderKind::Gemini => &self.gemini,
        }
    }
}

/// The key simulated providers are called with (the simulator wants one, any will do).
pub const SIMULATOR_KEY: &str = "llmgw-simulated";

/// A provider resolved for this run: where to send requests and with which key.
#[derive(Debug, Clone)]
pub struct ProviderSpec {
    /// Name from the config.
    pub name: String,
    /// Wire protocol.
    pub kind: ProviderKind,
    /// Base URL actually called (the simulator's when simulated).
    pub base_url: String,
    /// Key sent upstream.
    pub api_key: Option<Secret>,
    /// Name of the environment variable the key comes from.
    pub api_key_env: Option<String>,
    /// Extra headers from the config.
    pub headers: BTreeMap<String, String>,
    /// Served by the built-in simulator.
    pub simulated: bool,
    /// Whether the real key was found.
    pub key_status: KeyStatus,
}

/// Whether any provider of `config` is to be served by the simulator (reads the environment).
pub fn needs_simulator(config: &Config) -> bool {
    config
        .providers
        .values()
        .any(|p| p.use_simulator(p.key_status()))
}

/// Resolve every provider of `config`: read keys from the environment and point the
/// providers that are to be simulated at `sim`.
pub fn resolve_providers(
    config: &Config,
    sim: Option<&SimEndpoints>,
) -> Result<Vec<ProviderSpec>, String> {
    config
        .providers
        .iter()
        .map(|(name, p)| {
            let key_status = p.key_status();
            let simulated = p.use_simulator(key_status);
            let (base_url, api_key) = if simulated {
                let sim = sim.ok_or_else(|| {
                    format!("provider `{name}` is to be simulated, but no simulator is running")
                })?;
                (
                    sim.for_kind(p.kind).trim_end_matches('/').to_string(),
                    Some(Secret::new(SIMULATOR_KEY)),
                )
            } else {
                (
                    p.base_url().to_string(),
                    p.api_key_from_env().map(Secret::new),
                )
            };
            Ok(ProviderSpec {
                name: name.clone(),
                kind: p.kind,
                base_url,
                api_key,
                api_key_env: p.api_key_env.clone(),
                headers: p.headers.clone(),
                simulated,
                key_status,
            })
        })
        .collect()
}

/// A provider ready to be called.
#[derive(Clone)]
pub struct ProviderHandle {
    /// Name from the config.
    pub name: String,
    /// Wire protocol.
    pub kind: ProviderKind,
    /// Served by the built-in simulator.
    pub simulated: bool,
    /// Whether the real key was found.
    pub key_status: KeyStatus,
    /// Environment variable of the key, for messages.
    pub api_key_env: Option<String>,
    /// The client.
    pub upstream: Arc<dyn Upstream>,
}

impl ProviderHandle {
    /// A key is present, or none is needed, or the simulator serves it.
    pub fn has_key(&self) -> bool {
        self.simulated || self.key_status != KeyStatus::Missing
    }
}

impl std::fmt::Debug for ProviderHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderHandle")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("simulated", &self.simulated)
            .field("key_status", &self.key_status)
            .finish()
    }
}

/// Every provider, by name.
#[derive(Debug, Clone, Default)]
pub struct ProviderRegistry {
    by_name: BTreeMap<String, ProviderHandle>,
}

impl ProviderRegistry {
    /// A registry of `handles`.
    pub fn new(handles: Vec<ProviderHandle>) -> Self {
        ProviderRegistry {
            by_name: handles.into_iter().map(|h| (h.name.clone(), h)).collect(),
        }
    }

    /// The provider named `name`.
    pub fn get(&self, name: &str) -> Option<&ProviderHandle> {
        self.by_name.get(name)
    }

    /// All providers, by name.
    pub fn iter(&self) -> impl Iterator<Item = &ProviderHandle> {
        self.by_name.values()
    }

    /// Why requests cannot be sent to `name` now; `None` when they can.
    pub fn unavailable_reason(&self, name: &str) -> Option<String> {
        match self.by_name.get(name) {
            None => Some(format!("provider `{name}` is not configured")),
            Some(p) if !p.has_key() => Some(format!(
                "provider `{name}` has no API key: set the environment variable {}",
                p.api_key_env.as_deref().unwrap_or("named by api_key_env")
            )),
            Some(_) => None,
        }
    }
}

/// The provider crate's clients behind the [`Upstream`] seam.
mod adapter {
    use futures::future::BoxFuture;
    use futures::StreamExt;
    use llmgw_providers::{Provider, ProviderError};
    use llmgw_types::{ApiError, ChatCompletionRequest, ChatCompletionResponse, StreamChunk};

    use crate::upstream::{ChunkStream, Upstream, UpstreamError};

    /// `ProviderError` → the client-facing error (its message names the provider, never the key).
    pub fn upstream_error(e: &ProviderError) -> UpstreamError {
        let (status, body) = e.to_openai_error();
        let mut err = UpstreamError::new(
            format!("upstream_{}", e.kind.as_str()),
            ApiError::new(status, body),
            e.is_retryable(),
        );
        err.retry_after = e.retry_after();
        err
    }

    impl Upstream for Provider {
        fn complete(
            &self,
            request: ChatCompletionRequest,
        ) -> BoxFuture<'static, Result<ChatCompletionResponse, UpstreamError>> {
            let provider = self.clone();
            Box::pin(async move {
                provider
                    .complete(&request)
                    .await
                    .map_err(|e| upstream_error(&e))
            })
        }

        fn stream(
            &self,
            request: ChatCompletionRequest,
        ) -> BoxFuture<'static, Result<ChunkStream, UpstreamError>> {
            let provider = self.clone();
            Box::pin(async move {
                let chunks = provider
                    .stream(&request)
                    .await
                    .map_err(|e| upstream_error(&e))?;
                let mapped: ChunkStream = chunks
                    .map(|item: Result<StreamChunk, ProviderError>| {
                        item.map_err(|e| upstream_error(&e))
                    })
                    .boxed();
                Ok(mapped)
            })
        }
    }
}

/// Build a client for every resolved provider, with the configured time budgets.
pub fn connect_providers(
    specs: &[ProviderSpec],
    server: &llmgw_config::ServerConfig,
) -> Result<ProviderRegistry, String> {
    let timeouts = llmgw_providers::Timeouts {
        connect: server.connect_timeout(),
        first_token: server.first_token_timeout(),
        total: server.request_timeout(),
    };
    let handles = specs
        .iter()
        .map(|spec| {
            let kind = match spec.kind {
                ProviderKind::OpenAi => llmgw_providers::ProviderKind::OpenAi,
                ProviderKind::Anthropic => llmgw_providers::ProviderKind::Anthropic,
                ProviderKind::Gemini => llmgw_providers::ProviderKind::Gemini,
            };
            let mut settings = llmgw_providers::ProviderSettings::new(spec.name.clone(), kind)
                .with_base_url(spec.base_url.clone())
                .with_timeouts(timeouts);
            if let Some(key) = &spec.api_key {
                settings = settings.with_api_key(key.expose());
            }
            for (name, value) in &spec.headers {
                settings = settings.with_header(name.clone(), value.clone());
            }
            let client = llmgw_providers::Provider::new(&settings)
                .map_err(|e| format!("provider `{}`: {e}", spec.name))?;
            Ok(ProviderHandle {
                name: spec.name.clone(),
                kind: spec.kind,
                simulated: spec.simulated,
                key_status: spec.key_status,
                api_key_env: spec.api_key_env.clone(),
                upstream: Arc::new(client),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(ProviderRegistry::new(handles))
}
