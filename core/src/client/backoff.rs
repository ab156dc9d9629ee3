//! Reconnection delays: socket.io-client's `backo2` (exponential, factor 2,
//! with jitter), with the randomness drawn from the client's seeded stream.

use core::time::Duration;

use rand_core::RngCore;

/// Past this many doublings the delay is the maximum anyway; capping the
/// exponent keeps the arithmetic finite (the reference overflows to
/// `Infinity` after about a thousand attempts, and then to `NaN` with
/// jitter, which reads as a delay of 0: a quirk not copied here).
const MAX_DOUBLINGS: u32 = 64;

/// The backoff state of one manager.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min_ms: f64,
    max_ms: f64,
    /// 0 (none) unless in (0, 1], as the reference accepts it.
    jitter: f64,
    /// Delays handed out since the last reset.
    attempts: u32,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration, jitter: f64) -> Self {
        let jitter = if jitter > 0.0 && jitter <= 1.0 {
            jitter
        } else {
            0.0
        };
        Backoff {
            min_ms: min.as_millis() as f64,
            max_ms: max.as_millis() as f64,
            jitter,
            attempts: 0,
        }
    }

    /// How many delays were handed out since the last reset.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
    }

    /// The next delay: `min * 2^attempts`, moved by up to `jitter` of itself
    /// down or up (the direction from the same draw), capped at `max`,
    /// truncated to whole milliseconds.
    pub(crate) fn duration(&mut self, rng: &mut impl RngCore) -> Duration {
        let mut ms = self.min_ms * power_of_two(self.attempts.min(MAX_DOUBLINGS));
        self.attempts = self.attempts.saturating_add(1);
        if self.jitter > 0.0 {
            let rand = unit_interval(rng);
            let deviation = floor(rand * self.jitter * ms);
            let goes_down = (floor(rand * 10.0) as u64) & 1 == 0;
            ms = if goes_down {
                ms - deviation
            } else {
                ms + deviation
            };
        }
        let capped = if ms < self.max_ms { ms } else { self.max_ms };
        // Non-negative and finite here; the cast truncates as `| 0` does.
        Duration::from_millis(capped as u64)
    }
}

/// A uniform draw in [0, 1), like `Math.random()`: 53 random bits.
pub(crate) fn unit_interval(rng: &mut impl RngCore) -> f64 {
    const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
    (rng.next_u64() >> 11) as f64 * SCALE
}

/// `2^exponent` for small exponents.
fn power_of_two(exponent: u32) -> f64 {
    (0..exponent).fold(1.0, |value, _| value * 2.0)
}

/// `Math.floor` for the non-negative values used here (`f64::floor` needs
/// std). From 2^53 on every f64 is already an integer.
fn floor(value: f64) -> f64 {
    const EXACT: f64 = (1u64 << 53) as f64;
    if value < EXACT {
        (value as u64) as f64
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn without_jitter_the_delays_double_up_to_the_max() {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        let mut backoff = Backoff::new(ms(1000), ms(5000), 0.0);
        let delays: alloc::vec::Vec<_> = (0..5).map(|_| backoff.duration(&mut rng)).collect();
        assert_eq!(delays, [ms(1000), ms(2000), ms(4000), ms(5000), ms(5000)]);
        assert_eq!(backoff.attempts(), 5);
        backoff.reset();
        assert_eq!(backoff.duration(&mut rng), ms(1000));
    }

    #[test]
    fn out_of_range_jitter_means_none() {
        let mut rng = ChaCha20Rng::from_seed([2; 32]);
        for jitter in [-0.5, 1.5, f64::NAN] {
            let mut backoff = Backoff::new(ms(100), ms(10_000), jitter);
            assert_eq!(backoff.duration(&mut rng), ms(100));
        }
    }

    #[test]
    fn many_attempts_stay_at_the_max() {
        let mut rng = ChaCha20Rng::from_seed([3; 32]);
        let mut backoff = Backoff::new(ms(1000), ms(5000), 1.0);
        backoff.attempts = u32::MAX - 1;
        for _ in 0..3 {
            let delay = backoff.duration(&mut rng);
            assert!(delay <= ms(5000), "{delay:?}");
        }
        assert_eq!(backoff.attempts(), u32::MAX);
    }

    #[test]
    fn floor_and_powers() {
        assert_eq!(floor(2.9), 2.0);
        assert_eq!(floor(0.0), 0.0);
        assert_eq!(floor(1e300), 1e300);
        assert_eq!(power_of_two(0), 1.0);
        assert_eq!(power_of_two(10), 1024.0);
    }
}
