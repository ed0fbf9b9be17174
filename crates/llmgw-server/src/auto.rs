//! `model: "auto"`: the quality predictor seam, per-request policy overrides, and the
//! optimizer call that picks a model.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::http::HeaderMap;
use futures::future::BoxFuture;
use llmgw_config::{Config, Objective};
use llmgw_optimizer::{decide, Candidate, Constraints, Decision, OptimizerError, Policy, Prices};
use llmgw_types::{ApiError, ChatCompletionRequest, ErrorBody};
use serde::{Deserialize, Serialize};

use crate::meta::{MAX_COST_IN, MIN_QUALITY_IN};
use crate::output_lengths::OutputLengths;
use crate::providers::ProviderRegistry;

/// Expected completion length when the catalog gives none for a model.
pub const DEFAULT_EXPECTED_OUTPUT_TOKENS: u64 = 300;

/// What the quality predictor says about one prompt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prediction {
    /// Difficulty score of the prompt (0 easy .. 1 hard).
    pub difficulty: f64,
    /// Predicted quality (0..1) per router profile.
    pub quality: BTreeMap<String, f64>,
    /// The prompt's sentence embedding, when the predictor computes one.
    pub embedding: Option<Vec<f32>>,
    /// The encoder that produced `embedding`.
    pub embedding_model: Option<String>,
}

/// Predicts per-model answer quality for a prompt (the trained router, batched).
pub trait QualityPredictor: Send + Sync + 'static {
    /// Predict for the routing text of one request; with `embedding`, also give the prompt's
    /// sentence embedding (for the classifier that costs the encoder's remaining layers, so
    /// callers ask only when they use it).
    fn predict(
        &self,
        text: String,
        embedding: bool,
    ) -> BoxFuture<'static, Result<Prediction, String>>;
    /// The profiles (model names) it predicts.
    fn profiles(&self) -> Vec<String>;
}

/// Auto routing as configured: a predictor, or the reason there is none.
#[derive(Clone)]
pub struct AutoRouting {
    predictor: Result<Arc<dyn QualityPredictor>, String>,
    output_lengths: OutputLengths,
}

impl AutoRouting {
    /// Auto routing with `predictor`.
    pub fn enabled(predictor: Arc<dyn QualityPredictor>) -> Self {
        AutoRouting {
            predictor: Ok(predictor),
            output_lengths: OutputLengths::default(),
        }
    }

    /// No auto routing; `reason` is told to clients that ask for `auto`.
    pub fn disabled(reason: impl Into<String>) -> Self {
        AutoRouting {
            predictor: Err(reason.into()),
            output_lengths: OutputLengths::default(),
        }
    }

    /// Whether `auto` can be served.
    pub fn is_enabled(&self) -> bool {
        self.predictor.is_ok()
    }

    /// The answer lengths observed per model, which replace the catalog's
    /// `typical_output_tokens` in cost estimates once a model has enough answers.
    pub fn output_lengths(&self) -> &OutputLengths {
        &self.output_lengths
    }

    /// Why `auto` cannot be served, when it cannot.
    pub fn disabled_reason(&self) -> Option<&str> {
        self.predictor.as_ref().err().map(String::as_str)
    }

    /// The sentence embedding of `text` and its encoder id, from the router's own encoder
    /// pass (batched with routing requests). For requests that name a model and ask for a
    /// semantic cache lookup: `auto` requests get their embedding from routing.
    pub async fn embed(&self, text: String) -> Result<(Vec<f32>, String), String> {
        let predictor = self.predictor.as_ref().map_err(Clone::clone)?;
        let prediction = predictor.predict(text, true).await?;
        prediction
            .embedding
            .zip(prediction.embedding_model)
            .ok_or_else(|| "the router gives no prompt embeddings".to_string())
    }
}

/// The `route` object of a request body: per-request policy settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RouteOverrides {
    /// A policy name from the config.
    #[serde(default)]
    pub policy: Option<String>,
    /// Quality target (replaces the policy's objective).
    #[serde(default)]
    pub min_quality: Option<f64>,
    /// Willingness to pay in USD (replaces the policy's objective).
    #[serde(default)]
    pub lambda: Option<f64>,
    /// Cost cap in USD.
    #[serde(default)]
    pub max_cost_usd: Option<f64>,
    /// Candidate model ids.
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Providers never chosen.
    #[serde(default)]
    pub exclude_providers: Option<Vec<String>>,
}

