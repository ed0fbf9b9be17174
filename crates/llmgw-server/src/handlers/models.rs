//! `GET /v1/models`: the catalog in OpenAI's list format (no keys, no upstream URLs).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::state::AppState;

/// One entry: OpenAI's `id`, `object`, `created`, `owned_by`, plus the gateway's own facts.
#[derive(Debug, Serialize)]
pub struct ModelEntry {
    /// Catalog id.
    pub id: String,
    /// Always `model`.
    pub object: &'static str,
    /// Unix seconds (the gateway's start).
    pub created: u64,
    /// Provider name.
    pub owned_by: String,
    /// Prices, context and availability.
    pub llmgw: ModelFacts,
}

/// The gateway's facts about a model.
#[derive(Debug, Serialize)]
pub struct ModelFacts {
    /// Provider name.
    pub provider: String,
    /// Whether it can be called now (its provider has a key or needs none).
    pub available: bool,
    /// Served by the built-in simulator.
    pub simulated: bool,
    /// USD per 1M input tokens.
    pub input_per_mtok: f64,
    /// USD per 1M output tokens.
    pub output_per_mtok: f64,
    /// USD per 1M cached input tokens.
    pub cached_input_per_mtok: f64,
    /// Context window in tokens.
    pub context_window: u64,
    /// Largest completion, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Router profile it is scored as, for `auto`.
    pub quality_profile: String,
}

/// The `{"object": "list", "data": [...]}` body.
#[derive(Debug, Serialize)]
pub struct ModelListBody {
    /// Always `list`.
    pub object: &'static str,
    /// Models in catalog order, then the routing aliases when auto routing is on.
    pub data: Vec<serde_json::Value>,
}

/// `GET /v1/models`.
pub async fn list_models(State(state): State<Arc<AppState>>) -> Response {
    Json(model_list(&state)).into_response()
}

/// Build the list body.
pub fn model_list(state: &AppState) -> ModelListBody {
    let created = state.started_unix;
    let mut data: Vec<serde_json::Value> = state
        .config
        .catalog
        .models()
        .iter()
        .map(|m| {
            let provider = state.providers.get(&m.provider);
            let entry = ModelEntry {
                id: m.id.clone(),
                object: "model",
                created,
                owned_by: m.provider.clone(),
                llmgw: ModelFacts {
                    provider: m.provider.clone(),
                    available: state.providers.unavailable_reason(&m.provider).is_none(),
                    simulated: provider.is_some_and(|p| p.simulated),
                    input_per_mtok: m.input_per_mtok,
                    output_per_mtok: m.output_per_mtok,
                    cached_input_per_mtok: m.cached_input_price(),
                    context_window: m.context_window,
                    max_output_tokens: m.max_output_tokens,
                    quality_profile: m.quality_profile().to_string(),
                },
            };
            serde_json::to_value(entry).unwrap_or(serde_json::Value::Null)
        })
        .collect();
    if state.auto.is_enabled() {
        let aliases = std::iter::once("auto".to_string()).chain(
            state
                .config
                .routing
                .policies
                .keys()
                .map(|p| format!("auto:{p}")),
        );
        for id in aliases {
            data.push(serde_json::json!({
                "id": id,
                "object": "model",
                "created": created,
                "owned_by": "llmgw-router",
            }));
        }
    }
    ModelListBody {
        object: "list",
        data,
    }
}
