//! `[shared_state]`: one Redis server shared by several gateway instances, for the budget and
//! rate-limit counters and (with `[cache] backend = "redis"`) the exact response cache.
//!
//! ```toml
//! [shared_state]
//! redis_url_env = "LLMGW_REDIS_URL"  # default; the URL (and its password) stays out of the file
//! # redis_url = "redis://127.0.0.1:6379/0"   # or the URL itself, when it holds no password
//! prefix = "llmgw"                   # namespace of every key; one per deployment
//! timeout_ms = 250                   # per Redis operation; a slower answer counts as a failure
//! counters = "redis"                 # budgets and rate limits: "memory" (default) or "redis"
//! on_counter_error = "refuse"        # Redis down: "refuse" (503, default) or "allow" (uncounted)
//!
//! [cache]
//! enabled = true
//! backend = "redis"                  # "memory" (default) or "redis"
//! ```

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;

/// Default environment variable holding the Redis URL.
pub const DEFAULT_REDIS_URL_ENV: &str = "LLMGW_REDIS_URL";
/// Default key prefix.
pub const DEFAULT_REDIS_PREFIX: &str = "llmgw";
/// Default time limit of one Redis operation, in milliseconds.
pub const DEFAULT_REDIS_TIMEOUT_MS: u64 = 250;

/// Accepted URL schemes (TLS, `rediss://`, is not built in).
const URL_SCHEMES: &[&str] = &["redis://", "redis+unix://", "unix://", "valkey://"];

/// Where counters (or cache entries) live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateBackend {
    /// In this process (the default): nothing to set up, not shared between instances.
    #[default]
    Memory,
    /// In the `[shared_state]` Redis server, shared by every instance using it.
    Redis,
}

/// What a request meets when the shared counters cannot be reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterFailure {
    /// Refuse requests of keys with limits (503): no spend goes uncounted. The default.
    #[default]
    Refuse,
    /// Let them through uncounted (and log each one).
    Allow,
}

/// The `[shared_state]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedStateConfig {
    /// The Redis URL itself (keep passwords out of config files: prefer `redis_url_env`).
    #[serde(default)]
    pub redis_url: Option<String>,
    /// Environment variable holding the Redis URL. Default `LLMGW_REDIS_URL`.
    #[serde(default)]
    pub redis_url_env: Option<String>,
    /// Namespace of every Redis key (`<prefix>:counters:…`, `<prefix>:cache:…`).
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Time limit of one Redis operation, in milliseconds. Default 250.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Where budget and rate-limit counters live. Default `memory`.
    #[serde(default)]
    pub counters: StateBackend,
    /// What happens when Redis cannot be reached for a counter. Default `refuse`.
    #[serde(default)]
    pub on_counter_error: CounterFailure,
}

fn default_prefix() -> String {
    DEFAULT_REDIS_PREFIX.to_string()
}
fn default_timeout_ms() -> u64 {
    DEFAULT_REDIS_TIMEOUT_MS
}

impl Default for SharedStateConfig {
    fn default() -> Self {
        SharedStateConfig {
            redis_url: None,
            redis_url_env: None,
            prefix: default_prefix(),
            timeout_ms: DEFAULT_REDIS_TIMEOUT_MS,
            counters: StateBackend::Memory,
            on_counter_error: CounterFailure::Refuse,
        }
    }
}

impl SharedStateConfig {
    /// The time limit of one Redis operation.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The environment variable the URL is read from (when `redis_url` is not set).
    pub fn url_env(&self) -> &str {
        self.redis_url_env
            .as_deref()
            .unwrap_or(DEFAULT_REDIS_URL_ENV)
    }

    /// The Redis URL: `redis_url`, or the value of the environment variable. The error says
    /// what to set (and never quotes a URL).
    pub fn resolve_url(&self) -> Result<String, String> {
        if let Some(url) = &self.redis_url {
            return Ok(url.clone());
        }
        let var = self.url_env();
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => {
                let v = v.trim().to_string();
                if has_redis_scheme(&v) {
                    Ok(v)
                } else {
                    Err(format!("environment variable {var} does not hold a Redis URL (expected redis://… or redis+unix://…; TLS, rediss://, is not supported)"))
                }
            }
            _ => Err(format!(
                "shared state in Redis is configured but no Redis URL is set: set the environment variable {var} (e.g. redis://127.0.0.1:6379/0) or `shared_state.redis_url`"
            )),
        }
    }

    pub(crate) fn validate(&self, path: &Path, uses_redis: bool) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: &str| {
            Err(ConfigError::invalid(
                path,
                format!("shared_state.{key}"),
                msg.to_string(),
            ))
        };
        if self.redis_url.is_some() && self.redis_url_env.is_some() {
            return bad(
                "redis_url",
                "set either redis_url or redis_url_env, not both",
            );
        }
        if let Some(url) = &self.redis_url {
            // The value may hold a password: never quote it.
            if !has_redis_scheme(url) {
                return bad(
                    "redis_url",
                    "expected a Redis URL: redis://[user:password@]host[:port][/db] or redis+unix:///path (TLS, rediss://, is not supported)",
                );
            }
        }
        if let Some(var) = &self.redis_url_env {
            if var.is_empty() || has_redis_scheme(var) || var.contains(['/', ':', '@', ' ']) {
                return bad(
                    "redis_url_env",
                    "expected the name of an environment variable (e.g. LLMGW_REDIS_URL), not a URL",
                );
            }
        }
        let prefix_ok = !self.prefix.is_empty()
            && self.prefix.len() <= 64
            && self
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
        if !prefix_ok {
            return bad(
                "prefix",
                "expected 1 to 64 characters from A-Z a-z 0-9 - _ . :",
            );
        }
        if self.timeout_ms == 0 || self.timeout_ms > 60_000 {
            return bad("timeout_ms", "expected milliseconds from 1 to 60000");
        }
        if !uses_redis && (self.redis_url.is_some() || self.redis_url_env.is_some()) {
            return bad(
                "counters",
                "a Redis server is configured but nothing uses it: set `counters = \"redis\"` here and/or `backend = \"redis\"` in [cache]",
            );
        }
        Ok(())
    }
}

