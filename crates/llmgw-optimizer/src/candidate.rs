//! Candidates and their expected cost.

use serde::{Deserialize, Serialize};

/// Prices of a model in US dollars per one million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// Price of one million uncached input (prompt) tokens.
    pub input_per_mtok: f64,
    /// Price of one million output (completion) tokens.
    pub output_per_mtok: f64,
    /// Price of one million cached input tokens; `None` means the input price.
    #[serde(default)]
    pub cached_input_per_mtok: Option<f64>,
}

impl Prices {
    /// Prices with no cached-input discount.
    pub fn new(input_per_mtok: f64, output_per_mtok: f64) -> Self {
        Self {
            input_per_mtok,
            output_per_mtok,
            cached_input_per_mtok: None,
        }
    }

    /// Expected cost in USD of a call: uncached prompt tokens at the input price, cached
    /// prompt tokens at the cached-input price (the input price when none is set), and
    /// output tokens at the output price. `cached_prompt_tokens` is capped at
    /// `prompt_tokens`.
    pub fn cost_usd(
        &self,
        prompt_tokens: u64,
        cached_prompt_tokens: u64,
        output_tokens: u64,
    ) -> f64 {
        let cached = cached_prompt_tokens.min(prompt_tokens);
        let uncached = prompt_tokens - cached;
        let cached_price = self.cached_input_per_mtok.unwrap_or(self.input_per_mtok);
        (uncached as f64 * self.input_per_mtok
            + cached as f64 * cached_price
            + output_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }

    pub(crate) fn all_finite_non_negative(&self) -> bool {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        ok(self.input_per_mtok)
            && ok(self.output_per_mtok)
            && self.cached_input_per_mtok.is_none_or(ok)
    }
}

/// One model the optimizer may choose, with what the classifier predicts for this prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Catalog model id (what clients send as `model`).
    pub model: String,
    /// Provider name serving it.
    pub provider: String,
    /// Predicted probability in `[0, 1]` that this model answers the prompt well.
    pub predicted_quality: f64,
    /// The model's prices.
    pub prices: Prices,
    /// Prompt tokens of the request (from a tokenizer or [`crate::estimate_prompt_tokens`]).
    pub prompt_tokens: u64,
    /// How many of the prompt tokens the provider is expected to serve from its cache.
    #[serde(default)]
    pub cached_prompt_tokens: u64,
    /// Expected completion tokens (from outcome logs, else the catalog).
    pub expected_output_tokens: u64,
    /// Whether the model can be called now (its provider has a key and is healthy).
    pub available: bool,
    /// Why it cannot be called, when `available` is false.
    #[serde(default)]
    pub unavailable_reason: Option<String>,
}

impl Candidate {
    /// Expected cost in USD of sending this request to this model.
    pub fn estimated_cost_usd(&self) -> f64 {
        self.prices.cost_usd(
            self.prompt_tokens,
            self.cached_prompt_tokens,
            self.expected_output_tokens,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_prices_each_token_class() {
        let p = Prices {
            input_per_mtok: 10.0,
            output_per_mtok: 30.0,
            cached_input_per_mtok: Some(5.0),
        };
        // 800 uncached * 10 + 200 cached * 5 + 100 out * 30 = 8000 + 1000 + 3000 per 1M
        let c = p.cost_usd(1000, 200, 100);
        assert!((c - 0.012).abs() < 1e-12, "{c}");
        // without a cached price, cached tokens cost the input price
        let c = Prices::new(10.0, 30.0).cost_usd(1000, 200, 100);
        assert!((c - 0.013).abs() < 1e-12, "{c}");
        // cached tokens beyond the prompt are capped
        let c = p.cost_usd(100, 500, 0);
        assert!((c - 0.0005).abs() < 1e-12, "{c}");
    }
}
