//! `[[keys]]`, `[admin]` and `[reliability]`: who may call the gateway, with which limits, and
//! how failed upstream calls are retried and fall back.
//!
//! ```toml
//! [[keys]]
//! id = "team-search"
//! hash = "sha256:…"                 # `llmgw keys hash` prints it; never the key itself
//! models = ["gpt-4o-mini", "claude-*"]
//! daily_budget_usd = 5.0
//! monthly_budget_usd = 100.0
//! requests_per_minute = 60
//! tokens_per_minute = 100000
//!
//! [admin]
//! key_env = "LLMGW_ADMIN_KEY"       # enables /admin/keys for callers presenting this key
//! keys_file = "admin-keys.json"     # keys issued / revoked through it (default: <server.log_dir>/admin-keys.json)
//!
//! [reliability]
//! max_attempts = 3                  # calls per model, the first included
//! base_delay_ms = 250               # full-jitter backoff: [0, base * 2^n], capped
//! max_delay_ms = 4000
//! max_retry_after_secs = 10         # a longer `retry-after` falls back at once
//! total_timeout_secs = 60           # all attempts and fallbacks together (default: server.request_timeout_secs)
//! breaker_failures = 5              # consecutive failures that open a breaker
//! breaker_failure_rate = 0.5        # …or this share of the last `breaker_window` calls
//! breaker_window = 20
//! breaker_min_calls = 10
//! breaker_cool_down_secs = 30
//!
//! [reliability.fallbacks]
//! "gpt-4o" = ["claude-sonnet-4", "gemini-2.5-pro"]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use llmgw_governance::{KeyHash, KeySpec, KeyStore};
use serde::Deserialize;

use crate::catalog::Catalog;
use crate::error::ConfigError;

/// `[admin]`: the key that guards the admin API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Environment variable holding the admin key.
    #[serde(default)]
    pub key_env: Option<String>,
    /// SHA-256 of the admin key (instead of `key_env`).
    #[serde(default)]
    pub key_hash: Option<KeyHash>,
    /// File that keeps the keys issued and revoked through the admin API (hashes only), so
    /// they survive a restart. Relative paths: against the config file's folder. Default:
    /// `admin-keys.json` in `server.log_dir` when that is set; otherwise such keys live in
    /// memory only.
    #[serde(default)]
    pub keys_file: Option<PathBuf>,
}

/// File name of the keys file in `server.log_dir` when `[admin] keys_file` is not set.
pub const DEFAULT_KEYS_FILE_NAME: &str = "admin-keys.json";

impl AdminConfig {
    pub(crate) fn validate(&mut self, file: &Path, base_dir: &Path) -> Result<(), ConfigError> {
        if let Some(path) = &self.keys_file {
            if path.as_os_str().is_empty() {
                return Err(ConfigError::invalid(
                    file,
                    "admin.keys_file",
                    "expected a file path, got an empty string",
                ));
            }
            self.keys_file = Some(base_dir.join(path));
        }
        Ok(())
    }

    /// The admin key's hash, from `key_hash` or the environment (`None`: admin API off).
    pub fn resolve_hash(&self) -> Option<KeyHash> {
        self.key_hash.or_else(|| {
            let var = self.key_env.as_deref()?;
            let key = std::env::var(var).ok().filter(|k| !k.trim().is_empty())?;
            Some(KeyHash::of(key.trim()))
        })
    }
}

impl crate::Config {
    /// Where keys issued and revoked through the admin API are kept: `[admin] keys_file`, or
    /// [`DEFAULT_KEYS_FILE_NAME`] in `server.log_dir`; `None` when neither is set (such keys
    /// then live in memory only).
    pub fn admin_keys_file(&self) -> Option<PathBuf> {
        self.admin.keys_file.clone().or_else(|| {
            self.server
                .log_dir
                .as_ref()
                .map(|d| d.join(DEFAULT_KEYS_FILE_NAME))
        })
    }
}

