//! Route stage: turn the request's `model` into the model and provider to call, and the
//! ranked fallbacks. Named models pass straight through, unless their provider cannot be
//! called now (no key, or excluded by the request's `route.exclude_providers`): then the
//! fallbacks `[reliability.fallbacks]` lists for them take their place. `auto` asks the router.

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
    /// The named model the client asked for, when it cannot be called now and `target` is
    /// its first usable fallback.
    pub skipped: Option<Skipped>,
}

/// A named model passed over at routing time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Catalog id.
    pub model: String,
    /// Its provider.
    pub provider: String,
    /// Why it cannot be called.
    pub reason: String,
}

/// Resolve `req.model`.
///
/// `embedding`: `auto` routing also computes the prompt's sentence embedding (see
/// [`wants_embedding`]).
pub async fn resolve(
    state: &AppState,
    req: &ChatCompletionRequest,
    headers: &HeaderMap,
    embedding: bool,
) -> Result<Routed, ApiError> {
    match auto_policy(&req.model) {
        None => named(state, req),
        Some(policy) => {
            let decision = state
                .auto
                .route(
                    &state.config,
                    &state.providers,
                    req,
                    policy,
                    headers,
                    embedding,
                )
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
                skipped: None,
            })
        }
    }
}

/// Whether routing should also compute the prompt's sentence embedding. It costs the
/// encoder's remaining layers (about as much again as routing itself), so only when this
/// request may look in the semantic cache, or when the outcome log keeps the embedding in
/// place of the prompt text.
pub fn wants_embedding(state: &AppState, cache: &super::cache::CacheOptions) -> bool {
    let semantic = state.cache.is_some() && !cache.bypass && cache.min_similarity.is_some();
    let log_without_prompts = state
        .outcomes
        .as_ref()
        .is_some_and(|log| !log.store_prompts());
    semantic || log_without_prompts
}

/// A named model: itself and its configured fallbacks, or only the fallbacks when it cannot
/// be called now. 404 when unknown; 503 when neither it nor any fallback can be called.
fn named(state: &AppState, req: &ChatCompletionRequest) -> Result<Routed, ApiError> {
    let model_id = req.model.as_str();
    let target = target_of(state, model_id).ok_or_else(|| ApiError::model_not_found(model_id))?;
    let excluded = crate::auto::route_overrides(req)?
        .exclude_providers
        .unwrap_or_default();
    let (usable, unusable): (Vec<(Target, Option<String>)>, Vec<_>) = state
        .config
        .reliability
        .fallbacks_of(model_id)
        .iter()
        .filter_map(|m| target_of(state, m))
        .map(|t| {
            let why = unavailable(state, &t, &excluded);
            (t, why)
        })
        .partition(|(_, why)| why.is_none());
    let mut fallbacks: Vec<Target> = usable.into_iter().map(|(t, _)| t).collect();
    let Some(reason) = unavailable(state, &target, &excluded) else {
        return Ok(Routed {
            target,
            fallbacks,
            auto: None,
            skipped: None,
        });
    };
    if fallbacks.is_empty() {
        let not_callable: Vec<String> = unusable
            .iter()
            .map(|(t, why)| format!("`{}` ({})", t.model.id, why.as_deref().unwrap_or("")))
            .collect();
        let fallbacks = if not_callable.is_empty() {
            "it has no fallbacks ([reliability.fallbacks])".to_string()
        } else {
            format!("nor can its fallbacks: {}", not_callable.join(", "))
        };
        return Err(provider_unavailable(format!(
            "Model `{model_id}` cannot be called: {reason}; {fallbacks}."
        )));
    }
    let skipped = Skipped {
        model: target.model.id.clone(),
        provider: target.provider.name.clone(),
        reason,
    };
    let first = fallbacks.remove(0);
    tracing::debug!(model = model_id, fallback = %first.model.id, reason = %skipped.reason, "named model unavailable: using its fallback");
    Ok(Routed {
        target: first,
        fallbacks,
        auto: None,
        skipped: Some(skipped),
    })
}

/// Why `target` cannot be called now: its provider has no key, or the request excludes it.
fn unavailable(state: &AppState, target: &Target, excluded: &[String]) -> Option<String> {
    let provider = &target.provider.name;
    state.providers.unavailable_reason(provider).or_else(|| {
        excluded
            .contains(provider)
            .then(|| format!("provider `{provider}` is excluded by 'route.exclude_providers'"))
    })
}

/// 503 `provider_unavailable` with `message`.
pub fn provider_unavailable(message: String) -> ApiError {
    ApiError::new(
        503,
        ErrorBody::new("upstream_error", message)
            .with_param("model")
            .with_code("provider_unavailable"),
    )
}

/// The 503 for a named model that cannot be called when none of its usable fallbacks may be
/// used for this request (the key may not use them, or the request does not fit them).
pub fn no_allowed_fallback(routed: &Routed) -> ApiError {
    let Some(s) = &routed.skipped else {
        return ApiError::internal("no model is left to call");
    };
    let names: Vec<String> = std::iter::once(&routed.target)
        .chain(&routed.fallbacks)
        .map(|t| format!("`{}`", t.model.id))
        .collect();
    provider_unavailable(format!(
        "Model `{}` cannot be called: {}; its fallbacks ({}) may not be used for this request (not allowed for this key, or the request does not fit them).",
        s.model,
        s.reason,
        names.join(", ")
    ))
}

fn target_of(state: &AppState, model_id: &str) -> Option<Target> {
    let model = state.config.catalog.get(model_id)?;
    let provider = state.providers.get(&model.provider)?;
    Some(Target {
        model: model.clone(),
        provider: provider.clone(),
    })
}
