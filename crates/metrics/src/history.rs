//! A short history of chosen series, sampled from the registry at a fixed
//! interval into a ring per series: what the console plots (capacity over
//! time, per-volume IOPS and throughput as differences of counters).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use crate::registry::Registry;

/// One sample: seconds since the Unix epoch, and the value then.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: f64,
    pub v: f64,
}

/// A series' labels, `(name, value)` in the family's order.
pub type Labels = Vec<(String, String)>;
/// One series of a [`History::query`]: its labels and samples.
pub type Series = (Labels, Vec<Point>);

type Key = (String, Labels);

/// Rings of the samples of some families' series.
pub struct History {
    families: Vec<String>,
    capacity: usize,
    series: Mutex<BTreeMap<Key, VecDeque<Point>>>,
}

impl History {
    /// Keeps the last `capacity` samples of every series of `families`.
    pub fn new(families: &[&str], capacity: usize) -> History {
        History {
            families: families.iter().map(|s| s.to_string()).collect(),
            capacity: capacity.max(2),
            series: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records the current value of every series of the chosen families at
    /// time `t`. A series the registry no longer has (a volume detached)
    /// ages out of the ring.
    pub fn sample(&self, registry: &Registry, t: f64) {
        let mut now: BTreeMap<Key, f64> = BTreeMap::new();
        for f in &self.families {
            for s in registry.samples(f) {
                now.insert((f.clone(), s.labels), s.value);
            }
        }
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        for key in now.keys() {
            series.entry(key.clone()).or_default();
        }
        let capacity = self.capacity;
        series.retain(|key, ring| {
            if let Some(v) = now.get(key) {
                ring.push_back(Point { t, v: *v });
            }
            while ring.len() > capacity {
                ring.pop_front();
            }
            // Gone from the registry and older than the window: forget it.
            now.contains_key(key)
                || ring
                    .back()
                    .is_some_and(|p| t - p.t < capacity as f64 * 60.0)
        });
    }

    /// The series of `family` whose labels include every `(name, value)` of
    /// `filter`: their labels and samples, oldest first.
    pub fn query(&self, family: &str, filter: &[(&str, &str)]) -> Vec<Series> {
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        series
            .iter()
            .filter(|((f, labels), _)| {
                f == family
                    && filter
                        .iter()
                        .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|((_, labels), ring)| (labels.clone(), ring.iter().copied().collect()))
            .collect()
    }

    /// The families this history samples.
    pub fn families(&self) -> &[String] {
        &self.families
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_bounded_ring_per_series() {
        let r = Registry::default();
        let c = r.counter_vec("h_ops_total", "Ops.", &["volume", "op"]);
        let h = History::new(&["h_ops_total"], 3);
        for i in 0..5 {
            c.inc_by(&["v1", "read"], 10.0);
            c.inc(&["v2", "read"]);
            h.sample(&r, i as f64);
        }
        let v1 = h.query("h_ops_total", &[("volume", "v1")]);
        assert_eq!(v1.len(), 1);
        let points = &v1[0].1;
        assert_eq!(points.len(), 3);
        assert_eq!(points[0], Point { t: 2.0, v: 30.0 });
        assert_eq!(points[2], Point { t: 4.0, v: 50.0 });
        assert_eq!(h.query("h_ops_total", &[("op", "read")]).len(), 2);
        assert!(h.query("other", &[]).is_empty());
    }
}
