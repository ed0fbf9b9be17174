//! `GET /health`: is the gateway up, and which providers can it reach.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::state::AppState;

/// The health body.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` when at least one provider can be called, `degraded` when none can.
    pub status: &'static str,
    /// Gateway version.
    pub version: &'static str,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// Requests may reach the gateway without a gateway key.
    pub open_access: bool,
    /// Gateway keys configured or issued.
    pub gateway_keys: usize,
    /// The admin API is enabled (an admin key is configured).
    pub admin_api: bool,
    /// Circuit breakers of the (provider, model) pairs called so far.
    pub circuit_breakers: Vec<llmgw_reliability::BreakerStatus>,
    /// Auto routing state.
    pub auto_routing: AutoRoutingHealth,
    /// Providers by name.
    pub providers: Vec<ProviderHealth>,
}

/// Auto routing in `/health`.
#[derive(Debug, Serialize)]
pub struct AutoRoutingHealth {
    /// `model: "auto"` is served.
    pub enabled: bool,
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One provider in `/health`.
#[derive(Debug, Serialize)]
pub struct ProviderHealth {
    /// Name from the config.
    pub name: String,
    /// `openai`, `anthropic` or `gemini`.
    pub kind: &'static str,
    /// A key is configured and present (or none is needed).
    pub has_key: bool,
    /// Served by the built-in simulator.
    pub simulated: bool,
    /// Requests can be sent to it now.
    pub available: bool,
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Catalog models it serves.
    pub models: usize,
}

/// `GET /health`.
pub async fn health(State(state): State<Arc<AppState>>) -> Json<Health> {
    let providers: Vec<ProviderHealth> = state
        .providers
        .iter()
        .map(|p| {
            let reason = state.providers.unavailable_reason(&p.name);
            ProviderHealth {
                name: p.name.clone(),
                kind: p.kind.as_str(),
                has_key: p.has_key(),
                simulated: p.simulated,
                available: reason.is_none(),
                reason,
                models: state
                    .config
                    .catalog
                    .models()
                    .iter()
                    .filter(|m| m.provider == p.name)
                    .count(),
            }
        })
        .collect();
    let any_up = providers.iter().any(|p| p.available);
    Json(Health {
        status: if any_up { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: state.started.elapsed().as_secs(),
        open_access: state.auth.is_open(),
        gateway_keys: state.governor.keys().len(),
        admin_api: state.governor.admin_enabled(),
        circuit_breakers: state.executor.breakers.snapshot(),
        auto_routing: AutoRoutingHealth {
            enabled: state.auto.is_enabled(),
            reason: state.auto.disabled_reason().map(str::to_string),
        },
        providers,
    })
}
