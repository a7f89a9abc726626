//! The data path's metrics, per volume: requests and bytes by operation,
//! latency, time spent throttled by QoS, and open connections. A volume's
//! series go when its last export is withdrawn.

use std::sync::OnceLock;

use platter_metrics::{registry, CounterVec, GaugeVec, HistogramVec, LATENCY_BUCKETS};

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

/// The label of a request kind.
pub(crate) fn op_name(kind: u16) -> &'static str {
    match kind {
        CMD_READ => "read",
        CMD_WRITE => "write",
        CMD_FLUSH => "flush",
        CMD_TRIM => "trim",
        CMD_CACHE => "cache",
        CMD_WRITE_ZEROES => "write_zeroes",
        CMD_BLOCK_STATUS => "block_status",
        _ => "other",
    }
}

pub(crate) fn request(volume: &str, kind: u16, length: u32, seconds: f64) {
    let m = m();
    let op = op_name(kind);
    m.requests.inc(&[volume, op]);
    if matches!(kind, CMD_READ | CMD_WRITE) {
        m.bytes.inc_by(&[volume, op], f64::from(length));
    }
    m.duration.observe(&[volume, op], seconds);
}

pub(crate) fn throttled(volume: &str, seconds: f64) {
    if seconds > 0.0 {
        m().throttled.inc_by(&[volume], seconds);
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
    for kind in [
        CMD_READ,
        CMD_WRITE,
        CMD_FLUSH,
        CMD_TRIM,
        CMD_CACHE,
        CMD_WRITE_ZEROES,
        CMD_BLOCK_STATUS,
        u16::MAX,
    ] {
        let op = op_name(kind);
        m.requests.remove(&[volume, op]);
        m.bytes.remove(&[volume, op]);
        m.duration.remove(&[volume, op]);
    }
    m.throttled.remove(&[volume]);
    m.connections.remove(&[volume]);
}
