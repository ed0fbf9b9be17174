//! The model catalog (`models/catalog.toml`): which models clients may ask for, who serves
//! them and what they cost (USD per 1M tokens).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{parse_toml, ConfigError};
use crate::provider::ProviderConfig;

/// One `[[model]]` entry as written in the catalog file.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CatalogModel {
    /// The name clients send as `model`.
    pub id: String,
    /// A provider name from the config's `[providers.*]`.
    pub provider: String,
    /// Model name sent upstream; default: `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// USD per 1M input (prompt) tokens.
    pub input_per_mtok: f64,
    /// USD per 1M output (completion) tokens.
    pub output_per_mtok: f64,
    /// USD per 1M cached input tokens; default: the input price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_per_mtok: Option<f64>,
    /// Context window in tokens (prompt + completion).
    pub context_window: u64,
    /// Largest completion the model produces, in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Expected completion length in tokens, used for cost estimates when no logs exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typical_output_tokens: Option<u64>,
    /// Router profile whose predicted quality this model borrows until the router is trained on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_as: Option<String>,
}

impl CatalogModel {
    /// The model name sent upstream.
    pub fn upstream(&self) -> &str {
        self.upstream.as_deref().unwrap_or(&self.id)
    }

    /// USD per 1M cached input tokens (the input price when not given).
    pub fn cached_input_price(&self) -> f64 {
        self.cached_input_per_mtok.unwrap_or(self.input_per_mtok)
    }

    /// The router profile this model is scored as: `quality_as`, else its own id.
    pub fn quality_profile(&self) -> &str {
        self.quality_as.as_deref().unwrap_or(&self.id)
    }

    /// Cost in USD of a call, pricing cached prompt tokens at the cached rate.
    /// `cached_prompt_tokens` is the part of `prompt_tokens` that was served from cache.
    pub fn cost_usd(
        &self,
        prompt_tokens: u64,
        cached_prompt_tokens: u64,
        completion_tokens: u64,
    ) -> f64 {
        let cached = cached_prompt_tokens.min(prompt_tokens);
        let uncached = prompt_tokens - cached;
        (uncached as f64 * self.input_per_mtok
            + cached as f64 * self.cached_input_price()
            + completion_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    model: Vec<CatalogModel>,
}

/// A validated catalog: unique ids, known providers, sane prices.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    path: PathBuf,
    models: Vec<CatalogModel>,
    by_id: HashMap<String, usize>,
}

impl Catalog {
    /// Parse catalog text; `path` is used in error messages. Provider references are
    /// checked by [`Catalog::check_providers`].
    pub fn parse(text: &str, path: &Path) -> Result<Catalog, ConfigError> {
        let file: CatalogFile = parse_toml(text, path)?;
        Catalog::from_models(file.model, path)
    }

    /// Read and parse a catalog file.
    pub fn load(path: &Path) -> Result<Catalog, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Catalog::parse(&text, path)
    }

    /// Validate models given in code (tests, benchmarks).
    pub fn from_models(models: Vec<CatalogModel>, path: &Path) -> Result<Catalog, ConfigError> {
        if models.is_empty() {
            return Err(ConfigError::invalid(
                path,
                "model",
                "expected at least one [[model]] entry",
            ));
        }
        let mut by_id = HashMap::with_capacity(models.len());
        for (i, m) in models.iter().enumerate() {
            validate_model(m, i, path)?;
            if let Some(first) = by_id.insert(m.id.clone(), i) {
                return Err(ConfigError::invalid(
                    path,
                    format!("model[{i}].id"),
                    format!("expected unique ids, but {:?} is also model[{first}]", m.id),
                ));
            }
        }
        Ok(Catalog {
            path: path.to_path_buf(),
            models,
            by_id,
        })
    }

    /// Check that every model's provider is defined; `config_path` names the config file.
    pub fn check_providers(
        &self,
        providers: &BTreeMap<String, ProviderConfig>,
        config_path: &Path,
    ) -> Result<(), ConfigError> {
        for (i, m) in self.models.iter().enumerate() {
            if !providers.contains_key(&m.provider) {
                let known: Vec<&str> = providers.keys().map(String::as_str).collect();
                return Err(ConfigError::invalid(
                    &self.path,
                    format!("model[{i}].provider"),
                    format!(
                        "model {:?} names provider {:?}, which is not defined in the [providers] of {} \
                         (defined: {})",
                        m.id,
                        m.provider,
                        config_path.display(),
                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The file the catalog came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All models, in file order.
    pub fn models(&self) -> &[CatalogModel] {
        &self.models
    }

    /// The model with this id.
    pub fn get(&self, id: &str) -> Option<&CatalogModel> {
        self.by_id.get(id).and_then(|&i| self.models.get(i))
    }

    /// Whether a model with this id exists.
    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// The most expensive model (by output price, then input price), e.g. a savings reference.
    pub fn most_expensive(&self) -> Option<&CatalogModel> {
        self.models.iter().max_by(|a, b| {
            (a.output_per_mtok, a.input_per_mtok)
                .partial_cmp(&(b.output_per_mtok, b.input_per_mtok))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    }
}

fn validate_model(m: &CatalogModel, i: usize, path: &Path) -> Result<(), ConfigError> {
    let key = |k: &str| format!("model[{i}].{k}");
    let bad = |k: &str, msg: String| {
        Err(ConfigError::invalid(
            path,
            key(k),
            format!("model {:?}: {msg}", m.id),
        ))
    };
    if m.id.trim().is_empty() || m.id.chars().any(char::is_whitespace) {
        return Err(ConfigError::invalid(
            path,
            key("id"),
            "expected a non-empty model id without spaces",
        ));
    }
    if m.id == "auto" || m.id.starts_with("auto:") {
        return bad(
            "id",
            "`auto` and `auto:<policy>` are reserved for routing".into(),
        );
    }
    if m.provider.trim().is_empty() {
        return bad("provider", "expected a provider name".into());
    }
    if let Some(up) = &m.upstream {
        if up.trim().is_empty() {
            return bad(
                "upstream",
                "expected a non-empty upstream model name".into(),
            );
        }
    }
    let prices = [
        ("input_per_mtok", Some(m.input_per_mtok)),
        ("output_per_mtok", Some(m.output_per_mtok)),
        ("cached_input_per_mtok", m.cached_input_per_mtok),
    ];
    for (k, price) in prices {
        if let Some(p) = price {
            if !(p.is_finite() && p >= 0.0) {
                return bad(
                    k,
                    format!("expected a price in USD per 1M tokens >= 0, got {p}"),
                );
            }
        }
    }
    if m.context_window == 0 {
        return bad(
            "context_window",
            "expected a context window > 0 tokens".into(),
        );
    }
    if let Some(max) = m.max_output_tokens {
        if max == 0 || max > m.context_window {
            return bad(
                "max_output_tokens",
                format!(
                    "expected 1..={} (the context window), got {max}",
                    m.context_window
                ),
            );
        }
    }
    if m.typical_output_tokens == Some(0) {
        return bad("typical_output_tokens", "expected a token count > 0".into());
    }
    if let Some(q) = &m.quality_as {
        if q.trim().is_empty() {
            return bad("quality_as", "expected a router profile name".into());
        }
    }
    Ok(())
}
