//! Gateway keys, budgets and rate limits (`llmgw-governance`) and retries, fallbacks and
//! circuit breakers (`llmgw-reliability`), as the request path uses them.

use axum::http::{header, HeaderMap};
use llmgw_config::{CatalogModel, Config};
use llmgw_governance::{
    Actual, Admission, GovernError, Governor, KeyStore, KeyStoreError, KeysFile,
};
use llmgw_reliability::{BreakerConfig, Breakers, Executor, Failure, RetryPolicy};
use llmgw_types::{ApiError, ChatCompletionChunk, ChatCompletionRequest, ErrorBody};

use crate::stages::auth::{Authenticator, Caller};
use crate::stages::route::Target;
use crate::upstream::UpstreamError;

/// The governor of `config`: its `[[keys]]` (none: open), the keys issued and revoked
/// through the admin API (kept in [`Config::admin_keys_file`] when there is one), and the
/// `[admin]` key. Fails on an invalid key entry or a keys file that cannot be read.
pub fn governor_from_config(config: &Config) -> Result<Governor, KeyStoreError> {
    let keys = match config.admin_keys_file() {
        Some(path) => KeyStore::with_file(config.keys.iter().cloned(), KeysFile::new(path))?,
        None => KeyStore::from_specs(config.keys.iter().cloned())?,
    };
    let governor = Governor::new(keys);
    Ok(match config.admin.resolve_hash() {
        Some(hash) => governor.with_admin_key_hash(hash),
        None => governor,
    })
}

/// The executor of `config`'s `[reliability]`; the total deadline defaults to the server's
/// request timeout.
pub fn executor_from_config(config: &Config) -> Executor {
    let r = &config.reliability;
    let policy = RetryPolicy {
        max_attempts: r.max_attempts,
        base_delay: std::time::Duration::from_millis(r.base_delay_ms),
        max_delay: std::time::Duration::from_millis(r.max_delay_ms),
        max_retry_after: r.max_retry_after(),
    };
    let breakers = Breakers::new(BreakerConfig {
        consecutive_failures: r.breaker_failures,
        failure_rate: r.breaker_failure_rate,
        window: r.breaker_window,
        min_calls: r.breaker_min_calls,
        cool_down: r.breaker_cool_down(),
    });
    Executor::new(policy, breakers)
        .with_deadline(r.total_timeout().unwrap_or(config.server.request_timeout()))
}

/// The auth stage backed by the governor: `Authorization: Bearer <gateway key>`, or anyone
/// while no keys exist.
#[derive(Debug, Clone)]
pub struct GovernorAuth(pub Governor);

impl Authenticator for GovernorAuth {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let value = match headers.get(header::AUTHORIZATION) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| GovernError::MalformedAuthorization.to_api_error())?,
            ),
        };
        let who = self.0.authenticate(value).map_err(|e| e.to_api_error())?;
        Ok(Caller {
            key_id: who.key_id().map(str::to_string),
            tenant: who.tenant().map(str::to_string),
        })
    }

    fn is_open(&self) -> bool {
        self.0.is_open()
    }
}

/// The stage error and `retry-after` seconds for a refusal of the governor.
pub fn refusal(e: &GovernError) -> (ApiError, Option<u64>, &'static str) {
    let kind = match e {
        GovernError::ModelNotAllowed { .. } => "model_not_allowed",
        GovernError::RateLimited { .. } => "rate_limited",
        GovernError::BudgetExceeded { .. } | GovernError::BudgetHeld { .. } => "budget_exceeded",
        GovernError::Store(_) => "counters_unavailable",
        _ => "unauthorized",
    };
    (e.to_api_error(), e.retry_after_secs(), kind)
}

/// Most output tokens the request may produce on `model`.
pub fn output_cap(req: &ChatCompletionRequest, model: &CatalogModel, prompt_tokens: u64) -> u64 {
    let room = model.context_window.saturating_sub(prompt_tokens).max(1);
    let cap = match (req.output_token_limit(), model.max_output_tokens) {
        (Some(asked), _) => u64::from(asked),
        (None, Some(max)) => max,
        (None, None) => room,
    };
    cap.min(room)
}

