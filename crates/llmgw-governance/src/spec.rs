//! What a gateway key may do: the config entry (`[[keys]]`), the admin API's request for a new
//! key, and the validated policy the governor enforces.

use crate::money::usd_to_nanos;
use crate::KeyHash;
use serde::{Deserialize, Serialize};

/// One `[[keys]]` entry of the config: a key id, the SHA-256 of the key, and its limits.
///
/// ```toml
/// [[keys]]
/// id = "team-search"                  # public; appears in logs, metrics and errors
/// hash = "sha256:9f86d0…"             # `llmgw keys hash` prints it; the key itself is never stored
/// models = ["gpt-4o-mini", "claude-*"] # optional; `*` at the end matches any suffix
/// daily_budget_usd = 5.0               # optional, UTC days
/// monthly_budget_usd = 100.0           # optional, UTC calendar months
/// requests_per_minute = 60             # optional
/// tokens_per_minute = 100000           # optional (prompt + completion)
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Public key id.
    pub id: String,
    /// SHA-256 of the key.
    pub hash: KeyHash,
    /// Tenant for cache and spend partitioning (default: the key id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Free text for operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Models the key may use (exact ids, or a prefix ending in `*`); `None`: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// USD the key may spend per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_budget_usd: Option<f64>,
    /// USD the key may spend per UTC calendar month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_budget_usd: Option<f64>,
    /// Requests per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Tokens (prompt + completion) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
}

/// The admin API's request for a new key: like [`KeySpec`] without the hash (the gateway
/// generates the key) and with an optional id (generated when absent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Public key id; `key-<8 hex>` when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// See [`KeySpec::tenant`].
    #[serde(default)]
    pub tenant: Option<String>,
    /// See [`KeySpec::description`].
    #[serde(default)]
    pub description: Option<String>,
    /// See [`KeySpec::models`].
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// See [`KeySpec::daily_budget_usd`].
    #[serde(default)]
    pub daily_budget_usd: Option<f64>,
    /// See [`KeySpec::monthly_budget_usd`].
    #[serde(default)]
    pub monthly_budget_usd: Option<f64>,
    /// See [`KeySpec::requests_per_minute`].
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    /// See [`KeySpec::tokens_per_minute`].
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
}

impl NewKey {
    /// The spec of this key once its id and hash are known.
    pub fn into_spec(self, id: String, hash: KeyHash) -> KeySpec {
        KeySpec {
            id,
            hash,
            tenant: self.tenant,
            description: self.description,
            models: self.models,
            daily_budget_usd: self.daily_budget_usd,
            monthly_budget_usd: self.monthly_budget_usd,
            requests_per_minute: self.requests_per_minute,
            tokens_per_minute: self.tokens_per_minute,
        }
    }
}

/// A key entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The id is empty, too long, or has characters outside `A-Z a-z 0-9 - _ .`.
    #[error("key id `{0}` is invalid: use 1 to 64 characters from A-Z a-z 0-9 - _ .")]
    BadId(String),
    /// Two keys share an id.
    #[error("key id `{0}` is used twice")]
    DuplicateId(String),
    /// Two entries carry the same hash (the same key).
    #[error("keys `{0}` and `{1}` have the same hash")]
    DuplicateHash(String, String),
    /// A limit is out of range.
    #[error("key `{id}`: `{field}` {problem}")]
    BadLimit {
        /// Key id.
        id: String,
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
}

/// A model pattern: an exact id, or a prefix when it ends in `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ModelPattern {
    Exact(String),
    Prefix(String),
}

impl ModelPattern {
    fn parse(s: &str) -> Self {
        match s.strip_suffix('*') {
            Some(prefix) => ModelPattern::Prefix(prefix.to_string()),
            None => ModelPattern::Exact(s.to_string()),
        }
    }

    fn matches(&self, model: &str) -> bool {
        match self {
            ModelPattern::Exact(m) => m == model,
            ModelPattern::Prefix(p) => model.starts_with(p.as_str()),
        }
    }
}

/// A validated key: what the governor enforces for it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPolicy {
    spec: KeySpec,
    models: Option<Vec<ModelPattern>>,
    daily_nanos: Option<u64>,
    monthly_nanos: Option<u64>,
}

