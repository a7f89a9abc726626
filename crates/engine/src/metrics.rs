//! The engine's metrics: commit and checkpoint latency, by pool (the
//! pool directory's name).

use std::path::Path;
use std::sync::OnceLock;

use platter_metrics::{registry, HistogramVec, LATENCY_BUCKETS};

struct EngineMetrics {
    commit: HistogramVec,
    checkpoint: HistogramVec,
}

fn m() -> &'static EngineMetrics {
    static M: OnceLock<EngineMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let r = registry();
        EngineMetrics {
            commit: r.histogram_vec(
                "platter_engine_commit_duration_seconds",
                "Time to make the journal durable (data and journal fdatasync), by pool directory.",
                &["pool_dir"],
                LATENCY_BUCKETS,
            ),
            checkpoint: r.histogram_vec(
                "platter_engine_checkpoint_duration_seconds",
                "Time to write a checkpoint and start a new journal, by pool directory.",
                &["pool_dir"],
                LATENCY_BUCKETS,
            ),
        }
    })
}

fn name(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

pub(crate) fn commit(dir: &Path, seconds: f64) {
    m().commit.observe(&[&name(dir)], seconds);
}

pub(crate) fn checkpoint(dir: &Path, seconds: f64) {
    m().checkpoint.observe(&[&name(dir)], seconds);
}
