//! Cost of a request from the catalog's prices and the upstream's token usage.

/// A model's prices in USD per million tokens, as in `models/catalog.toml`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    /// Uncached input tokens.
    pub input_per_mtok: f64,
    /// Output tokens (reasoning tokens included).
    pub output_per_mtok: f64,
    /// Input tokens served from the provider's prompt cache; `None` prices them as input.
    pub cached_input_per_mtok: Option<f64>,
}

impl Prices {
    /// Cost in USD of a call with OpenAI-style usage: `prompt_tokens` counts every input
    /// token, `cached_tokens` of them were read from the provider's cache and are priced at
    /// the cached rate; `completion_tokens` at the output rate. `cached_tokens` larger than
    /// `prompt_tokens` is capped at `prompt_tokens`.
    pub fn cost_usd(&self, prompt_tokens: u64, completion_tokens: u64, cached_tokens: u64) -> f64 {
        let cached = cached_tokens.min(prompt_tokens);
        let uncached = prompt_tokens - cached;
        let cached_rate = self.cached_input_per_mtok.unwrap_or(self.input_per_mtok);
        (uncached as f64 * self.input_per_mtok
            + cached as f64 * cached_rate
            + completion_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPT4: Prices = Prices {
        input_per_mtok: 10.0,
        output_per_mtok: 30.0,
        cached_input_per_mtok: Some(5.0),
    };

    #[test]
    fn prices_uncached_cached_and_output_tokens_separately() {
        // 1000 input of which 400 cached, 200 output:
        // 600 * 10 + 400 * 5 + 200 * 30 = 6000 + 2000 + 6000 = 14000 per 1M.
        let c = GPT4.cost_usd(1000, 200, 400);
        assert!((c - 0.014).abs() < 1e-12, "{c}");
    }

    #[test]
    fn cached_defaults_to_input_price_and_is_capped() {
        let p = Prices {
            cached_input_per_mtok: None,
            ..GPT4
        };
        assert!((p.cost_usd(1000, 0, 400) - 0.01).abs() < 1e-12);
        // More cached than prompt tokens: all prompt tokens priced as cached.
        assert!((GPT4.cost_usd(100, 0, 500) - 0.0005).abs() < 1e-12);
    }
}
