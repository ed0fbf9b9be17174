//! What the executor needs to know about a failed call.

use llmgw_providers::{ProviderError, ProviderErrorKind};
use std::time::Duration;

/// A failed upstream call as the executor sees it. Implemented for [`ProviderError`]; a
/// caller with its own error type implements it too.
pub trait Failure: Sized {
    /// The same call to the same candidate may succeed later.
    fn is_retryable(&self) -> bool;
    /// Another candidate may succeed (false for the client's own mistakes).
    fn should_fall_back(&self) -> bool;
    /// How long the provider asked callers to wait.
    fn retry_after(&self) -> Option<Duration>;
    /// Counts as a failure of the provider for its circuit breaker (default: whatever may
    /// fall back, i.e. everything but a bad request).
    fn trips_breaker(&self) -> bool {
        self.should_fall_back()
    }
    /// Short class for the attempt log (`timeout`, `upstream_status`, …).
    fn kind(&self) -> String;
    /// The error when no candidate could be called: all skipped by open circuit breakers,
    /// or none given.
    fn unavailable(provider: &str, model: &str, message: String) -> Self;
    /// The error when the total time budget ran out.
    fn deadline_exceeded(provider: &str, model: &str, budget: Duration) -> Self;
}

impl Failure for ProviderError {
    fn is_retryable(&self) -> bool {
        ProviderError::is_retryable(self)
    }

    fn should_fall_back(&self) -> bool {
        ProviderError::should_fall_back(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        ProviderError::retry_after(self)
    }

    fn kind(&self) -> String {
        match self.kind {
            ProviderErrorKind::UpstreamStatus { status } => format!("upstream_{status}"),
            ref k => k.as_str().to_string(),
        }
    }

    fn unavailable(provider: &str, _model: &str, message: String) -> Self {
        ProviderError::new(
            ProviderErrorKind::UpstreamStatus { status: 503 },
            provider,
            message,
        )
    }

    fn deadline_exceeded(provider: &str, model: &str, budget: Duration) -> Self {
        ProviderError::new(
            ProviderErrorKind::Timeout,
            provider,
            format!(
                "{provider}: no answer for `{model}` within the total time budget of {:.1} s (retries and fallbacks included).",
                budget.as_secs_f64()
            ),
        )
    }
}
