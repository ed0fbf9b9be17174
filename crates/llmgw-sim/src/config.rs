//! Configuration of the simulated providers: per-model latency and streaming speed.

use crate::pacing::Pace;

/// Behaviour of one simulated model, matched by the model name a request carries.
#[derive(Debug, Clone, PartialEq)]
pub struct SimModel {
    /// Model name as clients send it (`model` field, or the Gemini path segment).
    pub name: String,
    /// Milliseconds before the first content token (streams) or added to the answer time (non-streaming).
    pub first_token_ms: u64,
    /// Generation speed. Streams emit content at this pace; a non-streaming answer takes
    /// `first_token_ms + completion_tokens / tokens_per_sec`. Zero, negative or non-finite means unpaced.
    pub tokens_per_sec: f64,
}

impl SimModel {
    /// A model with the given latency and speed.
    pub fn new(name: impl Into<String>, first_token_ms: u64, tokens_per_sec: f64) -> SimModel {
        SimModel {
            name: name.into(),
            first_token_ms,
            tokens_per_sec,
        }
    }
}

/// Configuration of a [`crate::SimServer`].
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Per-model behaviour; requests for models not listed here use the defaults below.
    pub models: Vec<SimModel>,
    /// First-token latency of models not listed in `models` (default 0: instant).
    pub default_first_token_ms: u64,
    /// Speed of models not listed in `models` (default 0.0: unpaced).
    pub default_tokens_per_sec: f64,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            models: Vec::new(),
            default_first_token_ms: 0,
            default_tokens_per_sec: 0.0,
        }
    }
}

impl SimConfig {
    /// Adds a model (builder style).
    pub fn with_model(mut self, model: SimModel) -> SimConfig {
        self.models.push(model);
        self
    }

    /// The pacing that applies to `model`.
    pub(crate) fn pace_for(&self, model: &str) -> Pace {
        match self.models.iter().find(|m| m.name == model) {
            Some(m) => Pace::new(m.first_token_ms, m.tokens_per_sec),
            None => Pace::new(self.default_first_token_ms, self.default_tokens_per_sec),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn listed_models_get_their_pace_and_others_the_default() {
        let cfg = SimConfig {
            default_first_token_ms: 7,
            ..SimConfig::default()
        }
        .with_model(SimModel::new("fast", 10, 100.0));
        assert_eq!(
            cfg.pace_for("fast").first_token(),
            Duration::from_millis(10)
        );
        assert_eq!(
            cfg.pace_for("fast").generation(50.0),
            Duration::from_millis(500)
        );
        assert_eq!(
            cfg.pace_for("other").first_token(),
            Duration::from_millis(7)
        );
        assert_eq!(cfg.pace_for("other").generation(50.0), Duration::ZERO);
    }
}
