//! Route stage: turn the request's `model` into the model and provider to call, and the
//! ranked fallbacks. Named models pass straight through; `auto` asks the router.

use axum::http::HeaderMap;
use llmgw_config::CatalogModel;
use llmgw_types::{ApiError, ChatCompletionRequest, ErrorBody};

use crate::auto::{auto_policy, AutoDecision};
use crate::providers::ProviderHandle;
use crate::state::AppState;

/// A model to call and the provider serving it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The catalog entry.
    pub model: CatalogModel,
    /// Its provider.
    pub provider: ProviderHandle,
}

/// The route stage's result.
#[derive(Debug, Clone)]
pub struct Routed {
    /// First choice.
    pub target: Target,
    /// Further eligible models, best first (the fallback order).
    pub fallbacks: Vec<Target>,
    /// The router's decision, for `auto` requests.
    pub auto: Option<AutoDecision>,
}

/// Resolve `req.model`.
pub async fn resolve(
    state: &AppState,
    req: &ChatCompletionRequest,
    headers: &HeaderMap,
) -> Result<Routed, ApiError> {
    match auto_policy(&req.model) {
        None => {
            let target = named_target(state, &req.model)?;
            Ok(Routed {
                target,
                fallbacks: configured_fallbacks(state, &req.model),
                auto: None,
            })
        }
        Some(policy) => {
            let decision = state
                .auto
                .route(&state.config, &state.providers, req, policy, headers)
                .await?;
            let mut ranked = decision
                .decision
                .fallback_order()
                .filter_map(|c| target_of(state, &c.model));
            let target = ranked.next().ok_or_else(|| {
                ApiError::internal("the router chose a model that is not in the catalog")
            })?;
            let fallbacks = ranked.collect();
            Ok(Routed {
                target,
                fallbacks,
                auto: Some(decision),
            })
        }
    }
}

/// The fallbacks `[reliability.fallbacks]` lists for named model `model_id`, leaving out
/// those whose provider cannot be called.
fn configured_fallbacks(state: &AppState, model_id: &str) -> Vec<Target> {
    state
        .config
        .reliability
        .fallbacks_of(model_id)
        .iter()
        .filter_map(|m| target_of(state, m))
        .filter(|t| {
            state
                .providers
                .unavailable_reason(&t.provider.name)
                .is_none()
        })
        .collect()
}

fn target_of(state: &AppState, model_id: &str) -> Option<Target> {
    let model = state.config.catalog.get(model_id)?;
    let provider = state.providers.get(&model.provider)?;
    Some(Target {
        model: model.clone(),
        provider: provider.clone(),
    })
}

/// The target of a named model: 404 when unknown, 503 when its provider cannot be called.
pub fn named_target(state: &AppState, model_id: &str) -> Result<Target, ApiError> {
    let target = target_of(state, model_id).ok_or_else(|| ApiError::model_not_found(model_id))?;
    if let Some(reason) = state.providers.unavailable_reason(&target.provider.name) {
        return Err(ApiError::new(
            503,
            ErrorBody::new(
                "upstream_error",
                format!("Model `{model_id}` cannot be called: {reason}."),
            )
            .with_param("model")
            .with_code("provider_unavailable"),
        ));
    }
    Ok(target)
}
