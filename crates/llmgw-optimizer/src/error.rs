//! Errors of the optimizer.

/// Why the optimizer could not decide.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimizerError {
    /// The policy's parameter is out of range (a `min_quality` target outside `[0, 1]`,
    /// a willingness to pay that is not a positive number).
    #[error("invalid routing policy: {0}")]
    InvalidPolicy(String),
    /// A constraint is out of range (a negative or non-finite `max_cost_usd`).
    #[error("invalid routing constraint: {0}")]
    InvalidConstraint(String),
    /// A candidate carries a value that cannot be ranked (non-finite quality or price).
    #[error("invalid candidate `{model}`: {message}")]
    InvalidCandidate {
        /// The candidate's model id.
        model: String,
        /// What is wrong with it.
        message: String,
    },
    /// There were no candidates at all.
    #[error("no candidate models to route between")]
    NoCandidates,
    /// Every candidate was excluded; `reasons` lists `model: reason` for each.
    #[error("no eligible model: {}", reasons.join("; "))]
    NoEligibleCandidate {
        /// One `model: reason` entry per candidate.
        reasons: Vec<String>,
    },
}
