//! Everything a request handler needs, shared by all requests.

use std::sync::Arc;
use std::time::Instant;

use llmgw_config::Config;
use llmgw_outcomes::OutcomeLog;

use llmgw_governance::Governor;
use llmgw_reliability::Executor;

use crate::auto::AutoRouting;
use crate::metrics::Metrics;
use crate::providers::ProviderRegistry;
use crate::stages::auth::Authenticator;
use crate::stages::cache::ResponseCache;

/// Shared state of a running gateway.
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Providers and their clients.
    pub providers: ProviderRegistry,
    /// Auth stage.
    pub auth: Arc<dyn Authenticator>,
    /// Cache stage (`None`: no cache).
    pub cache: Option<Arc<dyn ResponseCache>>,
    /// Route stage for `auto`.
    pub auto: AutoRouting,
    /// Record stage (`None`: outcomes are only logged as tracing events).
    pub outcomes: Option<OutcomeLog>,
    /// Prometheus metrics (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// Gateway keys, budgets and rate limits (open when no keys exist).
    pub governor: Governor,
    /// Retries, fallbacks and circuit breakers of upstream calls.
    pub executor: Executor,
    /// Background tasks that must finish before the outcome log closes.
    pub tasks: tokio_util::task::TaskTracker,
    /// When the gateway started.
    pub started: Instant,
    /// The same, as Unix seconds (the `created` of `/v1/models`).
    pub started_unix: u64,
}
