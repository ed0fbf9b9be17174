//! Why the governor refused a request, as an OpenAI-shaped error with its HTTP status.
//! No variant carries the key a caller presented; key ids are public.

use crate::store::{RateKind, StoreError};
use crate::window::{rfc3339, Period};
use llmgw_types::{ApiError, ErrorBody};
use std::time::Duration;

/// A refused request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GovernError {
    /// No `Authorization` header.
    #[error("Missing API key: send it as `Authorization: Bearer <key>`.")]
    MissingKey,
    /// An `Authorization` header that is not `Bearer <key>`.
    #[error("Malformed Authorization header: expected `Bearer <key>`.")]
    MalformedAuthorization,
    /// A key the gateway does not know (or that was revoked).
    #[error("Invalid API key.")]
    InvalidKey,
    /// The key may not use the model.
    #[error("API key `{key_id}` is not allowed to use model `{model}`.")]
    ModelNotAllowed {
        /// Key id.
        key_id: String,
        /// The model asked for.
        model: String,
    },
    /// Over the requests- or tokens-per-minute limit.
    #[error("API key `{key_id}` is over its limit of {limit} {} per minute; retry in {:.1} s.", unit(*.kind), .retry_after.as_secs_f64())]
    RateLimited {
        /// Key id.
        key_id: String,
        /// Which limit.
        kind: RateKind,
        /// The limit per minute.
        limit: u64,
        /// When the request would fit.
        retry_after: Duration,
    },
    /// The budget of the window is spent.
    #[error("API key `{key_id}` has used its {} budget of ${limit_usd:.2}; it resets at {}.", .period.adjective(), rfc3339(*.resets_at_ms))]
    BudgetExceeded {
        /// Key id.
        key_id: String,
        /// Day or month.
        period: Period,
        /// The budget in USD.
        limit_usd: f64,
        /// Unix milliseconds of the next window.
        resets_at_ms: i64,
        /// Time until then.
        retry_after: Duration,
    },
    /// What is left of the budget is held by requests still running.
    #[error("API key `{key_id}`: the rest of its {} budget of ${limit_usd:.2} is held by requests in flight; retry shortly.", .period.adjective())]
    BudgetHeld {
        /// Key id.
        key_id: String,
        /// Day or month.
        period: Period,
        /// The budget in USD.
        limit_usd: f64,
        /// Suggested wait.
        retry_after: Duration,
    },
    /// The admin API is not enabled (no admin key configured).
    #[error("The admin API is disabled: no admin key is configured.")]
    AdminDisabled,
    /// The admin key is missing or wrong.
    #[error("Invalid admin key.")]
    InvalidAdminKey,
    /// The counter store failed; requests are refused rather than let through uncounted.
    #[error("Spend counters are unavailable: {0}")]
    Store(#[from] StoreError),
    /// An admin change to the keys could not be written to the keys file (it was undone).
    #[error("The change to the gateway keys could not be saved, so it was not made: {0}")]
    KeysNotSaved(String),
}

fn unit(kind: RateKind) -> &'static str {
    match kind {
        RateKind::Requests => "requests",
        RateKind::Tokens => "tokens",
    }
}

impl GovernError {
    /// The HTTP status: 401, 403, 429, 500 or 503.
    pub fn status(&self) -> u16 {
        match self {
            GovernError::MissingKey
            | GovernError::MalformedAuthorization
            | GovernError::InvalidKey
            | GovernError::InvalidAdminKey => 401,
            GovernError::ModelNotAllowed { .. } | GovernError::AdminDisabled => 403,
            GovernError::RateLimited { .. }
            | GovernError::BudgetExceeded { .. }
            | GovernError::BudgetHeld { .. } => 429,
            GovernError::Store(_) => 503,
            GovernError::KeysNotSaved(_) => 500,
        }
    }

    /// How long the caller should wait (429 only).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GovernError::RateLimited { retry_after, .. }
            | GovernError::BudgetExceeded { retry_after, .. }
            | GovernError::BudgetHeld { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The `retry-after` header value: whole seconds, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after()
            .map(|d| d.as_millis().div_ceil(1000).max(1) as u64)
    }

    /// The OpenAI error body.
    pub fn to_error_body(&self) -> ErrorBody {
        let msg = self.to_string();
        match self {
            GovernError::MissingKey
            | GovernError::MalformedAuthorization
            | GovernError::InvalidKey
            | GovernError::InvalidAdminKey => ErrorBody::authentication(msg),
            GovernError::ModelNotAllowed { .. } => ErrorBody::permission(msg)
                .with_param("model")
                .with_code("model_not_allowed"),
            GovernError::AdminDisabled => ErrorBody::permission(msg).with_code("admin_disabled"),
            GovernError::RateLimited { kind, .. } => {
                ErrorBody::rate_limit(msg).with_code(match kind {
                    RateKind::Requests => "requests_per_minute_exceeded",
                    RateKind::Tokens => "tokens_per_minute_exceeded",
                })
            }
            GovernError::BudgetExceeded { .. } | GovernError::BudgetHeld { .. } => {
                ErrorBody::new("insufficient_quota", msg).with_code("budget_exceeded")
            }
            GovernError::Store(_) => ErrorBody::server_error(msg).with_code("counters_unavailable"),
            GovernError::KeysNotSaved(_) => {
                ErrorBody::server_error(msg).with_code("keys_not_saved")
            }
        }
    }

    /// Status and body together.
    pub fn to_api_error(&self) -> ApiError {
        ApiError::new(self.status(), self.to_error_body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_bodies_and_retry_after() {
        let e = GovernError::RateLimited {
            key_id: "a".into(),
            kind: RateKind::Tokens,
            limit: 1000,
            retry_after: Duration::from_millis(1_200),
        };
        assert_eq!(e.status(), 429);
        assert_eq!(e.retry_after_secs(), Some(2));
        let body = e.to_error_body();
        assert_eq!(body.error.kind, "rate_limit_error");
        assert_eq!(
            body.error.code.as_deref(),
            Some("tokens_per_minute_exceeded")
        );
        assert!(body.error.message.contains("1000 tokens per minute"));

        let e = GovernError::BudgetExceeded {
            key_id: "a".into(),
            period: Period::Day,
            limit_usd: 5.0,
            resets_at_ms: 1_798_761_600_000,
            retry_after: Duration::from_millis(1),
        };
        assert_eq!(e.retry_after_secs(), Some(1));
        assert_eq!(
            e.to_string(),
            "API key `a` has used its daily budget of $5.00; it resets at 2027-01-01T00:00:00Z."
        );
        assert_eq!(e.to_api_error().status, 429);
        assert_eq!(GovernError::InvalidKey.to_api_error().status, 401);
        let e = GovernError::ModelNotAllowed {
            key_id: "a".into(),
            model: "m".into(),
        };
        assert_eq!(
            (e.status(), e.to_error_body().error.param.as_deref()),
            (403, Some("model"))
        );
    }
}