/// A routing decision with everything the response headers, `/v1/route` and the outcome
/// log report.
#[derive(Debug, Clone)]
pub struct AutoDecision {
    /// Name of the configured policy the request used.
    pub policy_name: String,
    /// The optimizer's decision (winner, every candidate, fallback order).
    pub decision: Decision,
    /// Difficulty of the prompt.
    pub difficulty: f64,
    /// Estimated prompt tokens.
    pub prompt_tokens: u64,
    /// The text the router scored.
    pub routing_text: String,
    /// Milliseconds spent (prediction + decision).
    pub routing_ms: f64,
    /// The prompt's embedding and its encoder, when the predictor gave one.
    pub embedding: Option<(Vec<f32>, String)>,
}

/// Parse `model` as `auto` / `auto:<policy>`; `None` for a named model.
pub fn auto_policy(model: &str) -> Option<Option<&str>> {
    if model == "auto" {
        Some(None)
    } else {
        model.strip_prefix("auto:").map(Some)
    }
}

fn bad(param: &str, message: String) -> ApiError {
    ApiError::new(
        400,
        ErrorBody::invalid_request(message)
            .with_param(param)
            .with_code("invalid_route"),
    )
}

/// Read the `route` object from the request's extra fields.
pub fn route_overrides(req: &ChatCompletionRequest) -> Result<RouteOverrides, ApiError> {
    match req.extra.get("route") {
        None | Some(serde_json::Value::Null) => Ok(RouteOverrides::default()),
        Some(v) => serde_path_to_error::deserialize(v.clone()).map_err(|e| {
            let path = e.path().to_string();
            let param = if path == "." {
                "route".to_string()
            } else {
                format!("route.{path}")
            };
            bad(&param, format!("Invalid '{param}': {}.", e.into_inner()))
        }),
    }
}

fn header_number(
    headers: &HeaderMap,
    name: &axum::http::HeaderName,
) -> Result<Option<f64>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| {
                bad(
                    name.as_str(),
                    format!("Header '{}' must be a number.", name.as_str()),
                )
            }),
    }
}

