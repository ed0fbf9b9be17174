//! Calls candidates in order: retries a candidate's retryable failures with backoff, then falls
//! back to the next candidate, skipping those whose circuit breaker is open, all within an
//! optional total deadline.

use crate::attempts::{Attempt, Attempts, Outcome, Target};
use crate::{Breakers, Failure, RetryPolicy};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Retries, fallbacks and breakers for upstream calls. Cheap to clone (breakers are shared).
#[derive(Debug, Clone, Default)]
pub struct Executor {
    /// Retry policy per candidate.
    pub policy: RetryPolicy,
    /// Breakers shared by every request.
    pub breakers: Breakers,
    /// Total time for all calls and waits of one request; `None`: no limit beyond each call's
    /// own timeouts.
    pub deadline: Option<Duration>,
}

impl Executor {
    /// An executor with `policy`, `breakers` and no total deadline.
    pub fn new(policy: RetryPolicy, breakers: Breakers) -> Self {
        Executor {
            policy,
            breakers,
            deadline: None,
        }
    }

    /// Sets the total deadline.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Calls `call(candidate, attempt)` (attempt counts from 1 per candidate) until one
    /// answers.
    ///
    /// * A retryable failure ([`Failure::is_retryable`]) is retried on the same candidate up
    ///   to [`RetryPolicy::max_attempts`] calls, after the policy's backoff (at least the
    ///   provider's `retry-after`; one asking for more than the cap is not retried).
    /// * Then the next candidate is tried; a failure that must not fall back (the client's bad
    ///   request) is returned at once.
    /// * A candidate whose breaker is open is skipped; every outcome is reported to the
    ///   breakers.
    /// * When the deadline passes, the call in flight is dropped and a
    ///   [`Failure::deadline_exceeded`] error returned; a backoff that would end after the
    ///   deadline is not waited for (the next candidate is tried instead).
    ///
    /// On failure the error is the last call's (or [`Failure::unavailable`] when no candidate
    /// could be called).
    pub async fn call_with_fallbacks<C, T, E, F, Fut>(
        &self,
        candidates: &[C],
        mut call: F,
    ) -> Result<(T, Attempts), (E, Attempts)>
    where
        C: Target,
        E: Failure,
        F: FnMut(&C, u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        let deadline = self.deadline.map(|d| started + d);
        let mut log = Attempts {
            steps: Vec::new(),
            primary: candidates.first().map(|c| c.model().to_string()),
        };
        let mut last_err: Option<E> = None;
        let max_attempts = self.policy.max_attempts.max(1);

        for (index, cand) in candidates.iter().enumerate() {
            let (provider, model) = (cand.provider(), cand.model());
            let step = |attempt, outcome, elapsed| Attempt {
                candidate: index,
                provider: provider.to_string(),
                model: model.to_string(),
                attempt,
                outcome,
                elapsed,
            };
            let mut attempt = 0;
            while attempt < max_attempts {
                attempt += 1;
                if let Some(d) = deadline {
                    if Instant::now() >= d {
                        let budget = d - started;
                        return Err((E::deadline_exceeded(provider, model, budget), log));
                    }
                }
                let permit = match self.breakers.acquire(provider, model) {
                    Ok(p) => p,
                    Err(wait) => {
                        let retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                        log.steps.push(step(
                            attempt,
                            Outcome::CircuitOpen { retry_in_ms },
                            Duration::ZERO,
                        ));
                        break;
                    }
                };
                let call_started = Instant::now();
                let fut = call(cand, attempt);
                let result = match deadline {
                    Some(d) => match tokio::time::timeout_at(d, fut).await {
                        Ok(r) => r,
                        Err(_) => {
                            permit.failure();
                            log.steps.push(step(
                                attempt,
                                Outcome::DeadlineExceeded,
                                call_started.elapsed(),
                            ));
                            let budget = d - started;
                            return Err((E::deadline_exceeded(provider, model, budget), log));
                        }
                    },
                    None => fut.await,
                };
                let elapsed = call_started.elapsed();
                let err = match result {
                    Ok(value) => {
                        permit.success();
                        log.steps.push(step(attempt, Outcome::Success, elapsed));
                        return Ok((value, log));
                    }
                    Err(e) => e,
                };
                if err.trips_breaker() {
                    permit.failure();
                } else {
                    permit.success();
                }
                let retryable = err.is_retryable();
                log.steps.push(step(
                    attempt,
                    Outcome::Failed {
                        kind: err.kind(),
                        retryable,
                    },
                    elapsed,
                ));
                tracing::debug!(provider, model, attempt, kind = %err.kind(), retryable, "upstream call failed");
                if !err.should_fall_back() {
                    return Err((err, log));
                }
                if !retryable || attempt >= max_attempts {
                    last_err = Some(err);
                    break;
                }
                let delay = self
                    .policy
                    .delay(attempt - 1, err.retry_after(), &mut rand::rng());
                last_err = Some(err);
                let Some(delay) = delay else { break };
                if deadline.is_some_and(|d| Instant::now() + delay >= d) {
                    break;
                }
                tokio::time::sleep(delay).await;
            }
        }

        let err = match last_err {
            Some(e) => e,
            None => {
                let (provider, model) = candidates
                    .first()
                    .map_or(("", ""), |c| (c.provider(), c.model()));
                let message = if candidates.is_empty() {
                    "No provider is available for this request.".to_string()
                } else {
                    let names: Vec<String> = candidates
                        .iter()
                        .map(|c| format!("{}/{}", c.provider(), c.model()))
                        .collect();
                    format!(
                        "Every candidate is temporarily unavailable (circuit open after repeated failures): {}.",
                        names.join(", ")
                    )
                };
                E::unavailable(provider, model, message)
            }
        };
        Err((err, log))
    }
}
