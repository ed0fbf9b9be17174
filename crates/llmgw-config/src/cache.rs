//! `[cache]`: the gateway's response cache (exact, and optionally semantic).

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;

/// Default time an answer stays cached: one hour.
pub const DEFAULT_CACHE_TTL_SECS: u64 = 3600;
/// Default most answers held.
pub const DEFAULT_CACHE_MAX_ENTRIES: u64 = 10_000;
/// Default most bytes of answers held (64 MiB).
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Default largest answer stored in a Redis cache (1 MiB).
pub const DEFAULT_CACHE_MAX_ENTRY_BYTES: u64 = 1024 * 1024;
/// Default least cosine similarity for a semantic hit, chosen from measured similarities of
/// paraphrase and non-paraphrase pairs with the shipped encoder (see the README).
pub const DEFAULT_SIMILARITY_THRESHOLD: f64 = 0.93;

/// The `[cache]` section.
///
/// ```toml
/// [cache]
/// enabled = true
/// ttl_seconds = 3600
/// max_entries = 10000
/// max_bytes = 67108864
/// semantic = false
/// similarity_threshold = 0.93
/// ```
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Answer repeated requests from memory. Default `false`.
    #[serde(default)]
    pub enabled: bool,
    /// Seconds an answer stays valid. Default 3600.
    #[serde(default = "default_ttl")]
    pub ttl_seconds: u64,
    /// Most answers held; the least recently used goes first. Default 10,000.
    #[serde(default = "default_max_entries")]
    pub max_entries: u64,
    /// Most bytes of answers held (their JSON size); the least recently used goes first.
    /// Default 64 MiB.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Also reuse the answer of a similar prompt (same tenant, model and parameters) for
    /// every request; requests can opt in one by one with `"cache": {"semantic": true}`.
    /// Needs the trained router (its encoder embeds the prompts). Default `false`.
    #[serde(default)]
    pub semantic: bool,
    /// Least cosine similarity (0 < t <= 1) of two prompts' embeddings for a semantic hit;
    /// a request may ask for a stricter or looser one with `"cache": {"min_similarity": t}`.
    #[serde(default = "default_similarity_threshold")]
    pub similarity_threshold: f64,
    /// Where exact-cache entries live: `memory` (default, this instance) or `redis` (the
    /// `[shared_state]` server, shared by every instance; `max_entries` and `max_bytes` then
    /// bound only the local semantic index, and Redis' `maxmemory` bounds the rest).
    #[serde(default)]
    pub backend: crate::StateBackend,
    /// Largest answer (JSON bytes) stored in Redis; larger answers are not cached. Default
    /// 1 MiB.
    #[serde(default = "default_max_entry_bytes")]
    pub max_entry_bytes: u64,
}

fn default_ttl() -> u64 {
    DEFAULT_CACHE_TTL_SECS
}
fn default_max_entries() -> u64 {
    DEFAULT_CACHE_MAX_ENTRIES
}
fn default_max_bytes() -> u64 {
    DEFAULT_CACHE_MAX_BYTES
}
fn default_similarity_threshold() -> f64 {
    DEFAULT_SIMILARITY_THRESHOLD
}
fn default_max_entry_bytes() -> u64 {
    DEFAULT_CACHE_MAX_ENTRY_BYTES
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: false,
            ttl_seconds: DEFAULT_CACHE_TTL_SECS,
            max_entries: DEFAULT_CACHE_MAX_ENTRIES,
            max_bytes: DEFAULT_CACHE_MAX_BYTES,
            semantic: false,
            similarity_threshold: DEFAULT_SIMILARITY_THRESHOLD,
            backend: crate::StateBackend::Memory,
            max_entry_bytes: DEFAULT_CACHE_MAX_ENTRY_BYTES,
        }
    }
}

impl CacheConfig {
    /// How long an answer stays valid.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_seconds)
    }

    /// Check the limits of an enabled cache.
    pub(crate) fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let t = self.similarity_threshold;
        if !(t > 0.0 && t <= 1.0) {
            return Err(ConfigError::invalid(
                path,
                "cache.similarity_threshold",
                "expected a cosine similarity above 0 and at most 1",
            ));
        }
        if !self.enabled {
            return Ok(());
        }
        for (key, value) in [
            ("cache.ttl_seconds", self.ttl_seconds),
            ("cache.max_entries", self.max_entries),
            ("cache.max_bytes", self.max_bytes),
            ("cache.max_entry_bytes", self.max_entry_bytes),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(
                    path,
                    key,
                    "expected a number above 0 (or `enabled = false`)",
                ));
            }
        }
        Ok(())
    }
}
