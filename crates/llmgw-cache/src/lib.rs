//! Exact response cache of LLM Gateway, behind the server's [`ResponseCache`] seam.
//!
//! The key is a SHA-256 [`fingerprint()`] of the tenant (the caller's gateway key id, or
//! `open`), the resolved model and every request field that changes the answer: messages
//! (system prompt and history included), tools, tool choice, response format and the
//! sampling parameters. Streamed and non-streamed requests share entries: the gateway
//! replays a cached answer as a stream when a stream is asked for. Only complete answers
//! (a finish reason on every choice) are kept; entries expire after a TTL and the cache is
//! bounded by entries and by bytes, evicting the least recently used.
//!
//! ```no_run
//! # fn demo(config: llmgw_config::Config, providers: llmgw_server::ProviderRegistry) {
//! let mut builder = llmgw_server::Gateway::builder(config.clone(), providers);
//! if config.cache.enabled {
//!     let cache = llmgw_cache::ExactCache::new((&config.cache).into());
//!     builder = builder.cache(std::sync::Arc::new(cache));
//! }
//! # }
//! ```
//!
//! [`ResponseCache`]: llmgw_server::ResponseCache

mod exact;
mod fingerprint;

pub use exact::{CacheLimits, CacheStats, ExactCache, ENTRY_OVERHEAD_BYTES};
pub use fingerprint::{fingerprint, tenant, Fingerprint, OPEN_TENANT};
