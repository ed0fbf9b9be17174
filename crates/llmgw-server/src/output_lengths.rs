//! Expected answer length per model for `model: "auto"` cost estimates: the mean of the
//! completion tokens observed in the outcome logs (seeded at start, updated by every
//! successful answer), falling back to the catalog's `typical_output_tokens` until a model
//! has [`MIN_OBSERVATIONS`] answers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Answers a model needs before its observed mean replaces the catalog's figure.
pub const MIN_OBSERVATIONS: u64 = 5;

#[derive(Debug, Clone, Copy, Default)]
struct Stat {
    sum: f64,
    count: u64,
}

/// Observed completion lengths per catalog model; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct OutputLengths {
    inner: Arc<RwLock<HashMap<String, Stat>>>,
}

impl OutputLengths {
    /// Start from `mean` tokens over `count` answers observed for `model` (from the logs).
    pub fn seed(&self, model: &str, mean: f64, count: u64) {
        if !mean.is_finite() || mean < 0.0 || count == 0 {
            return;
        }
        if let Ok(mut map) = self.inner.write() {
            let s = map.entry(model.to_string()).or_default();
            s.sum += mean * count as f64;
            s.count += count;
        }
    }

    /// Count one successful answer of `tokens` completion tokens from `model`.
    pub fn observe(&self, model: &str, tokens: u64) {
        if let Ok(mut map) = self.inner.write() {
            let s = map.entry(model.to_string()).or_default();
            s.sum += tokens as f64;
            s.count += 1;
        }
    }

    /// The observed mean for `model`, rounded up, once it has [`MIN_OBSERVATIONS`] answers.
    pub fn expected(&self, model: &str) -> Option<u64> {
        let map = self.inner.read().ok()?;
        let s = map.get(model)?;
        (s.count >= MIN_OBSERVATIONS).then(|| (s.sum / s.count as f64).ceil() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_figure_until_enough_answers_then_the_observed_mean() {
        let lengths = OutputLengths::default();
        for _ in 0..MIN_OBSERVATIONS - 1 {
            lengths.observe("m", 100);
        }
        assert_eq!(lengths.expected("m"), None);
        lengths.observe("m", 601);
        assert_eq!(lengths.expected("m"), Some(201)); // (4 * 100 + 601) / 5 = 200.2, rounded up
    }

    #[test]
    fn seeding_from_the_logs_counts_as_observations() {
        let lengths = OutputLengths::default();
        lengths.seed("m", 40.5, 10);
        assert_eq!(lengths.expected("m"), Some(41));
        lengths.seed("n", f64::NAN, 10);
        lengths.seed("n", 10.0, 0);
        assert_eq!(lengths.expected("n"), None);
        assert_eq!(lengths.expected("unknown"), None);
    }
}
