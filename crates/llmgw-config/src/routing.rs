//! `[routing]`: defaults for `model: "auto"` and the named policies of `auto:<policy>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::catalog::Catalog;
use crate::error::ConfigError;
use crate::provider::{is_identifier, ProviderConfig};

/// Name of the policy used when `[routing]` defines none.
pub const BUILTIN_POLICY: &str = "default";
/// Target quality of the built-in policy.
pub const BUILTIN_MIN_QUALITY: f64 = 0.8;
/// Default folder of the trained router, relative to the config file's folder.
pub const DEFAULT_ROUTER_DIR: &str = "models/router";

/// The `[routing]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// Policy used by plain `model: "auto"`. Default: `default`.
    #[serde(default = "default_policy_name")]
    pub default_policy: String,
    /// Folder of the trained router (`llmgw train` output). Default `models/router`,
    /// relative to the config file's folder.
    #[serde(default = "default_router_dir")]
    pub router_dir: PathBuf,
    /// Named policies, used as `auto:<name>`.
    #[serde(default)]
    pub policies: BTreeMap<String, PolicyConfig>,
}

fn default_policy_name() -> String {
    BUILTIN_POLICY.to_string()
}
fn default_router_dir() -> PathBuf {
    PathBuf::from(DEFAULT_ROUTER_DIR)
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            default_policy: default_policy_name(),
            router_dir: default_router_dir(),
            policies: BTreeMap::new(),
        }
    }
}

/// One `[routing.policies.<name>]` table. Exactly one of `min_quality` and `lambda`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Cheapest candidate whose predicted quality reaches this target (0..1).
    #[serde(default)]
    pub min_quality: Option<f64>,
    /// Willingness to pay: maximise predicted quality − expected cost / λ (USD, > 0).
    #[serde(default)]
    pub lambda: Option<f64>,
    /// Hard cap on a request's expected cost, in USD.
    #[serde(default)]
    pub max_cost_usd: Option<f64>,
    /// Candidate model ids; default: every catalog model.
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Providers never chosen by this policy.
    #[serde(default)]
    pub exclude_providers: Vec<String>,
}

/// The objective of a policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// Cheapest candidate reaching the target quality.
    MinQuality(f64),
    /// Maximise quality − cost / λ.
    WillingnessToPay(f64),
}

impl PolicyConfig {
    /// The policy's objective (validated: exactly one of the two is set).
    pub fn objective(&self) -> Objective {
        match (self.min_quality, self.lambda) {
            (_, Some(l)) => Objective::WillingnessToPay(l),
            (Some(q), None) => Objective::MinQuality(q),
            (None, None) => Objective::MinQuality(BUILTIN_MIN_QUALITY),
        }
    }
}

impl RoutingConfig {
    /// The policy named `name`.
    pub fn policy(&self, name: &str) -> Option<&PolicyConfig> {
        self.policies.get(name)
    }

    pub(crate) fn validate(
        &mut self,
        file: &Path,
        base_dir: &Path,
        providers: &BTreeMap<String, ProviderConfig>,
        catalog: &Catalog,
    ) -> Result<(), ConfigError> {
        if self.policies.is_empty() {
            self.policies.insert(
                BUILTIN_POLICY.to_string(),
                PolicyConfig {
                    min_quality: Some(BUILTIN_MIN_QUALITY),
                    ..PolicyConfig::default()
                },
            );
        }
        for (name, policy) in &self.policies {
            validate_policy(file, name, policy, providers, catalog)?;
        }
        if !self.policies.contains_key(&self.default_policy) {
            let known: Vec<&str> = self.policies.keys().map(String::as_str).collect();
            return Err(ConfigError::invalid(
                file,
                "routing.default_policy",
                format!(
                    "expected the name of a policy in [routing.policies] ({}), got {:?}",
                    known.join(", "),
                    self.default_policy
                ),
            ));
        }
        if self.router_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                file,
                "routing.router_dir",
                "expected a folder path, got an empty string",
            ));
        }
        self.router_dir = base_dir.join(&self.router_dir);
        Ok(())
    }
}

fn validate_policy(
    file: &Path,
    name: &str,
    p: &PolicyConfig,
    providers: &BTreeMap<String, ProviderConfig>,
    catalog: &Catalog,
) -> Result<(), ConfigError> {
    let key = |k: &str| format!("routing.policies.{name}.{k}");
    if !is_identifier(name) {
        return Err(ConfigError::invalid(
            file,
            format!("routing.policies.{name}"),
            "expected a policy name made of letters, digits, `-` and `_`",
        ));
    }
    match (p.min_quality, p.lambda) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ConfigError::invalid(
                file,
                format!("routing.policies.{name}"),
                "expected exactly one of `min_quality` (0..1) or `lambda` (> 0)",
            ))
        }
        (Some(q), None) if !(q.is_finite() && (0.0..=1.0).contains(&q)) => {
            return Err(ConfigError::invalid(
                file,
                key("min_quality"),
                format!("expected a quality between 0 and 1, got {q}"),
            ))
        }
        (None, Some(l)) if !(l.is_finite() && l > 0.0) => {
            return Err(ConfigError::invalid(
                file,
                key("lambda"),
                format!("expected a willingness to pay in USD > 0, got {l}"),
            ))
        }
        _ => {}
    }
    if let Some(c) = p.max_cost_usd {
        if !(c.is_finite() && c > 0.0) {
            return Err(ConfigError::invalid(
                file,
                key("max_cost_usd"),
                format!("expected a cost in USD > 0, got {c}"),
            ));
        }
    }
    if let Some(models) = &p.models {
        if models.is_empty() {
            return Err(ConfigError::invalid(
                file,
                key("models"),
                "expected at least one model id (or leave `models` out for every catalog model)",
            ));
        }
        for (i, m) in models.iter().enumerate() {
            if !catalog.contains(m) {
                return Err(ConfigError::invalid(
                    file,
                    format!("routing.policies.{name}.models[{i}]"),
                    format!(
                        "expected a model id from the catalog {}, got {m:?}",
                        catalog.path().display()
                    ),
                ));
            }
        }
    }
    for (i, prov) in p.exclude_providers.iter().enumerate() {
        if !providers.contains_key(prov) {
            return Err(ConfigError::invalid(
                file,
                format!("routing.policies.{name}.exclude_providers[{i}]"),
                format!("expected a provider defined in [providers], got {prov:?}"),
            ));
        }
    }
    Ok(())
}