impl AutoRouting {
    /// Choose a model for `req` (whose `model` is `auto` or `auto:<policy_in_model>`).
    pub async fn route(
        &self,
        config: &Config,
        providers: &ProviderRegistry,
        req: &ChatCompletionRequest,
        policy_in_model: Option<&str>,
        headers: &HeaderMap,
        embedding: bool,
    ) -> Result<AutoDecision, ApiError> {
        let started = Instant::now();
        let predictor = self.predictor.as_ref().map_err(|reason| {
            ApiError::new(
                400,
                ErrorBody::invalid_request(format!(
                    "Auto routing is not configured: {reason}. Name a model from GET /v1/models instead."
                ))
                .with_param("model")
                .with_code("auto_routing_unavailable"),
            )
        })?;
        let overrides = route_overrides(req)?;
        let policy_name = match (policy_in_model, overrides.policy.as_deref()) {
            (Some(a), Some(b)) if a != b => {
                return Err(bad(
                    "route.policy",
                    format!("'model' names policy `{a}` but 'route.policy' names `{b}`."),
                ))
            }
            (Some(a), _) => a.to_string(),
            (None, Some(b)) => b.to_string(),
            (None, None) => config.routing.default_policy.clone(),
        };
        let policy_cfg = config.routing.policy(&policy_name).ok_or_else(|| {
            let known: Vec<&str> = config.routing.policies.keys().map(String::as_str).collect();
            bad(
                if policy_in_model.is_some() {
                    "model"
                } else {
                    "route.policy"
                },
                format!(
                    "Unknown routing policy `{policy_name}`; configured policies: {}.",
                    known.join(", ")
                ),
            )
        })?;

        // Objective: body > headers > policy.
        let header_q = header_number(headers, &MIN_QUALITY_IN)?;
        let header_cap = header_number(headers, &MAX_COST_IN)?;
        let policy = match (overrides.min_quality, overrides.lambda) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "route",
                    "Give 'route.min_quality' or 'route.lambda', not both.".to_string(),
                ))
            }
            (Some(q), None) => Policy::MinQuality { target: q },
            (None, Some(l)) => Policy::WillingnessToPay { lambda: l },
            (None, None) => match (header_q, policy_cfg.objective()) {
                (Some(q), _) => Policy::MinQuality { target: q },
                (None, Objective::MinQuality(q)) => Policy::MinQuality { target: q },
                (None, Objective::WillingnessToPay(l)) => Policy::WillingnessToPay { lambda: l },
            },
        };
        policy
            .validate()
            .map_err(|e| bad("route", format!("{e}.")))?;
        let constraints = Constraints {
            max_cost_usd: overrides
                .max_cost_usd
                .or(header_cap)
                .or(policy_cfg.max_cost_usd),
            allowed_models: None,
            excluded_providers: overrides
                .exclude_providers
                .clone()
                .unwrap_or_else(|| policy_cfg.exclude_providers.clone()),
        };
        constraints
            .validate()
            .map_err(|e| bad("route.max_cost_usd", format!("{e}.")))?;
        let model_ids: Vec<String> = match overrides.models.as_ref().or(policy_cfg.models.as_ref())
        {
            Some(list) => list.clone(),
            None => config
                .catalog
                .models()
                .iter()
                .map(|m| m.id.clone())
                .collect(),
        };
        if model_ids.is_empty() {
            return Err(bad(
                "route.models",
                "'route.models' must name at least one model.".into(),
            ));
        }
        for (i, id) in model_ids.iter().enumerate() {
            if !config.catalog.contains(id) {
                return Err(bad(
                    &format!("route.models[{i}]"),
                    format!("Unknown model `{id}` in 'route.models'."),
                ));
            }
        }

        let turns: Vec<(&str, String)> = req
            .messages
            .iter()
            .map(|m| (m.role.as_str(), m.text()))
            .collect();
        let turn_refs: Vec<(&str, &str)> = turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
        let routing_text = llmgw_classifier::routing_text(&turn_refs);
        let prompt_tokens = llmgw_optimizer::estimate_prompt_tokens(&turn_refs);
        let prediction = predictor
            .predict(routing_text.clone(), embedding)
            .await
            .map_err(|e| {
                ApiError::new(
                    500,
                    ErrorBody::server_error(format!("The router failed to score the prompt: {e}"))
                        .with_code("routing_failed"),
                )
            })?;

        let output_cap = req.output_token_limit().map(u64::from);
        let candidates: Vec<Candidate> = model_ids
            .iter()
            .filter_map(|id| config.catalog.get(id))
            .map(|m| {
                let profile = m.quality_profile();
                let predicted = prediction.quality.get(profile).copied();
                let expected_output = self
                    .output_lengths
                    .expected(&m.id)
                    .or(m.typical_output_tokens)
                    .unwrap_or(DEFAULT_EXPECTED_OUTPUT_TOKENS)
                    .min(output_cap.unwrap_or(u64::MAX));
                let unavailable = if predicted.is_none() {
                    Some(format!("the router has no prediction for profile `{profile}`"))
                } else if prompt_tokens > m.context_window {
                    Some(format!(
                        "the prompt (about {prompt_tokens} tokens) exceeds its context window of {}",
                        m.context_window
                    ))
                } else {
                    providers.unavailable_reason(&m.provider)
                };
                Candidate {
                    model: m.id.clone(),
                    provider: m.provider.clone(),
                    predicted_quality: predicted.unwrap_or(0.0).clamp(0.0, 1.0),
                    prices: Prices {
                        input_per_mtok: m.input_per_mtok,
                        output_per_mtok: m.output_per_mtok,
                        cached_input_per_mtok: m.cached_input_per_mtok,
                    },
                    prompt_tokens,
                    cached_prompt_tokens: 0,
                    expected_output_tokens: expected_output,
                    available: unavailable.is_none(),
                    unavailable_reason: unavailable,
                }
            })
            .collect();
        let decision = decide(&candidates, &policy, &constraints).map_err(|e| match e {
            OptimizerError::InvalidPolicy(m) | OptimizerError::InvalidConstraint(m) => {
                bad("route", m)
            }
            other => ApiError::new(
                500,
                ErrorBody::server_error(format!("Routing failed: {other}")),
            ),
        })?;
        if let Err(e) = decision.require_winner() {
            let status = if candidates.iter().any(|c| c.available) {
                400
            } else {
                503
            };
            return Err(ApiError::new(
                status,
                ErrorBody::new(
                    if status == 400 { "invalid_request_error" } else { "upstream_error" },
                    format!("Auto routing found no model for this request under policy `{policy_name}`: {e}."),
                )
                .with_code("no_eligible_model"),
            ));
        }
        Ok(AutoDecision {
            policy_name,
            decision,
            difficulty: prediction.difficulty,
            prompt_tokens,
            routing_text,
            routing_ms: started.elapsed().as_secs_f64() * 1000.0,
            embedding: prediction.embedding.zip(prediction.embedding_model),
        })
    }
}
