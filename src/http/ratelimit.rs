//! Per-caller token buckets.

use std::collections::HashMap;
use std::time::Instant;

use leadwire_models::ratelimit::{Admission, RateLimitKeyBy, TokenBucket};
use leadwire_models::tenancy::Caller;
use parking_lot::Mutex;

use crate::config::RateLimitConfig;

/// Forget full buckets once this many keys are tracked.
const SWEEP_AT: usize = 50_000;

pub struct RateLimiter {
    pub config: RateLimitConfig,
    started: Instant,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config,
            started: Instant::now(),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The bucket key of a request.
    pub fn key(&self, caller: Option<&Caller>, ip: &str) -> String {
        match (self.config.key_by, caller) {
            (RateLimitKeyBy::Member, Some(c)) => format!("member:{}", c.member_id),
            (RateLimitKeyBy::Org, Some(c)) => format!("org:{}", c.org_id),
            _ => format!("ip:{ip}"),
        }
    }

    /// Takes a token from the key's bucket.
    pub fn admit(&self, key: &str) -> Admission {
        let now = self.started.elapsed().as_secs_f64();
        let (rate, burst) = (self.config.rps, self.config.burst);
        let mut buckets = self.buckets.lock();
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, b| !b.is_idle(rate, burst, now));
        }
        buckets
            .entry(key.to_string())
            .or_insert_with(|| TokenBucket::full(burst, now))
            .take(rate, burst, now)
    }
}
