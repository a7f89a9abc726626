//! Metrics with no dependencies: labelled counters, gauges and histograms
//! registered in one process-wide [`Registry`], rendered in Prometheus'
//! text exposition format (0.0.4), and a [`History`]: a ring of samples of
//! chosen series that the console plots.
//!
//! Conventions (Prometheus'): `platter_` prefix, base units in the name
//! (`_seconds`, `_bytes`), counters end in `_total`, label sets bounded
//! (a volume id only on per-volume data-path series, removed with the
//! export).

mod history;
mod registry;

pub use history::{History, Labels, Point, Series};
pub use registry::{
    registry, Counter, CounterHandle, CounterVec, Gauge, GaugeVec, HistogramHandle, HistogramVec,
    Kind, Registry, Sample, LATENCY_BUCKETS,
};
