//! The two backoffs of a subscriber (`docs/PROTOCOL.md`, "Writing a client"), as pure
//! arithmetic.
//!
//! - Handler backoff: after a handler throws, no new deliveries for `base`, doubling on
//!   each further failure up to 60 s, reset by a success.
//! - Reconnect backoff: "full jitter" (a uniform random delay between 0 and an
//!   exponentially growing cap), so a fleet of clients cut off together does not come back
//!   together. The random number comes in as an argument: the core has no randomness.

/// Longest handler backoff.
pub const MAX_HANDLER_BACKOFF_MS: u64 = 60_000;

/// Handler backoff after `failures` consecutive failures (0 = none).
pub fn handler_delay(base_ms: u64, failures: u32) -> u64 {
    if failures == 0 || base_ms == 0 {
        return 0;
    }
    let shift = (failures - 1).min(20);
    base_ms.saturating_mul(1 << shift).min(MAX_HANDLER_BACKOFF_MS.max(base_ms))
}

/// Reconnect delay before attempt `attempt` (0 = first retry), given `random` in [0, 1).
pub fn reconnect_delay(min_ms: u64, max_ms: u64, attempt: u32, random: f64) -> u64 {
    let cap = min_ms.max(1).saturating_mul(1 << attempt.min(20)).min(max_ms.max(min_ms));
    let r = if random.is_finite() { random.clamp(0.0, 1.0) } else { 0.5 };
    // Never zero: a server that refuses at once must not be hammered in a loop.
    ((cap as f64 * r) as u64).max(min_ms.min(cap) / 4).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_backoff_doubles_to_a_minute() {
        let d: Vec<u64> = (0..8).map(|f| handler_delay(5_000, f)).collect();
        assert_eq!(d, vec![0, 5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000]);
        assert_eq!(handler_delay(5_000, u32::MAX), 60_000);
    }

    #[test]
    fn reconnect_is_jittered_under_a_growing_cap() {
        assert_eq!(reconnect_delay(500, 30_000, 0, 0.999_999), 499);
        assert_eq!(reconnect_delay(500, 30_000, 3, 0.5), 2_000);
        assert_eq!(reconnect_delay(500, 30_000, 30, 0.999_999), 29_999);
        // The floor keeps a tight loop out even with an unlucky draw.
        assert_eq!(reconnect_delay(500, 30_000, 5, 0.0), 125);
        assert!(reconnect_delay(500, 30_000, 2, f64::NAN) > 0);
    }
}
