//! A token bucket per volume: IOPS and bytes per second, both optional,
//! changeable at any time. Requests take their cost at once and, when that
//! leaves the bucket in debt, wait until it is paid: concurrent requests
//! queue up behind each other and the long-run rate is the limit.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use platter_backend::Qos;

/// Burst allowance: a tenth of a second's worth.
const BURST_SECONDS: f64 = 0.1;

#[derive(Debug)]
struct Bucket {
    rate: f64,
    balance: f64,
}

impl Bucket {
    fn new(rate: u64) -> Bucket {
        let rate = rate as f64;
        Bucket {
            rate,
            balance: rate * BURST_SECONDS,
        }
    }
    fn refill(&mut self, elapsed: f64) {
        self.balance = (self.balance + elapsed * self.rate).min(self.rate * BURST_SECONDS);
    }
    /// Takes `cost`; returns how long to wait for the debt to be paid.
    fn take(&mut self, cost: f64) -> f64 {
        self.balance -= cost;
        if self.balance < 0.0 {
            -self.balance / self.rate
        } else {
            0.0
        }
    }
}

#[derive(Debug)]
struct State {
    last: Instant,
    iops: Option<Bucket>,
    bytes: Option<Bucket>,
}

#[derive(Debug)]
pub struct Limiter {
    state: Mutex<State>,
}

impl Limiter {
    pub fn new(qos: Qos) -> Limiter {
        Limiter {
            state: Mutex::new(State {
                last: Instant::now(),
                iops: qos.iops.filter(|&r| r > 0).map(Bucket::new),
                bytes: qos.bytes_per_sec.filter(|&r| r > 0).map(Bucket::new),
            }),
        }
    }

    pub fn set(&self, qos: Qos) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.iops = qos.iops.filter(|&r| r > 0).map(Bucket::new);
        s.bytes = qos.bytes_per_sec.filter(|&r| r > 0).map(Bucket::new);
        s.last = Instant::now();
    }

    /// How long a request of `bytes` must wait before it may run.
    pub fn charge(&self, bytes: u64) -> Duration {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let elapsed = now.duration_since(s.last).as_secs_f64();
        s.last = now;
        let mut wait: f64 = 0.0;
        if let Some(b) = s.iops.as_mut() {
            b.refill(elapsed);
            wait = wait.max(b.take(1.0));
        }
        if let Some(b) = s.bytes.as_mut() {
            b.refill(elapsed);
            wait = wait.max(b.take(bytes as f64));
        }
        Duration::from_secs_f64(wait)
    }

    /// Waits until a request of `bytes` may run.
    pub async fn acquire(&self, bytes: u64) {
        let wait = self.charge(bytes);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debt_makes_requests_wait_in_proportion() {
        let l = Limiter::new(Qos {
            iops: Some(100),
            bytes_per_sec: None,
        });
        // The burst (10 requests) goes through, then each waits 10 ms more.
        let waits: Vec<f64> = (0..30).map(|_| l.charge(0).as_secs_f64()).collect();
        assert!(waits[..10].iter().all(|w| *w < 0.001), "{waits:?}");
        assert!((waits[29] - 0.2).abs() < 0.01, "{waits:?}");
        l.set(Qos::default());
        assert_eq!(
            l.charge(1 << 30),
            Duration::ZERO,
            "unlimited after a change"
        );
    }

    #[test]
    fn bandwidth_counts_bytes() {
        let l = Limiter::new(Qos {
            iops: None,
            bytes_per_sec: Some(1 << 20),
        });
        let w = l.charge(2 << 20);
        assert!((w.as_secs_f64() - 1.9).abs() < 0.05, "{w:?}");
    }
}