fn has_redis_scheme(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    URL_SCHEMES.iter().any(|s| lower.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml_text: &str, uses_redis: bool) -> Result<SharedStateConfig, String> {
        let cfg: SharedStateConfig = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        cfg.validate(Path::new("c.toml"), uses_redis)
            .map_err(|e| e.to_string())?;
        Ok(cfg)
    }

    #[test]
    fn defaults_and_values() {
        let c = check("", true).unwrap();
        assert_eq!(c, SharedStateConfig::default());
        assert_eq!(c.url_env(), "LLMGW_REDIS_URL");
        assert_eq!(c.timeout(), Duration::from_millis(250));
        let c = check(
            "redis_url = \"redis://127.0.0.1:6379/2\"\nprefix = \"prod:eu\"\ntimeout_ms = 50\ncounters = \"redis\"\non_counter_error = \"allow\"\n",
            true,
        )
        .unwrap();
        assert_eq!(c.counters, StateBackend::Redis);
        assert_eq!(c.on_counter_error, CounterFailure::Allow);
        assert_eq!(c.resolve_url().unwrap(), "redis://127.0.0.1:6379/2");
    }

    #[test]
    fn bad_values_are_named_and_urls_never_quoted() {
        let err = check("redis_url = \"http://u:s3cret@h\"", true).unwrap_err();
        assert!(
            err.contains("shared_state.redis_url") && !err.contains("s3cret"),
            "{err}"
        );
        let err = check("redis_url = \"rediss://h:6380\"", true).unwrap_err();
        assert!(err.contains("not supported"), "{err}");
        let err = check("redis_url_env = \"redis://h\"", true).unwrap_err();
        assert!(err.contains("shared_state.redis_url_env"), "{err}");
        let err = check("prefix = \"a b\"", true).unwrap_err();
        assert!(err.contains("shared_state.prefix"), "{err}");
        let err = check("timeout_ms = 0", true).unwrap_err();
        assert!(err.contains("shared_state.timeout_ms"), "{err}");
        let err = check("redis_url = \"redis://h\"\nredis_url_env = \"X\"", true).unwrap_err();
        assert!(err.contains("not both"), "{err}");
        let err = check("redis_url = \"redis://h\"", false).unwrap_err();
        assert!(err.contains("nothing uses it"), "{err}");
        let err = check("counters = \"postgres\"", true).unwrap_err();
        assert!(err.contains("memory") && err.contains("redis"), "{err}");
        assert!(check("unknown = 1", true).is_err());
    }

    fn load(extra: &str) -> Result<crate::Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("catalog.toml"),
            "[[model]]\nid = \"a\"\nprovider = \"p\"\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\ncontext_window = 1000\n",
        )
        .unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            format!("catalog = \"catalog.toml\"\n[providers.p]\nkind = \"openai\"\n{extra}"),
        )
        .unwrap();
        crate::Config::load(&path)
    }

    #[test]
    fn config_files_read_the_section_and_the_cache_backend() {
        let cfg = load("").unwrap();
        assert_eq!(cfg.shared_state, SharedStateConfig::default());
        assert_eq!(cfg.cache.backend, StateBackend::Memory);
        let cfg = load(
            "[shared_state]\ncounters = \"redis\"\nprefix = \"gw\"\n[cache]\nenabled = true\nbackend = \"redis\"\nmax_entry_bytes = 4096\n",
        )
        .unwrap();
        assert_eq!(cfg.shared_state.counters, StateBackend::Redis);
        assert_eq!(cfg.shared_state.prefix, "gw");
        assert_eq!(cfg.cache.backend, StateBackend::Redis);
        assert_eq!(cfg.cache.max_entry_bytes, 4096);
        let err = load("[shared_state]\nredis_url = \"redis://h:1\"\n").unwrap_err();
        assert_eq!(err.key(), "shared_state.counters", "{err}");
        let err = load("[cache]\nenabled = true\nbackend = \"disk\"\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("config.toml:6:"),
            "line of the bad value: {text}"
        );
        assert!(text.contains("cache.backend"), "{text}");
        let err = load("[shared_state]\ncountres = \"redis\"\n").unwrap_err();
        assert!(err.to_string().contains("countres"), "{err}");
    }

    #[test]
    fn the_url_comes_from_the_environment() {
        let c = check("redis_url_env = \"LLMGW_TEST_REDIS_URL_NEVER_SET\"", true).unwrap();
        let err = c.resolve_url().unwrap_err();
        assert!(err.contains("LLMGW_TEST_REDIS_URL_NEVER_SET"), "{err}");
    }
}
