//! Exponential backoff with jitter, floored by the server's Retry-After.

use super::config::RetryConfig;
use std::time::Duration;

/// Backoff state for one batch.
pub struct Backoff {
    cfg: RetryConfig,
    current: Duration,
}

impl Backoff {
    pub fn new(cfg: &RetryConfig) -> Backoff {
        Backoff { cfg: cfg.clone(), current: cfg.initial_interval.0 }
    }

    /// The next wait: current interval ± randomization, at least `server_delay`.
    pub fn next(&mut self, server_delay: Option<Duration>) -> Duration {
        let base = self.current.as_secs_f64();
        let f = self.cfg.randomization_factor;
        let jitter = if f > 0.0 { base * f * (2.0 * rand::random::<f64>() - 1.0) } else { 0.0 };
        let wait = Duration::from_secs_f64((base + jitter).max(0.0));
        let next = (base * self.cfg.multiplier).min(self.cfg.max_interval.0.as_secs_f64());
        self.current = Duration::from_secs_f64(next.max(0.0));
        match server_delay {
            Some(d) if d > wait => d,
            _ => wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GoDuration;

    #[test]
    fn grows_to_the_cap_and_honours_server_delay() {
        let cfg = RetryConfig {
            initial_interval: GoDuration::from_millis(100),
            max_interval: GoDuration::from_millis(300),
            randomization_factor: 0.0,
            ..RetryConfig::default()
        };
        let mut b = Backoff::new(&cfg);
        assert_eq!(b.next(None), Duration::from_millis(100));
        assert_eq!(b.next(None), Duration::from_millis(150));
        assert_eq!(b.next(None), Duration::from_millis(225));
        assert_eq!(b.next(None), Duration::from_millis(300));
        assert_eq!(b.next(None), Duration::from_millis(300));
        assert_eq!(b.next(Some(Duration::from_secs(2))), Duration::from_secs(2));
    }
}
