//! The data path's metrics, per volume: requests and bytes by operation,
//! latency, time spent throttled by QoS, and open connections. A volume's
//! series go when its last export is withdrawn.

use std::sync::OnceLock;

use platter_metrics::{
    registry, CounterHandle, CounterVec, GaugeVec, HistogramHandle, HistogramVec, LATENCY_BUCKETS,
};

use crate::proto::*;

struct NbdMetrics {
    requests: CounterVec,
    bytes: CounterVec,
    duration: HistogramVec,
    throttled: CounterVec,
    connections: GaugeVec,
    refused: CounterVec,
}

fn m() -> &'static NbdMetrics {
    static M: OnceLock<NbdMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let r = registry();
        NbdMetrics {
            requests: r.counter_vec(
                "platter_nbd_requests_total",
                "NBD requests served, by volume and operation.",
                &["volume", "op"],
            ),
            bytes: r.counter_vec(
                "platter_nbd_bytes_total",
                "Bytes read and written through NBD, by volume and operation.",
                &["volume", "op"],
            ),
            duration: r.histogram_vec(
                "platter_nbd_request_duration_seconds",
                "Time to serve NBD requests (QoS waits included), by volume and operation.",
                &["volume", "op"],
                LATENCY_BUCKETS,
            ),
            throttled: r.counter_vec(
                "platter_nbd_throttled_seconds_total",
                "Time NBD requests waited for their volume's QoS limits, by volume.",
                &["volume"],
            ),
            connections: r.gauge_vec(
                "platter_nbd_connections",
                "Open NBD connections in the transmission phase, by volume.",
                &["volume"],
            ),
            refused: r.counter_vec(
                "platter_nbd_connections_refused_total",
                "NBD connections closed at accept because their source had too many open.",
                &[],
            ),
        }
    })
}

/// The request kinds counted apart, and their labels.
const OPS: [(u16, &str); 8] = [
    (CMD_READ, "read"),
    (CMD_WRITE, "write"),
    (CMD_FLUSH, "flush"),
    (CMD_TRIM, "trim"),
    (CMD_CACHE, "cache"),
    (CMD_WRITE_ZEROES, "write_zeroes"),
    (CMD_BLOCK_STATUS, "block_status"),
    (u16::MAX, "other"),
];

fn op_index(kind: u16) -> usize {
    OPS.iter()
        .position(|(k, _)| *k == kind)
        .unwrap_or(OPS.len() - 1)
}

struct OpStats {
    requests: CounterHandle,
    bytes: CounterHandle,
    duration: HistogramHandle,
}

/// One session's handles on its volume's series, resolved at first use of
/// each operation, so a request updates them without a lookup.
pub(crate) struct VolumeStats {
    volume: String,
    ops: [OnceLock<OpStats>; OPS.len()],
    throttled: OnceLock<CounterHandle>,
}

impl VolumeStats {
    pub(crate) fn new(volume: &str) -> VolumeStats {
        VolumeStats {
            volume: volume.to_string(),
            ops: Default::default(),
            throttled: OnceLock::new(),
        }
    }

    pub(crate) fn request(&self, kind: u16, length: u32, seconds: f64) {
        let i = op_index(kind);
        let op = self.ops[i].get_or_init(|| {
            let m = m();
            let labels = [self.volume.as_str(), OPS[i].1];
            OpStats {
                requests: m.requests.handle(&labels),
                bytes: m.bytes.handle(&labels),
                duration: m.duration.handle(&labels),
            }
        });
        op.requests.inc_by(1.0);
        if matches!(kind, CMD_READ | CMD_WRITE) {
            op.bytes.inc_by(f64::from(length));
        }
        op.duration.observe(seconds);
    }

    pub(crate) fn throttled(&self, seconds: f64) {
        if seconds > 0.0 {
            self.throttled
                .get_or_init(|| m().throttled.handle(&[self.volume.as_str()]))
                .inc_by(seconds);
        }
    }
}

pub(crate) fn connection(volume: &str, delta: f64) {
    m().connections.add(&[volume], delta);
}

pub(crate) fn refused() {
    m().refused.inc(&[]);
}

/// Forgets a volume's series (its last export is gone).
pub(crate) fn forget(volume: &str) {
    let m = m();
    for (_, op) in OPS {
        m.requests.remove(&[volume, op]);
        m.bytes.remove(&[volume, op]);
        m.duration.remove(&[volume, op]);
    }
    m.throttled.remove(&[volume]);
    m.connections.remove(&[volume]);
}
