//! The token bucket behind per-caller rate limiting. Pure: time is passed in.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether exceeding the limit refuses requests (`enforce`) or is only counted (`observe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitMode {
    Enforce,
    Observe,
}

/// What a caller's bucket is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitKeyBy {
    /// One bucket per authenticated member (unauthenticated requests: per IP).
    Member,
    /// One bucket per organisation.
    Org,
    /// One bucket per client IP address.
    Ip,
}

/// A bucket holding up to `burst` tokens, refilled at `rate` tokens per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    last_seconds: f64,
}

/// The outcome of asking a bucket for one token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    Allowed {
        remaining: u64,
    },
    /// Refused; a token will be available after this many seconds.
    Limited {
        retry_after_seconds: f64,
    },
}

impl TokenBucket {
    /// A full bucket at time `now_seconds`.
    pub fn full(burst: u32, now_seconds: f64) -> Self {
        TokenBucket {
            tokens: f64::from(burst),
            last_seconds: now_seconds,
        }
    }

    /// Refills for the time elapsed since the last call, then takes one token if there is one.
    pub fn take(&mut self, rate: f64, burst: u32, now_seconds: f64) -> Admission {
        let elapsed = (now_seconds - self.last_seconds).max(0.0);
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(burst));
        self.last_seconds = now_seconds.max(self.last_seconds);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Admission::Allowed {
                remaining: self.tokens.floor() as u64,
            }
        } else if rate <= 0.0 {
            Admission::Limited {
                retry_after_seconds: f64::INFINITY,
            }
        } else {
            Admission::Limited {
                retry_after_seconds: (1.0 - self.tokens) / rate,
            }
        }
    }

    /// Whether the bucket is full again at `now_seconds` (and can be forgotten).
    pub fn is_idle(&self, rate: f64, burst: u32, now_seconds: f64) -> bool {
        self.tokens + (now_seconds - self.last_seconds).max(0.0) * rate >= f64::from(burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let mut b = TokenBucket::full(3, 0.0);
        for _ in 0..3 {
            assert!(matches!(b.take(1.0, 3, 0.0), Admission::Allowed { .. }));
        }
        match b.take(1.0, 3, 0.0) {
            Admission::Limited {
                retry_after_seconds,
            } => assert!((retry_after_seconds - 1.0).abs() < 1e-9),
            other => panic!("expected limited, got {other:?}"),
        }
        assert!(matches!(
            b.take(1.0, 3, 1.0),
            Admission::Allowed { remaining: 0 }
        ));
        assert!(!b.is_idle(1.0, 3, 2.0));
        assert!(b.is_idle(1.0, 3, 4.0));
    }

    #[test]
    fn never_exceeds_burst_and_clock_skew_is_harmless() {
        let mut b = TokenBucket::full(2, 10.0);
        assert_eq!(
            b.take(100.0, 2, 1000.0),
            Admission::Allowed { remaining: 1 }
        );
        // time going backwards neither refills nor panics
        assert_eq!(b.take(100.0, 2, 5.0), Admission::Allowed { remaining: 0 });
        assert!(matches!(b.take(100.0, 2, 5.0), Admission::Limited { .. }));
    }
}
