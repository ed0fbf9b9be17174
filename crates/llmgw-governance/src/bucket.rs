//! The token bucket behind requests-per-minute and tokens-per-minute limits.
//!
//! A bucket holds at most `per_minute` units and refills continuously at `per_minute / 60`
//! units per second, so a key may burst up to its whole minute's allowance and then proceeds at
//! the steady rate. Taking `n` units needs `min(n, capacity)` units present: a single request
//! larger than the whole allowance is let through when the bucket is full rather than never.
//! The level may go below zero ("debt") when a request's actual token count turns out larger
//! than the estimate taken at admission ([`Bucket::adjust`]); later requests then wait until the
//! debt is repaid by the refill. Unused estimate is given back the same way.
//!
//! Rate-limit crates such as `governor` implement GCRA without refunds or debt; settling
//! tokens-per-minute from actual usage needs both, and the same arithmetic has to run inside a
//! shared store (a Redis script), so the bucket is written out here.

use std::time::Duration;

/// A rate: units per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatePerMinute(pub u64);

/// Levels are kept in 1/60,000ths of a unit, so that one millisecond refills exactly
/// `per_minute` of them and all arithmetic stays in integers.
const SCALE: i64 = 60_000;

impl RatePerMinute {
    fn per_ms(&self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX / SCALE)
    }

    fn capacity(&self) -> i64 {
        self.per_ms().saturating_mul(SCALE)
    }
}

fn scaled(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX).saturating_mul(SCALE)
}

/// The state of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Units × [`SCALE`].
    level: i64,
    updated_ms: i64,
}

impl Bucket {
    /// A full bucket at `now_ms`.
    pub fn full(rate: RatePerMinute, now_ms: i64) -> Self {
        Bucket {
            level: rate.capacity(),
            updated_ms: now_ms,
        }
    }

    /// Units available now (negative while in debt).
    pub fn level(&mut self, rate: RatePerMinute, now_ms: i64) -> f64 {
        self.refill(rate, now_ms);
        self.level as f64 / SCALE as f64
    }

    fn refill(&mut self, rate: RatePerMinute, now_ms: i64) {
        let elapsed = now_ms.saturating_sub(self.updated_ms).max(0);
        self.level = self
            .level
            .saturating_add(elapsed.saturating_mul(rate.per_ms()))
            .min(rate.capacity());
        // A clock that went backwards does not move the bucket's time back.
        self.updated_ms = self.updated_ms.max(now_ms);
    }

    /// Takes `n` units, or says how long until they are there.
    pub fn take(&mut self, rate: RatePerMinute, n: u64, now_ms: i64) -> Result<(), Duration> {
        self.refill(rate, now_ms);
        let needed = scaled(n).min(rate.capacity());
        if self.level >= needed {
            self.level = self.level.saturating_sub(scaled(n));
            Ok(())
        } else {
            let missing = needed.saturating_sub(self.level);
            let per_ms = rate.per_ms().max(1);
            let wait_ms = missing.saturating_add(per_ms - 1) / per_ms;
            Err(Duration::from_millis(wait_ms.max(1) as u64))
        }
    }

    /// Takes `delta` more units without checking (positive), or gives `-delta` back.
    pub fn adjust(&mut self, rate: RatePerMinute, delta: i64, now_ms: i64) {
        self.refill(rate, now_ms);
        self.level = self
            .level
            .saturating_sub(delta.saturating_mul(SCALE))
            .min(rate.capacity());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let rate = RatePerMinute(60); // one per second
        let mut b = Bucket::full(rate, 0);
        for _ in 0..60 {
            assert!(b.take(rate, 1, 0).is_ok());
        }
        assert_eq!(b.take(rate, 1, 0), Err(Duration::from_millis(1000)));
        assert_eq!(b.take(rate, 1, 400), Err(Duration::from_millis(600)));
        assert!(b.take(rate, 1, 1000).is_ok());
        assert!(b.take(rate, 1, 1000).is_err());
        // Never more than a minute's worth after a long idle time.
        assert_eq!(b.level(rate, 10_000_000), 60.0);
    }

    #[test]
    fn oversized_requests_pass_when_full_and_leave_debt() {
        let rate = RatePerMinute(1_000);
        let mut b = Bucket::full(rate, 0);
        assert!(b.take(rate, 5_000, 0).is_ok());
        assert_eq!(b.level(rate, 0), -4_000.0);
        // Debt of 4,000 plus 1 needed at 1,000/min: 4 min + 60 ms.
        assert_eq!(b.take(rate, 1, 0), Err(Duration::from_millis(240_060)));
    }

    #[test]
    fn adjust_refunds_and_charges() {
        let rate = RatePerMinute(100);
        let mut b = Bucket::full(rate, 0);
        b.take(rate, 80, 0).unwrap();
        b.adjust(rate, -50, 0); // the answer used 30, not 80
        assert_eq!(b.level(rate, 0), 70.0);
        b.adjust(rate, 200, 0);
        assert_eq!(b.level(rate, 0), -130.0);
        b.adjust(rate, -1_000, 0);
        assert_eq!(b.level(rate, 0), 100.0, "never above capacity");
    }
}
