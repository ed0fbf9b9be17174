//! Cost-quality optimizer of LLM Gateway: given the candidate models for one request, what
//! the classifier predicts about each, their prices and the caller's policy, choose the
//! model to call and rank the rest as the fallback order.
//!
//! Pure: no I/O, no clock, no randomness. The same input always gives the same decision.
//!
//! ```
//! use llmgw_optimizer::{decide, Candidate, Constraints, Policy, Prices};
//!
//! let cand = |model: &str, q: f64, input: f64, output: f64| Candidate {
//!     model: model.into(),
//!     provider: "openai".into(),
//!     predicted_quality: q,
//!     prices: Prices::new(input, output),
//!     prompt_tokens: 500,
//!     cached_prompt_tokens: 0,
//!     expected_output_tokens: 300,
//!     available: true,
//!     unavailable_reason: None,
//! };
//! let candidates = [cand("big", 0.92, 10.0, 30.0), cand("small", 0.81, 0.24, 0.24)];
//! let d = decide(&candidates, &Policy::MinQuality { target: 0.8 }, &Constraints::default())?;
//! assert_eq!(d.winner().map(|w| w.model.as_str()), Some("small"));
//! assert_eq!(d.ranked_models(), ["small", "big"]);
//! # Ok::<(), llmgw_optimizer::OptimizerError>(())
//! ```

mod candidate;
mod decide;
mod error;
mod policy;
mod tokens;

pub use candidate::{Candidate, Prices};
pub use decide::{decide, CandidateOutcome, Decision};
pub use error::OptimizerError;
pub use policy::{Constraints, Policy};
pub use tokens::{
    estimate_prompt_tokens, estimate_text_tokens, TOKENS_PER_MESSAGE, TOKENS_PER_REQUEST,
};
