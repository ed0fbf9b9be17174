//! `[cache]`: the gateway's exact response cache.

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

/// The `[cache]` section.
///
/// ```toml
/// [cache]
/// enabled = true
/// ttl_seconds = 3600
/// max_entries = 10000
/// max_bytes = 67108864
/// ```
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
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

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: false,
            ttl_seconds: DEFAULT_CACHE_TTL_SECS,
            max_entries: DEFAULT_CACHE_MAX_ENTRIES,
            max_bytes: DEFAULT_CACHE_MAX_BYTES,
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
        if !self.enabled {
            return Ok(());
        }
        for (key, value) in [
            ("cache.ttl_seconds", self.ttl_seconds),
            ("cache.max_entries", self.max_entries),
            ("cache.max_bytes", self.max_bytes),
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