/// `[reliability]`: retries, fallbacks and circuit breakers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReliabilityConfig {
    /// Calls per model, the first included. Default 3.
    #[serde(default = "d_attempts")]
    pub max_attempts: u32,
    /// Backoff base in milliseconds. Default 250.
    #[serde(default = "d_base")]
    pub base_delay_ms: u64,
    /// Backoff cap in milliseconds. Default 4000.
    #[serde(default = "d_max")]
    pub max_delay_ms: u64,
    /// Longest provider `retry-after` honoured, seconds. Default 10.
    #[serde(default = "d_retry_after")]
    pub max_retry_after_secs: f64,
    /// Time for all attempts and fallbacks of one request; default: the server's
    /// `request_timeout_secs`.
    #[serde(default)]
    pub total_timeout_secs: Option<f64>,
    /// Consecutive failures that open a breaker. Default 5.
    #[serde(default = "d_failures")]
    pub breaker_failures: u32,
    /// Share of failures among the last `breaker_window` calls that opens it. Default 0.5.
    #[serde(default = "d_rate")]
    pub breaker_failure_rate: f64,
    /// Calls remembered for the failure rate. Default 20.
    #[serde(default = "d_window")]
    pub breaker_window: u32,
    /// Calls needed before the rate counts. Default 10.
    #[serde(default = "d_min_calls")]
    pub breaker_min_calls: u32,
    /// Seconds an open breaker waits before a probe. Default 30.
    #[serde(default = "d_cool_down")]
    pub breaker_cool_down_secs: f64,
    /// Fallback models of named models, in order.
    #[serde(default)]
    pub fallbacks: BTreeMap<String, Vec<String>>,
}

fn d_attempts() -> u32 {
    3
}
fn d_base() -> u64 {
    250
}
fn d_max() -> u64 {
    4000
}
fn d_retry_after() -> f64 {
    10.0
}
fn d_failures() -> u32 {
    5
}
fn d_rate() -> f64 {
    0.5
}
fn d_window() -> u32 {
    20
}
fn d_min_calls() -> u32 {
    10
}
fn d_cool_down() -> f64 {
    30.0
}

impl Default for ReliabilityConfig {
    fn default() -> Self {
        ReliabilityConfig {
            max_attempts: d_attempts(),
            base_delay_ms: d_base(),
            max_delay_ms: d_max(),
            max_retry_after_secs: d_retry_after(),
            total_timeout_secs: None,
            breaker_failures: d_failures(),
            breaker_failure_rate: d_rate(),
            breaker_window: d_window(),
            breaker_min_calls: d_min_calls(),
            breaker_cool_down_secs: d_cool_down(),
            fallbacks: BTreeMap::new(),
        }
    }
}

fn secs(v: f64) -> Duration {
    Duration::try_from_secs_f64(v).unwrap_or(Duration::ZERO)
}

impl ReliabilityConfig {
    /// `max_retry_after_secs` as a duration.
    pub fn max_retry_after(&self) -> Duration {
        secs(self.max_retry_after_secs)
    }

    /// `breaker_cool_down_secs` as a duration.
    pub fn breaker_cool_down(&self) -> Duration {
        secs(self.breaker_cool_down_secs)
    }

    /// `total_timeout_secs` as a duration, if set.
    pub fn total_timeout(&self) -> Option<Duration> {
        self.total_timeout_secs.map(secs)
    }

