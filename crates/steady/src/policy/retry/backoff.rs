//! How long to wait before the next attempt: exponential growth, a cap, and jitter.
//!
//! Without jitter, every client that failed at the same moment retries at the same
//! moment, and the retries arrive as a synchronized wave that knocks the recovering
//! service over again. Full jitter (a uniform wait between zero and the exponential
//! delay) spreads them best for the fewest total calls (AWS Architecture Blog,
//! "Exponential Backoff And Jitter").

use std::time::Duration;

/// How randomness is mixed into the exponential delay `d = min(cap, base * 2^n)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// Uniform in `[0, d]`: the default, best at spreading synchronized clients.
    #[default]
    Full,
    /// `d/2` plus uniform in `[0, d/2]`: never shorter than half the delay.
    Equal,
    /// Uniform in `[base, 3 * previous wait]`, capped: grows from the last wait.
    Decorrelated,
    /// Exactly `d`: predictable, and synchronized across clients.
    None,
}

impl Jitter {
    /// The stable name (`full`, `equal`, `decorrelated`, `none`).
    pub fn name(self) -> &'static str {
        match self {
            Jitter::Full => "full",
            Jitter::Equal => "equal",
            Jitter::Decorrelated => "decorrelated",
            Jitter::None => "none",
        }
    }
}

impl std::str::FromStr for Jitter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Jitter::Full),
            "equal" => Ok(Jitter::Equal),
            "decorrelated" => Ok(Jitter::Decorrelated),
            "none" => Ok(Jitter::None),
            other => Err(format!(
                "unknown jitter '{other}': expected full, equal, decorrelated or none"
            )),
        }
    }
}

/// Exponential backoff with a cap and jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay, doubled for each further retry (default 1s).
    pub base: Duration,
    /// No delay exceeds this (default 30s).
    pub max: Duration,
    /// How randomness is mixed in (default full).
    pub jitter: Jitter,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(30),
            jitter: Jitter::Full,
        }
    }
}

impl Backoff {
    /// The delay before retry number `retry` (0 for the first retry). `previous` is the
    /// previous wait (for decorrelated jitter); `unit` draws a uniform number in
    /// `[0, 1)`. Never negative, never above `max`.
    pub fn delay(
        &self,
        retry: u32,
        previous: Option<Duration>,
        unit: impl FnOnce() -> f64,
    ) -> Duration {
        let cap = self.max;
        let exponential = self
            .base
            .checked_mul(2u32.saturating_pow(retry.min(31)))
            .unwrap_or(cap)
            .min(cap);
        // A draw outside [0, 1), or NaN, from a custom source is pulled back in.
        let u = match unit() {
            u if u.is_nan() => 0.0,
            u => u.clamp(0.0, 1.0),
        };
        let d = match self.jitter {
            Jitter::None => exponential,
            Jitter::Full => scale(exponential, u),
            Jitter::Equal => (exponential / 2).saturating_add(scale(exponential / 2, u)),
            Jitter::Decorrelated => {
                let low = self.base.min(cap);
                let high = previous
                    .unwrap_or(self.base)
                    .checked_mul(3)
                    .unwrap_or(cap)
                    .clamp(low, cap);
                low.saturating_add(scale(high - low, u))
            }
        };
        d.min(cap)
    }
}

/// `d * u` for `u` in [0, 1], without the panic of `mul_f64` when float rounding
/// lands a hair above `Duration::MAX`.
fn scale(d: Duration, u: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * u)
        .unwrap_or(d)
        .min(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff(jitter: Jitter) -> Backoff {
        Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
            jitter,
        }
    }

    #[test]
    fn no_jitter_doubles_until_the_cap() {
        let b = backoff(Jitter::None);
        let delays: Vec<u128> = (0..7)
            .map(|n| b.delay(n, None, || 0.5).as_millis())
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 2000, 2000]);
    }

    #[test]
    fn full_jitter_spans_zero_to_the_delay() {
        let b = backoff(Jitter::Full);
        assert_eq!(b.delay(3, None, || 0.0), Duration::ZERO);
        assert_eq!(b.delay(3, None, || 0.5), Duration::from_millis(400));
    }

    #[test]
    fn equal_jitter_never_goes_below_half() {
        let b = backoff(Jitter::Equal);
        assert_eq!(b.delay(2, None, || 0.0), Duration::from_millis(200));
        assert_eq!(b.delay(2, None, || 1.0), Duration::from_millis(400));
    }

    #[test]
    fn decorrelated_grows_from_the_previous_wait_and_stays_capped() {
        let b = backoff(Jitter::Decorrelated);
        assert_eq!(b.delay(0, None, || 1.0), Duration::from_millis(300));
        assert_eq!(
            b.delay(5, Some(Duration::from_secs(10)), || 1.0),
            Duration::from_secs(2)
        );
        assert_eq!(
            b.delay(1, Some(Duration::from_millis(300)), || 0.0),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn huge_retry_numbers_and_bases_saturate_at_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(u64::MAX / 2),
            max: Duration::from_secs(30),
            jitter: Jitter::None,
        };
        assert_eq!(b.delay(u32::MAX, None, || 0.5), Duration::from_secs(30));
    }
}
