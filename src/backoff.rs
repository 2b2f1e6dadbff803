//! Capped exponential backoff, the one rule for waiting longer after each failure in a row:
//! the HTTP client's retries of a request and the daemon's retries of a failed run both use it.
//! A leaf: it imports nothing.

use std::time::Duration;

/// The wait after failure number `n` in a row (1 = the first): `base * 2^(n-1)`, never more
/// than `cap` (and never overflowing, however large `n` is).
pub fn capped_exponential(n: u32, base: Duration, cap: Duration) -> Duration {
    let factor = 2u32.saturating_pow(n.saturating_sub(1));
    base.saturating_mul(factor).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_base_up_to_the_cap() {
        let (base, cap) = (Duration::from_secs(60), Duration::from_secs(3600));
        let waits: Vec<u64> = (0..=8)
            .map(|n| capped_exponential(n, base, cap).as_secs())
            .collect();
        assert_eq!(waits, [60, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(capped_exponential(u32::MAX, base, cap), cap);
        assert_eq!(capped_exponential(40, Duration::MAX, cap), cap);
    }
}