    /// The fallbacks listed for named model `model`.
    pub fn fallbacks_of(&self, model: &str) -> &[String] {
        self.fallbacks.get(model).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn validate(&self, path: &Path, catalog: &Catalog) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: &str| {
            Err(ConfigError::invalid(
                path,
                format!("reliability.{key}"),
                msg.to_string(),
            ))
        };
        if self.max_attempts == 0 {
            return bad("max_attempts", "expected at least 1");
        }
        if self.max_delay_ms < self.base_delay_ms {
            return bad("max_delay_ms", "expected a value >= base_delay_ms");
        }
        let positive = |v: f64| v.is_finite() && v >= 0.0;
        if !positive(self.max_retry_after_secs) {
            return bad("max_retry_after_secs", "expected a number of seconds >= 0");
        }
        if self
            .total_timeout_secs
            .is_some_and(|v| !positive(v) || v == 0.0)
        {
            return bad("total_timeout_secs", "expected a number of seconds > 0");
        }
        if self.breaker_failures == 0 {
            return bad("breaker_failures", "expected at least 1");
        }
        if !(self.breaker_failure_rate > 0.0 && self.breaker_failure_rate <= 1.0) {
            return bad("breaker_failure_rate", "expected a share in (0, 1]");
        }
        if self.breaker_window == 0 || self.breaker_min_calls == 0 {
            return bad(
                "breaker_window",
                "expected breaker_window and breaker_min_calls >= 1",
            );
        }
        if !positive(self.breaker_cool_down_secs) {
            return bad(
                "breaker_cool_down_secs",
                "expected a number of seconds >= 0",
            );
        }
        for (model, list) in &self.fallbacks {
            let key = format!("fallbacks.\"{model}\"");
            if catalog.get(model).is_none() {
                return bad(&key, "is not a model of the catalog");
            }
            for f in list {
                if f == model {
                    return bad(&key, "lists the model as its own fallback");
                }
                if catalog.get(f).is_none() {
                    return Err(ConfigError::invalid(
                        path,
                        format!("reliability.{key}"),
                        format!("fallback `{f}` is not a model of the catalog"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Checks `[[keys]]`: valid ids and limits, no duplicate ids or hashes.
pub(crate) fn validate_keys(keys: &[KeySpec], path: &Path) -> Result<(), ConfigError> {
    KeyStore::from_specs(keys.iter().cloned())
        .map(|_| ())
        .map_err(|e| ConfigError::invalid(path, "keys", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_durations() {
        let r = ReliabilityConfig::default();
        assert_eq!(r.max_attempts, 3);
        assert_eq!(r.breaker_cool_down(), Duration::from_secs(30));
        assert_eq!(r.total_timeout(), None);
        assert!(r.fallbacks_of("x").is_empty());
    }

    #[test]
    fn admin_hash_from_config_or_env() {
        let h = KeyHash::of("admin-secret");
        let a = AdminConfig {
            key_hash: Some(h),
            ..AdminConfig::default()
        };
        assert_eq!(a.resolve_hash(), Some(h));
        let a = AdminConfig {
            key_env: Some("LLMGW_TEST_ADMIN_KEY_NEVER_SET".into()),
            ..AdminConfig::default()
        };
        assert_eq!(a.resolve_hash(), None);
    }

    fn load(extra: &str) -> Result<crate::Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("catalog.toml"),
            "[[model]]\nid = \"a\"\nprovider = \"p\"\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\ncontext_window = 1000\n\n\
             [[model]]\nid = \"b\"\nprovider = \"p\"\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\ncontext_window = 1000\n",
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
    fn keys_and_reliability_load_and_validate() {
        let h1 = KeyHash::of("sk-one").to_hex();
        let h2 = KeyHash::of("sk-two").to_hex();
        let cfg = load(&format!(
            "[[keys]]\nid = \"one\"\nhash = \"sha256:{h1}\"\ndaily_budget_usd = 2.0\nmodels = [\"a\"]\n\
             [[keys]]\nid = \"two\"\nhash = \"{h2}\"\nrequests_per_minute = 5\n\
             [reliability]\nmax_attempts = 2\nbreaker_cool_down_secs = 5\n[reliability.fallbacks]\na = [\"b\"]\n"
        ))
        .unwrap();
        assert_eq!(cfg.keys.len(), 2);
        assert_eq!(cfg.keys[0].daily_budget_usd, Some(2.0));
        assert_eq!(cfg.reliability.max_attempts, 2);
        assert_eq!(cfg.reliability.fallbacks_of("a"), ["b".to_string()]);
        assert!(load("").unwrap().keys.is_empty());

        let dup = format!(
            "[[keys]]\nid = \"x\"\nhash = \"{h1}\"\n[[keys]]\nid = \"x\"\nhash = \"{h2}\"\n"
        );
        let err = load(&dup).unwrap_err().to_string();
        assert!(err.contains("`x` is used twice"), "{err}");
        let raw = "[[keys]]\nid = \"x\"\nhash = \"sk-llmgw-0123\"\n";
        let err = load(raw).unwrap_err().to_string();
        assert!(
            err.contains("looks like a key") && !err.contains("0123"),
            "{err}"
        );
        let err = load("[reliability.fallbacks]\na = [\"zzz\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`zzz` is not a model"), "{err}");
        let err = load("[reliability]\nmax_attempts = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("reliability.max_attempts"), "{err}");
    }

    #[test]
    fn keys_file_is_resolved_or_defaults_to_the_log_dir() {
        let cfg = load("[admin]\nkeys_file = \"state/keys.json\"\n").unwrap();
        let file = cfg.admin_keys_file().unwrap();
        assert!(file.is_absolute(), "{file:?}");
        assert!(file.ends_with("state/keys.json"), "{file:?}");

        let cfg = load("[server]\nlog_dir = \"logs\"\n").unwrap();
        let file = cfg.admin_keys_file().unwrap();
        assert!(
            file.ends_with(format!("logs/{DEFAULT_KEYS_FILE_NAME}")),
            "{file:?}"
        );
        assert_eq!(file.parent(), cfg.server.log_dir.as_deref());

        assert_eq!(load("").unwrap().admin_keys_file(), None);
        let err = load("[admin]\nkeys_file = \"\"\n").unwrap_err().to_string();
        assert!(err.contains("admin.keys_file"), "{err}");
    }
}
