//! Reliability for LLM Gateway's upstream calls:
//!
//! * [`RetryPolicy`]: exponential backoff with full jitter, a capped number of calls, and a
//!   provider's `retry-after` honoured up to a cap;
//! * [`Breakers`]: a circuit breaker per (provider, model) — closed, open after repeated
//!   failures or a high failure rate, half-open probe after a cool-down — whose states
//!   ([`Breakers::snapshot`]) feed `/health` and `/metrics`;
//! * [`Executor::call_with_fallbacks`]: retries, then falls back along the candidates, skipping
//!   open breakers, within a total deadline, and reports every step ([`Attempts`]) for the
//!   `x-llmgw-attempts` and `x-llmgw-fallback-from` headers;
//! * [`start_stream`]: a stream counts as started (no longer retried) at its first output.
//!
//! Time is tokio's, so tests run with `tokio::time::pause()` in virtual time.

mod attempts;
mod breaker;
mod executor;
mod failure;
mod policy;
mod stream;

pub use attempts::{Attempt, Attempts, Candidate, Outcome, Target};
pub use breaker::{BreakerConfig, BreakerPermit, BreakerState, BreakerStatus, Breakers};
pub use executor::Executor;
pub use failure::Failure;
pub use policy::RetryPolicy;
pub use stream::{start_stream, Started, MAX_HELD_ITEMS};