/// What admission holds for a request whose prompt is estimated at `prompt_tokens`:
/// its worst-case cost over every candidate that may answer it (the prompt estimate with a
/// 25 % margin, and the output cap), and for tokens per minute the prompt plus the output
/// expected on the first candidate.
pub fn admission(
    req: &ChatCompletionRequest,
    prompt_tokens: u64,
    candidates: &[Target],
) -> Admission {
    let prompt_bound = prompt_tokens + prompt_tokens / 4 + 16;
    let max_cost_usd = candidates
        .iter()
        .map(|t| {
            let cap = output_cap(req, &t.model, prompt_tokens);
            t.model.cost_usd(prompt_bound, 0, cap)
        })
        .fold(0.0, f64::max);
    let expected_output = candidates.first().map_or(0, |t| {
        let cap = output_cap(req, &t.model, prompt_tokens);
        req.output_token_limit()
            .map(u64::from)
            .or(t.model.typical_output_tokens)
            .unwrap_or(256)
            .min(cap)
    });
    Admission {
        estimated_tokens: prompt_tokens + expected_output,
        max_cost_usd,
    }
}

/// What a request used, from the answer's usage; when the provider reported none (a stream
/// cut short, a client gone), estimated from the prompt and the output sent (4 characters a
/// token). A stream that failed before any output costs nothing; one the client left before
/// any output costs its prompt.
pub fn actual_usage(
    rec: &llmgw_outcomes::OutcomeRecord,
    model: &CatalogModel,
    prompt_estimate: u64,
    output_chars: u64,
) -> Actual {
    match (rec.cost_usd, rec.prompt_tokens, rec.completion_tokens) {
        (Some(cost_usd), Some(p), Some(c)) => Actual {
            tokens: p + c,
            cost_usd,
        },
        _ if output_chars == 0
            && rec.first_token_at.is_none()
            && rec.error_kind.as_deref() != Some("client_closed") =>
        {
            Actual::default()
        }
        _ => {
            let completion = output_chars.div_ceil(4);
            Actual {
                tokens: prompt_estimate + completion,
                cost_usd: model.cost_usd(prompt_estimate, 0, completion),
            }
        }
    }
}

/// True for a chunk that carries output: text, a tool call, a refusal, a finish reason or
/// usage. Until such a chunk arrives, a failed stream is retried.
pub fn has_output(chunk: &ChatCompletionChunk) -> bool {
    chunk.usage.is_some()
        || chunk.choices.iter().any(|c| {
            c.delta.content.as_deref().is_some_and(|t| !t.is_empty())
                || c.delta.tool_calls.is_some()
                || c.delta.refusal.is_some()
                || c.finish_reason.is_some()
        })
}

impl llmgw_reliability::Target for Target {
    fn provider(&self) -> &str {
        &self.provider.name
    }

    fn model(&self) -> &str {
        &self.model.id
    }
}

impl Failure for UpstreamError {
    fn is_retryable(&self) -> bool {
        self.retryable
    }

    fn should_fall_back(&self) -> bool {
        // The client's own mistake fails the same way everywhere.
        !matches!(self.error.status, 400 | 413 | 422) && self.kind != "upstream_bad_request"
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    fn kind(&self) -> String {
        self.kind.clone()
    }

    fn unavailable(_provider: &str, _model: &str, message: String) -> Self {
        UpstreamError::new(
            "circuit_open",
            ApiError::new(503, ErrorBody::upstream(message).with_code("circuit_open")),
            true,
        )
    }

    fn deadline_exceeded(provider: &str, model: &str, budget: std::time::Duration) -> Self {
        UpstreamError::new(
            "upstream_timeout",
            ApiError::new(
                504,
                ErrorBody::timeout(format!(
                    "Provider `{provider}` did not answer for `{model}` within {:.1} s (retries and fallbacks included).",
                    budget.as_secs_f64()
                )),
            ),
            true,
        )
    }
}
