//! A token bucket per volume: IOPS and bytes per second, both optional,
//! changeable at any time. Requests take their cost at once and, when that
//! leaves the bucket in debt, wait until it is paid: concurrent requests
//! queue up behind each other and the long-run rate is the limit.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use platter_backend::{IoDirection, Qos};

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

/// The buckets of one [`Qos`]: totals, then reads, then writes.
#[derive(Debug, Default)]
struct Buckets {
    iops: Option<Bucket>,
    bytes: Option<Bucket>,
    read_iops: Option<Bucket>,
    read_bytes: Option<Bucket>,
    write_iops: Option<Bucket>,
    write_bytes: Option<Bucket>,
}

impl Buckets {
    fn of(qos: Qos) -> Buckets {
        let bucket = |r: Option<u64>| r.filter(|&r| r > 0).map(Bucket::new);
        Buckets {
            iops: bucket(qos.iops),
            bytes: bucket(qos.bytes_per_sec),
            read_iops: bucket(qos.read_iops),
            read_bytes: bucket(qos.read_bytes_per_sec),
            write_iops: bucket(qos.write_iops),
            write_bytes: bucket(qos.write_bytes_per_sec),
        }
    }
}

#[derive(Debug)]
struct State {
    last: Instant,
    buckets: Buckets,
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
                buckets: Buckets::of(qos),
            }),
        }
    }

    pub fn set(&self, qos: Qos) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.buckets = Buckets::of(qos);
        s.last = Instant::now();
    }

    /// How long a request of `bytes` in direction `dir` must wait before it
    /// may run.
    pub fn charge(&self, dir: IoDirection, bytes: u64) -> Duration {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let elapsed = now.duration_since(s.last).as_secs_f64();
        s.last = now;
        let b = &mut s.buckets;
        let (dir_iops, dir_bytes) = match dir {
            IoDirection::Read => (&mut b.read_iops, &mut b.read_bytes),
            IoDirection::Write => (&mut b.write_iops, &mut b.write_bytes),
        };
        let mut wait: f64 = 0.0;
        for (bucket, cost) in [
            (b.iops.as_mut(), 1.0),
            (b.bytes.as_mut(), bytes as f64),
            (dir_iops.as_mut(), 1.0),
            (dir_bytes.as_mut(), bytes as f64),
        ] {
            if let Some(bucket) = bucket {
                bucket.refill(elapsed);
                wait = wait.max(bucket.take(cost));
            }
        }
        Duration::from_secs_f64(wait)
    }

    /// Waits until a request of `bytes` in direction `dir` may run.
    pub async fn acquire(&self, dir: IoDirection, bytes: u64) {
        let wait = self.charge(dir, bytes);
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
            ..Qos::default()
        });
        // The burst (10 requests) goes through, then each waits 10 ms more.
        let waits: Vec<f64> = (0..30)
            .map(|_| l.charge(IoDirection::Read, 0).as_secs_f64())
            .collect();
        assert!(waits[..10].iter().all(|w| *w < 0.001), "{waits:?}");
        assert!((waits[29] - 0.2).abs() < 0.01, "{waits:?}");
        l.set(Qos::default());
        assert_eq!(
            l.charge(IoDirection::Write, 1 << 30),
            Duration::ZERO,
            "unlimited after a change"
        );
    }

    #[test]
    fn bandwidth_counts_bytes() {
        let l = Limiter::new(Qos {
            bytes_per_sec: Some(1 << 20),
            ..Qos::default()
        });
        let w = l.charge(IoDirection::Read, 2 << 20);
        assert!((w.as_secs_f64() - 1.9).abs() < 0.05, "{w:?}");
    }

    #[test]
    fn direction_limits_leave_the_other_direction_alone() {
        let l = Limiter::new(Qos {
            write_iops: Some(10),
            ..Qos::default()
        });
        // One write is the whole burst; the next waits a tenth of a second.
        assert_eq!(l.charge(IoDirection::Write, 0), Duration::ZERO);
        assert!(l.charge(IoDirection::Write, 0) > Duration::from_millis(50));
        for _ in 0..100 {
            assert_eq!(l.charge(IoDirection::Read, 4096), Duration::ZERO);
        }
    }
}
