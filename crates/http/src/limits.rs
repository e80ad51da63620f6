//! Rate limits on the endpoints that guess at accounts or burn CPU:
//! per client address (signup, login, sign-in options and finish) and per
//! account (login and email-scoped sign-in options), as token buckets.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimitConfig;
use crate::error::ApiError;

pub struct RateLimits {
    enabled: bool,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            enabled: config.enabled,
            per_ip: RateLimiter::keyed(quota(config.per_ip_per_minute, config.per_ip_burst)),
            per_account: RateLimiter::keyed(quota(
                config.per_account_per_minute,
                config.per_account_burst,
            )),
        }
    }

    pub fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        self.per_ip
            .check_key(&ip)
            .map_err(|not_until| limited(&not_until))
    }

    /// `email` as typed; it is normalised here so case and spaces do not
    /// buy extra attempts.
    pub fn check_account(&self, email: &str) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let key = email.trim().to_lowercase();
        self.per_account
            .check_key(&key)
            .map_err(|not_until| limited(&not_until))
    }

    /// Drops the state of clients that are back to a full bucket, so memory
    /// does not grow with every address ever seen.
    pub fn forget_idle(&self) {
        self.per_ip.retain_recent();
        self.per_account.retain_recent();
    }
}

fn limited(
    not_until: &governor::NotUntil<<DefaultClock as governor::clock::Clock>::Instant>,
) -> ApiError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::RateLimited {
        retry_after_secs: wait.as_secs().max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(enabled: bool) -> RateLimitConfig {
        RateLimitConfig {
            enabled,
            per_ip_per_minute: 60,
            per_ip_burst: 3,
            per_account_per_minute: 60,
            per_account_burst: 2,
        }
    }

    #[test]
    fn a_burst_then_429_with_a_retry_delay() {
        let limits = RateLimits::new(&config(true));
        let ip: IpAddr = "203.0.113.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limits.check_ip(ip).is_ok());
        }
        let Err(ApiError::RateLimited { retry_after_secs }) = limits.check_ip(ip) else {
            panic!("the fourth attempt passed");
        };
        assert!(retry_after_secs >= 1);
        assert!(
            limits.check_ip("203.0.113.2".parse().unwrap()).is_ok(),
            "other clients are unaffected"
        );
    }

    #[test]
    fn accounts_are_counted_case_insensitively() {
        let limits = RateLimits::new(&config(true));
        assert!(limits.check_account("Ann@Example.com").is_ok());
        assert!(limits.check_account(" ann@example.com").is_ok());
        assert!(limits.check_account("ANN@EXAMPLE.COM").is_err());
    }

    #[test]
    fn the_off_switch_lets_everything_through() {
        let limits = RateLimits::new(&config(false));
        let ip: IpAddr = "203.0.113.1".parse().unwrap();
        assert!((0..100).all(|_| limits.check_ip(ip).is_ok()));
    }
}
