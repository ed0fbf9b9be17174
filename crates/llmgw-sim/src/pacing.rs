//! Pacing: how long a simulated model takes to produce tokens.

use std::time::Duration;

/// How fast a model answers: time to the first token, then tokens per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pace {
    first_token: Duration,
    tokens_per_sec: f64,
}

impl Pace {
    pub(crate) fn new(first_token_ms: u64, tokens_per_sec: f64) -> Pace {
        Pace {
            first_token: Duration::from_millis(first_token_ms),
            tokens_per_sec,
        }
    }

    /// Latency before the first content token.
    pub(crate) fn first_token(&self) -> Duration {
        self.first_token
    }

    /// Time to generate `tokens` tokens (zero when unpaced).
    pub(crate) fn generation(&self, tokens: f64) -> Duration {
        if !(self.tokens_per_sec.is_finite() && self.tokens_per_sec > 0.0) || tokens <= 0.0 {
            return Duration::ZERO;
        }
        Duration::try_from_secs_f64(tokens / self.tokens_per_sec).unwrap_or(Duration::ZERO)
    }

    /// Total time of a non-streaming answer of `tokens` completion tokens.
    pub(crate) fn whole_answer(&self, tokens: f64) -> Duration {
        self.first_token + self.generation(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degenerate_speeds_mean_unpaced() {
        for tps in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            assert_eq!(Pace::new(0, tps).generation(10.0), Duration::ZERO);
        }
        assert_eq!(
            Pace::new(20, 10.0).whole_answer(5.0),
            Duration::from_millis(520)
        );
    }
}
