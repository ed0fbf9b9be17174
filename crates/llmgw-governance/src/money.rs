//! Money as whole nano-dollars (1 USD = 10^9), so that counters add up exactly and a shared
//! store can keep them as integers.

/// Nano-dollars per dollar.
pub const NANOS_PER_USD: f64 = 1e9;

/// `usd` as nano-dollars, rounded up (a reservation never undercounts); negative and
/// non-finite amounts count as zero, huge ones saturate.
pub fn usd_to_nanos(usd: f64) -> u64 {
    if !usd.is_finite() || usd <= 0.0 {
        return 0;
    }
    // `as` saturates at u64::MAX for values beyond its range.
    (usd * NANOS_PER_USD).ceil() as u64
}

/// Nano-dollars as USD.
pub fn nanos_to_usd(nanos: u64) -> f64 {
    nanos as f64 / NANOS_PER_USD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(usd_to_nanos(1.5), 1_500_000_000);
        assert_eq!(usd_to_nanos(0.000_000_000_1), 1, "rounds up");
        assert_eq!(usd_to_nanos(-3.0), 0);
        assert_eq!(usd_to_nanos(f64::NAN), 0);
        assert_eq!(usd_to_nanos(f64::INFINITY), 0);
        assert_eq!(usd_to_nanos(1e30), u64::MAX);
        assert!((nanos_to_usd(2_500_000_000) - 2.5).abs() < 1e-12);
    }
}
