//! `POST /v1/route`: the routing decision for a chat request, without calling a provider.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use llmgw_types::ChatCompletionRequest;
use serde::Serialize;

use crate::error::HttpError;
use crate::meta::ResponseMeta;
use crate::stages::{route, validate};
use crate::state::AppState;

/// The decision body.
#[derive(Debug, Serialize)]
pub struct RouteBody {
    /// The chosen model.
    pub model: String,
    /// Its provider.
    pub provider: String,
    /// Whether the router chose (`auto`) or the model was named.
    pub routed: bool,
    /// Policy name from the config (`auto` requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    /// The policy as applied, e.g. `{"policy": "min_quality", "target": 0.8}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<llmgw_optimizer::Policy>,
    /// Difficulty of the prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<f64>,
    /// Predicted quality of the winner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted_quality: Option<f64>,
    /// Expected cost of the winner, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_cost_usd: Option<f64>,
    /// Estimated prompt tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    /// Milliseconds spent routing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_ms: Option<f64>,
    /// Every candidate with its figures, eligibility and reason, in catalog order.
    pub candidates: Vec<llmgw_optimizer::CandidateOutcome>,
    /// The fallback order (model ids, winner first).
    pub ranked: Vec<String>,
}

/// `POST /v1/route`.
pub async fn route_only(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match decide(&state, &headers, body).await {
        Ok((body, meta)) => {
            let mut resp = Json(body).into_response();
            meta.apply(resp.headers_mut());
            resp
        }
        Err(e) => HttpError(e).into_response(),
    }
}

async fn decide(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(RouteBody, ResponseMeta), llmgw_types::ApiError> {
    state.auth.authenticate(headers)?;
    let bytes = validate::read_body(headers, body, state.config.server.max_body_bytes).await?;
    let req: ChatCompletionRequest = validate::parse_json(&bytes)?;
    validate::check_chat_request(&req)?;
    // A routing decision only: no cache lookup follows, so no embedding is needed.
    let routed = route::resolve(state, &req, headers, false).await?;
    let meta = ResponseMeta {
        model: Some(routed.target.model.id.clone()),
        provider: Some(routed.target.provider.name.clone()),
        simulated: routed.target.provider.simulated,
        routing: None,
        retry_after_secs: None,
        cache: None,
        fallback_from: routed.skipped.as_ref().map(|s| s.model.clone()),
        ..ResponseMeta::default()
    };
    let body = match &routed.auto {
        None => RouteBody {
            model: routed.target.model.id.clone(),
            provider: routed.target.provider.name.clone(),
            routed: false,
            policy_name: None,
            policy: None,
            difficulty: None,
            predicted_quality: None,
            estimated_cost_usd: None,
            prompt_tokens: None,
            routing_ms: None,
            candidates: Vec::new(),
            // The model itself, or (when it cannot be called now) its usable fallbacks.
            ranked: std::iter::once(&routed.target)
                .chain(&routed.fallbacks)
                .map(|t| t.model.id.clone())
                .collect(),
        },
        Some(auto) => {
            let winner = auto.decision.winner();
            RouteBody {
                model: routed.target.model.id.clone(),
                provider: routed.target.provider.name.clone(),
                routed: true,
                policy_name: Some(auto.policy_name.clone()),
                policy: Some(auto.decision.policy),
                difficulty: Some(auto.difficulty),
                predicted_quality: winner.map(|w| w.predicted_quality),
                estimated_cost_usd: winner.map(|w| w.estimated_cost_usd),
                prompt_tokens: Some(auto.prompt_tokens),
                routing_ms: Some(auto.routing_ms),
                candidates: auto.decision.candidates.clone(),
                ranked: auto
                    .decision
                    .ranked_models()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            }
        }
    };
    Ok((body, meta))
}
