//! Shared state of LLM Gateway in Redis, so that several `llmgw serve` instances behind a
//! load balancer enforce the same budgets and rate limits and answer from one cache.
//!
//! * [`RedisCounterStore`] implements the governance crate's [`CounterStore`]: every
//!   operation is one Lua script (`EVALSHA`), atomic across instances, with the semantics of
//!   the in-memory store (reservation rule, day and month windows, token buckets, `forget`).
//! * Every operation has a time limit ([`RedisSettings::timeout`]): a Redis that is down or
//!   unreachable makes an operation fail fast, never hang. What a failed counter operation
//!   means is configurable ([`OnCounterError`]: refuse, the default, or allow uncounted).
//! * [`RedisCache`] is the exact response cache behind the server's `ResponseCache` seam: the
//!   same tenant-partitioned fingerprint as the in-memory cache, complete answers only, a TTL
//!   per entry and a size bound per entry (Redis' `maxmemory` bounds the total). Semantic
//!   matching stays per instance.
//! * [`SharedState`] sets both up from a configuration's `[shared_state]` and `[cache]`.
//! * Errors and logs name the server by its URL with the password redacted ([`redact`]).
//!
//! [`CounterStore`]: llmgw_governance::CounterStore

mod cache;
mod connection;
mod counters;
mod metrics;
mod shared;
mod url;

pub use cache::{
    is_complete, RedisCache, RedisCacheCounts, RedisCacheLimits, RedisCacheStats, CACHE_RETRY_AFTER,
};
pub use metrics::SharedStateMetrics;
pub use shared::{SharedState, SharedStateError};

pub use connection::{RedisConnection, RedisError, RedisSettings, DEFAULT_TIMEOUT};
pub use counters::{
    CounterStoreStats, OnCounterError, RedisCounterStore, ADMISSION_RETRY_AFTER, MAX_BUCKET_UNITS,
    MAX_EXACT, WINDOW_GRACE,
};
pub use url::redact;
