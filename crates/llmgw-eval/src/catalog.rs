//! Model prices for the bench: the catalog (`models/catalog.toml`) when there is one, else
//! the prices the papers behind the shipped data used.
//!
//! The catalog is read tolerantly here (unknown keys are ignored; only the price fields
//! matter); the gateway's own configuration loader is the strict one.

use std::collections::BTreeMap;
use std::path::Path;

use llmgw_optimizer::Prices;
use serde::{Deserialize, Serialize};

use crate::EvalError;

/// Expected output tokens per answer when neither the catalog nor the data says.
pub const DEFAULT_OUTPUT_TOKENS: u64 = 300;

/// What the bench knows about a model's price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// Prices per one million tokens.
    pub prices: Prices,
    /// Typical completion length, when the catalog gives one.
    pub typical_output_tokens: Option<u64>,
}

/// Prices by model id, with where each came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceBook {
    /// Model id to price.
    pub models: BTreeMap<String, ModelPrice>,
    /// Model id to origin: `catalog` or `built-in`.
    pub origin: BTreeMap<String, String>,
}

/// Prices (USD per 1M tokens, input / output) published with the shipped data: RouteLLM's
/// appendix for the MMLU pair, LLMRouter's `default_llm.json` for its nine models.
pub const BUILTIN_PRICES: [(&str, f64, f64); 11] = [
    ("gpt-4-1106-preview", 10.0, 30.0),
    ("mixtral-8x7b-instruct-v0.1", 0.24, 0.24),
    ("gemma-2-9b-it", 0.10, 0.10),
    ("qwen2.5-7b-instruct", 0.20, 0.20),
    ("codegemma-7b", 0.20, 0.20),
    ("llama-3.1-8b-instruct", 0.20, 0.20),
    ("llama3-chatqa-1.5-8b", 0.20, 0.20),
    ("mistral-7b-instruct-v0.3", 0.20, 0.20),
    ("llama-3.3-nemotron-super-49b-v1", 0.90, 0.90),
    ("llama-3.1-nemotron-51b-instruct", 0.90, 0.90),
    ("llama3-chatqa-1.5-70b", 0.90, 0.90),
];

#[derive(Deserialize)]
struct CatalogFile {
    #[serde(default)]
    model: Vec<CatalogModel>,
}

#[derive(Deserialize)]
struct CatalogModel {
    id: String,
    #[serde(default)]
    upstream: Option<String>,
    input_per_mtok: f64,
    output_per_mtok: f64,
    #[serde(default)]
    cached_input_per_mtok: Option<f64>,
    #[serde(default)]
    typical_output_tokens: Option<u64>,
}

impl PriceBook {
    /// The built-in prices only.
    pub fn builtin() -> Self {
        let mut book = PriceBook::default();
        for (id, input, output) in BUILTIN_PRICES {
            book.insert(id, Prices::new(input, output), None, "built-in");
        }
        book
    }

    fn insert(&mut self, id: &str, prices: Prices, typical: Option<u64>, origin: &str) {
        self.models.insert(
            id.to_string(),
            ModelPrice {
                prices,
                typical_output_tokens: typical,
            },
        );
        self.origin.insert(id.to_string(), origin.to_string());
    }

    /// Parses catalog TOML text (`[[model]]` tables) into a price book. A model is listed
    /// under its `id` and, when different, its `upstream` name.
    pub fn from_catalog_str(text: &str, path: &Path) -> Result<Self, EvalError> {
        let err = |message: String| EvalError::Catalog {
            path: path.to_path_buf(),
            message,
        };
        let file: CatalogFile = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut book = PriceBook::default();
        for m in file.model {
            let prices = Prices {
                input_per_mtok: m.input_per_mtok,
                output_per_mtok: m.output_per_mtok,
                cached_input_per_mtok: m.cached_input_per_mtok,
            };
            let ok = |v: f64| v.is_finite() && v >= 0.0;
            if !(ok(prices.input_per_mtok)
                && ok(prices.output_per_mtok)
                && prices.cached_input_per_mtok.is_none_or(ok))
            {
                return Err(err(format!(
                    "model `{}`: prices must be non-negative numbers of USD per 1M tokens",
                    m.id
                )));
            }
            if let Some(up) = m.upstream.as_deref().filter(|u| *u != m.id) {
                if !book.models.contains_key(up) {
                    book.insert(up, prices, m.typical_output_tokens, "catalog");
                }
            }
            book.insert(&m.id, prices, m.typical_output_tokens, "catalog");
        }
        Ok(book)
    }

    /// Reads a catalog file.
    pub fn from_catalog_file(path: &Path) -> Result<Self, EvalError> {
        let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_catalog_str(&text, path)
    }

    /// This book, with built-in prices added for models it does not list.
    pub fn with_builtin_fallback(mut self) -> Self {
        for (id, input, output) in BUILTIN_PRICES {
            if !self.models.contains_key(id) {
                self.insert(id, Prices::new(input, output), None, "built-in");
            }
        }
        self
    }

    /// The price of `model`, if known.
    pub fn get(&self, model: &str) -> Option<&ModelPrice> {
        self.models.get(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_prices_override_builtin_and_unknown_keys_pass() {
        let text = r#"
            [[model]]
            id = "gpt-4-1106-preview"
            provider = "openai"
            input_per_mtok = 5.0
            output_per_mtok = 15.0
            cached_input_per_mtok = 2.5
            context_window = 128000
            typical_output_tokens = 120
            future_key = "ignored"

            [[model]]
            id = "cheap"
            upstream = "vendor/cheap-v2"
            provider = "openai"
            input_per_mtok = 0.1
            output_per_mtok = 0.2
        "#;
        let book = PriceBook::from_catalog_str(text, Path::new("catalog.toml"))
            .unwrap()
            .with_builtin_fallback();
        let g = book.get("gpt-4-1106-preview").unwrap();
        assert_eq!(g.prices.input_per_mtok, 5.0);
        assert_eq!(g.typical_output_tokens, Some(120));
        assert_eq!(book.origin["gpt-4-1106-preview"], "catalog");
        assert_eq!(
            book.get("vendor/cheap-v2").unwrap().prices.output_per_mtok,
            0.2
        );
        assert_eq!(book.origin["mixtral-8x7b-instruct-v0.1"], "built-in");
    }

    #[test]
    fn bad_catalog_names_the_file() {
        let e = PriceBook::from_catalog_str(
            "[[model]]\nid = \"x\"\ninput_per_mtok = -1.0\noutput_per_mtok = 1.0\n",
            Path::new("models/catalog.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("models/catalog.toml"), "{e}");
        assert!(e.contains("non-negative"), "{e}");
        let e = PriceBook::from_catalog_str("[[model]]\nid = 3\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml"), "{e}");
    }
}
