//! When to retry: exponential backoff with full jitter, a provider's `retry-after` honoured up to
//! a cap.

use rand::Rng;
use std::time::Duration;

/// Retry policy for one candidate (provider, model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls to one candidate, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the first retry is drawn from `[0, base_delay]`, then the range doubles.
    pub base_delay: Duration,
    /// Upper end of the backoff range.
    pub max_delay: Duration,
    /// The longest `retry-after` honoured; a provider asking for longer is not retried (the
    /// next candidate is tried at once).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 3 calls per candidate, backoff ranges 250 ms, 500 ms, … up to 4 s, `retry-after` up to 10 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries: one call per candidate.
    pub fn no_retries() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        }
    }

    /// The upper end of the backoff range before retry number `retry` (0 for the first retry):
    /// `min(max_delay, base_delay * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// How long to wait before retry number `retry`: a uniform draw from `[0, ceiling(retry)]`
    /// ("full jitter"), but at least the provider's `retry_after`. `None` when the provider
    /// asks for longer than [`RetryPolicy::max_retry_after`].
    pub fn delay(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        if retry_after.is_some_and(|ra| ra > self.max_retry_after) {
            return None;
        }
        let ceiling = u64::try_from(self.ceiling(retry).as_millis()).unwrap_or(u64::MAX);
        let jittered = Duration::from_millis(rng.random_range(0..=ceiling));
        Some(retry_after.map_or(jittered, |ra| ra.max(jittered)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let p = RetryPolicy::default();
        let ms: Vec<u128> = (0..7).map(|r| p.ceiling(r).as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 4000, 4000, 4000]);
        assert_eq!(p.ceiling(u32::MAX), p.max_delay);
    }

    #[test]
    fn full_jitter_spans_the_range() {
        let p = RetryPolicy::default();
        let mut rng = SmallRng::seed_from_u64(7);
        let draws: Vec<Duration> = (0..2000)
            .map(|_| p.delay(2, None, &mut rng).unwrap())
            .collect();
        assert!(draws.iter().all(|d| *d <= Duration::from_secs(1)));
        let mean = draws.iter().map(Duration::as_secs_f64).sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "mean {mean}");
        assert!(draws.iter().any(|d| *d < Duration::from_millis(50)));
        assert!(draws.iter().any(|d| *d > Duration::from_millis(950)));
    }

    #[test]
    fn retry_after_is_a_floor_up_to_the_cap() {
        let p = RetryPolicy::default();
        let mut rng = SmallRng::seed_from_u64(1);
        for _ in 0..100 {
            let d = p.delay(0, Some(Duration::from_secs(2)), &mut rng).unwrap();
            assert_eq!(d, Duration::from_secs(2));
        }
        assert_eq!(p.delay(0, Some(Duration::from_secs(11)), &mut rng), None);
    }
}
