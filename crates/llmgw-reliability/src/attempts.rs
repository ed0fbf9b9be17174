//! What the executor did: every call and every skipped candidate, for response headers
//! (`x-llmgw-attempts`, `x-llmgw-fallback-from`) and the outcome log.

use serde::Serialize;
use std::time::Duration;

/// A (provider, model) the executor may call.
pub trait Target {
    /// Configured provider name.
    fn provider(&self) -> &str;
    /// Model (as the client knows it).
    fn model(&self) -> &str;
}

/// A plain candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Provider name.
    pub provider: String,
    /// Model.
    pub model: String,
}

impl Candidate {
    /// A candidate for `model` at `provider`.
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> Self {
        Candidate {
            provider: provider.into(),
            model: model.into(),
        }
    }
}

impl Target for Candidate {
    fn provider(&self) -> &str {
        &self.provider
    }

    fn model(&self) -> &str {
        &self.model
    }
}

/// How one step went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The call answered.
    Success,
    /// The call failed.
    Failed {
        /// The failure's class.
        kind: String,
        /// Whether it was worth retrying.
        retryable: bool,
    },
    /// The total time budget ran out during the call.
    DeadlineExceeded,
    /// Not called: its circuit breaker is open.
    CircuitOpen {
        /// Milliseconds until the breaker lets a probe through.
        retry_in_ms: u64,
    },
}

/// One step of the executor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// Index of the candidate in the list given.
    pub candidate: usize,
    /// Provider name.
    pub provider: String,
    /// Model.
    pub model: String,
    /// 1 for the first call to this candidate, 2 for its first retry, …
    pub attempt: u32,
    /// How it went.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Time spent in the call (zero for skipped candidates).
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Every step of one request, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attempts {
    /// The steps.
    pub steps: Vec<Attempt>,
    /// The model of the first candidate.
    pub primary: Option<String>,
}

impl Attempts {
    /// Upstream calls made (the `x-llmgw-attempts` value).
    pub fn calls(&self) -> u32 {
        self.steps
            .iter()
            .filter(|s| !matches!(s.outcome, Outcome::CircuitOpen { .. }))
            .count() as u32
    }

    /// The first candidate's model when a later candidate was tried: what the request fell
    /// back from (the `x-llmgw-fallback-from` value).
    pub fn fallback_from(&self) -> Option<&str> {
        self.steps
            .iter()
            .any(|s| s.candidate > 0)
            .then_some(self.primary.as_deref())
            .flatten()
    }

    /// The step that answered.
    pub fn winner(&self) -> Option<&Attempt> {
        self.steps.last().filter(|s| s.outcome == Outcome::Success)
    }

    /// The shortest wait until an open breaker among the skipped candidates lets a probe
    /// through (for a `retry-after` when every candidate was skipped).
    pub fn shortest_breaker_wait(&self) -> Option<Duration> {
        self.steps
            .iter()
            .filter_map(|s| match s.outcome {
                Outcome::CircuitOpen { retry_in_ms } => Some(Duration::from_millis(retry_in_ms)),
                _ => None,
            })
            .min()
    }
}