impl KeyPolicy {
    /// Validates `spec`.
    pub fn new(spec: KeySpec) -> Result<Self, SpecError> {
        let id_ok = !spec.id.is_empty()
            && spec.id.len() <= 64
            && spec
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !id_ok {
            return Err(SpecError::BadId(spec.id.chars().take(80).collect()));
        }
        let bad = |field, problem| SpecError::BadLimit {
            id: spec.id.clone(),
            field,
            problem,
        };
        let budget = |v: Option<f64>, field| match v {
            Some(usd) if !usd.is_finite() || usd < 0.0 => {
                Err(bad(field, "must be a finite number >= 0"))
            }
            Some(usd) => Ok(Some(usd_to_nanos(usd))),
            None => Ok(None),
        };
        let daily_nanos = budget(spec.daily_budget_usd, "daily_budget_usd")?;
        let monthly_nanos = budget(spec.monthly_budget_usd, "monthly_budget_usd")?;
        if spec.requests_per_minute == Some(0) {
            return Err(bad("requests_per_minute", "must be at least 1"));
        }
        if spec.tokens_per_minute == Some(0) {
            return Err(bad("tokens_per_minute", "must be at least 1"));
        }
        let models = match &spec.models {
            Some(list) if list.iter().any(|m| m.trim().is_empty()) => {
                return Err(bad("models", "must not contain empty names"))
            }
            Some(list) => Some(list.iter().map(|m| ModelPattern::parse(m)).collect()),
            None => None,
        };
        Ok(KeyPolicy {
            spec,
            models,
            daily_nanos,
            monthly_nanos,
        })
    }

    /// The public key id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The tenant (the key id unless configured).
    pub fn tenant(&self) -> &str {
        self.spec.tenant.as_deref().unwrap_or(&self.spec.id)
    }

    /// The entry as configured.
    pub fn spec(&self) -> &KeySpec {
        &self.spec
    }

    /// Whether the key may use `model`.
    pub fn allows_model(&self, model: &str) -> bool {
        self.models
            .as_ref()
            .is_none_or(|pats| pats.iter().any(|p| p.matches(model)))
    }

    /// The allowed-model list as configured (`None`: every model).
    pub fn allowed_models(&self) -> Option<&[String]> {
        self.spec.models.as_deref()
    }

    pub(crate) fn daily_nanos(&self) -> Option<u64> {
        self.daily_nanos
    }

    pub(crate) fn monthly_nanos(&self) -> Option<u64> {
        self.monthly_nanos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str) -> KeySpec {
        NewKey::default().into_spec(id.to_string(), KeyHash::of(id))
    }

    #[test]
    fn model_patterns() {
        let mut s = spec("a");
        s.models = Some(vec!["gpt-4o-mini".into(), "claude-*".into()]);
        let p = KeyPolicy::new(s).unwrap();
        assert!(p.allows_model("gpt-4o-mini"));
        assert!(p.allows_model("claude-3-5-haiku"));
        assert!(!p.allows_model("gpt-4o"));
        assert!(!p.allows_model("gpt-4o-mini-2024"));
        assert!(KeyPolicy::new(spec("b")).unwrap().allows_model("anything"));
    }

    #[test]
    fn validation_names_the_field() {
        assert!(matches!(KeyPolicy::new(spec("")), Err(SpecError::BadId(_))));
        assert!(matches!(
            KeyPolicy::new(spec("has space")),
            Err(SpecError::BadId(_))
        ));
        let mut s = spec("a");
        s.daily_budget_usd = Some(f64::NAN);
        let err = KeyPolicy::new(s).unwrap_err().to_string();
        assert!(err.contains("daily_budget_usd"), "{err}");
        let mut s = spec("a");
        s.requests_per_minute = Some(0);
        assert!(KeyPolicy::new(s)
            .unwrap_err()
            .to_string()
            .contains("requests_per_minute"));
    }

    #[test]
    fn config_entry_rejects_unknown_fields() {
        let hash = KeyHash::of("k").to_hex();
        let ok: KeySpec = toml::from_str(&format!(
            "id = \"a\"\nhash = \"{hash}\"\ndaily_budget_usd = 2.5\nrequests_per_minute = 10"
        ))
        .unwrap();
        assert_eq!(ok.daily_budget_usd, Some(2.5));
        assert_eq!(ok.hash, KeyHash::of("k"));
        let err = toml::from_str::<KeySpec>(&format!("id = \"a\"\nhash = \"{hash}\"\nrpm = 1"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `rpm`"), "{err}");
    }
}
