//! The HTTP gateway of LLM Gateway: an OpenAI-compatible API (`/v1/chat/completions`,
//! `/v1/models`, `/v1/route`, `/v1/feedback`, `/health`) and Prometheus `/metrics` over the
//! configured providers.
//!
//! The request path is a pipeline of stages (`stages/`): auth → validate → route → cache →
//! call → respond → record. Each stage is a small module with a narrow interface; the
//! seams that later capabilities fill (gateway keys, response caches, quality predictors)
//! are traits: [`Authenticator`], [`ResponseCache`], [`QualityPredictor`], [`Upstream`].
//!
//! ```no_run
//! # async fn demo(config: llmgw_config::Config, providers: llmgw_server::ProviderRegistry)
//! # -> std::io::Result<()> {
//! let gateway = llmgw_server::Gateway::builder(config, providers).build();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! gateway.serve(listener, llmgw_server::shutdown_signal()).await
//! # }
//! ```

mod app;
pub mod auto;
mod classifier;
mod error;
pub mod governance;
mod handlers;
pub mod meta;
pub mod metrics;
pub mod output_lengths;
mod pipeline;
pub mod providers;
mod serving;
mod shutdown;
pub mod stages;
mod state;
pub mod upstream;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use llmgw_config::Config;
use llmgw_governance::Governor;
use llmgw_outcomes::OutcomeLog;
use llmgw_reliability::Executor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use auto::{AutoRouting, Prediction, QualityPredictor};
pub use classifier::{load_router, ClassifierPredictor};
pub use error::{error_response, HttpError};
pub use metrics::Metrics;
pub use providers::{
    connect_providers, needs_simulator, resolve_providers, ProviderHandle, ProviderRegistry,
    ProviderSpec, Secret, SimEndpoints,
};
pub use serving::Serving;
pub use shutdown::signal as shutdown_signal;
pub use stages::auth::{Authenticator, Caller, OpenAccess};
pub use stages::cache::ResponseCache;
pub use state::AppState;
pub use upstream::{ChunkStream, Upstream, UpstreamError};

/// Assembles a [`Gateway`]; every stage has a default (open access, no cache, no auto
/// routing, no outcome log).
pub struct GatewayBuilder {
    config: Config,
    providers: ProviderRegistry,
    auth: Option<Arc<dyn Authenticator>>,
    cache: Option<Arc<dyn ResponseCache>>,
    auto: AutoRouting,
    outcomes: Option<OutcomeLog>,
    governor: Option<Governor>,
    executor: Option<Executor>,
}

impl GatewayBuilder {
    /// Use `auth` in the auth stage.
    pub fn auth(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Use `governor` for keys, budgets and rate limits (default: from the config's
    /// `[[keys]]` and `[admin]`). Unless [`GatewayBuilder::auth`] installs another
    /// authenticator, the auth stage checks the governor's keys.
    pub fn governor(mut self, governor: Governor) -> Self {
        self.governor = Some(governor);
        self
    }

    /// Use `executor` for retries, fallbacks and breakers (default: the config's
    /// `[reliability]`).
    pub fn executor(mut self, executor: Executor) -> Self {
        self.executor = Some(executor);
        self
    }

    /// Use `cache` in the cache stage.
    pub fn cache(mut self, cache: Arc<dyn ResponseCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Serve `model: "auto"` as configured in `auto`.
    pub fn auto_routing(mut self, auto: AutoRouting) -> Self {
        self.auto = auto;
        self
    }

    /// Write one outcome record per request to `log`.
    pub fn outcome_log(mut self, log: OutcomeLog) -> Self {
        self.outcomes = Some(log);
        self
    }

    /// The gateway.
    pub fn build(self) -> Gateway {
        let started_unix = llmgw_types::unix_now();
        // `[[keys]]` were validated when the config was loaded; a keys file that cannot be
        // read stops the start (`llmgw serve` loads it itself, with a clear error).
        #[allow(clippy::expect_used)]
        let governor = self.governor.unwrap_or_else(|| {
            governance::governor_from_config(&self.config)
                .expect("the gateway keys (config and admin keys file) load")
        });
        let executor = self
            .executor
            .unwrap_or_else(|| governance::executor_from_config(&self.config));
        let auth = self
            .auth
            .unwrap_or_else(|| Arc::new(governance::GovernorAuth(governor.clone())));
        // Fixed, valid metric names: building them fails only on a library defect.
        #[allow(clippy::expect_used)]
        let metrics = Arc::new(
            Metrics::new()
                .expect("the metric definitions are valid")
                .with_answer_lengths(self.auto.output_lengths().clone()),
        );
        Gateway {
            state: Arc::new(AppState {
                config: Arc::new(self.config),
                providers: self.providers,
                auth,
                cache: self.cache,
                auto: self.auto,
                outcomes: self.outcomes,
                metrics,
                governor,
                executor,
                tasks: TaskTracker::new(),
                started: Instant::now(),
                started_unix,
            }),
        }
    }
}

/// A gateway ready to serve.
#[derive(Clone)]
pub struct Gateway {
    state: Arc<AppState>,
}

impl Gateway {
    /// Start assembling a gateway for `config` with `providers`.
    pub fn builder(config: Config, providers: ProviderRegistry) -> GatewayBuilder {
        GatewayBuilder {
            config,
            providers,
            auth: None,
            cache: None,
            auto: AutoRouting::disabled("no router is loaded"),
            outcomes: None,
            governor: None,
            executor: None,
        }
    }

    /// The shared state.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// The axum router (for embedding the gateway in another server, or for tests).
    pub fn router(&self) -> axum::Router {
        app::router(self.state.clone())
    }

    /// Serve on `listener` until `shutdown` resolves; then stop accepting, give in-flight
    /// requests `server.shutdown_grace_secs` to finish, close what remains, and wait for
    /// the record stage's pending work. The outcome log itself is closed by its owner.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self.state.config.server.shutdown_grace();
        let stopping = CancellationToken::new();
        let signal = {
            let stopping = stopping.clone();
            async move {
                shutdown.await;
                stopping.cancel();
            }
        };
        // Small writes (SSE chunks, short answers) go out at once, not after the client's
        // delayed ACK.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
        });
        let server = axum::serve(listener, self.router()).with_graceful_shutdown(signal);
        tokio::select! {
            result = server => result?,
            () = async {
                stopping.cancelled().await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(
                    grace_secs = grace.as_secs_f64(),
                    "shutdown grace period over: closing the connections still open"
                );
            }
        }
        self.state.tasks.close();
        self.state.tasks.wait().await;
        Ok(())
    }
}
