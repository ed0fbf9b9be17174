//! Response cache of LLM Gateway, behind the server's [`ResponseCache`] seam: exact
//! matches, and (opt-in) semantic matches on the prompt embedding the router computes.
//!
//! The exact key is a SHA-256 [`fingerprint()`] of the tenant (the caller's gateway key id,
//! or `open`), the resolved model and every request field that changes the answer:
//! messages (system prompt and history included), tools, tool choice, response format and
//! the sampling parameters. Streamed and non-streamed requests share entries: the gateway
//! replays a cached answer as a stream when a stream is asked for. Only complete answers
//! (a finish reason on every choice) are kept; entries expire after a TTL and the cache is
//! bounded by entries and by bytes, evicting the least recently used.
//!
//! Answers stored with a prompt embedding are also indexed by [`params_fingerprint()`]:
//! the same key without the final user turn's text. A lookup that sets
//! `min_similarity` and misses exactly takes the most similar prompt of its bucket
//! (cosine of normalised vectors) if it reaches the threshold.
//!
//! ```no_run
//! # fn demo(config: llmgw_config::Config, providers: llmgw_server::ProviderRegistry) {
//! let mut builder = llmgw_server::Gateway::builder(config.clone(), providers);
//! if config.cache.enabled {
//!     let cache = llmgw_cache::MemoryCache::new((&config.cache).into());
//!     builder = builder.cache(std::sync::Arc::new(cache));
//! }
//! # }
//! ```
//!
//! [`ResponseCache`]: llmgw_server::ResponseCache

mod fingerprint;
mod memory;

pub use fingerprint::{fingerprint, params_fingerprint, tenant, Fingerprint, OPEN_TENANT};
pub use llmgw_server::stages::cache::CacheStats;
pub use memory::{CacheLimits, ExactCache, MemoryCache, ENTRY_OVERHEAD_BYTES, MAX_BUCKET_ENTRIES};
