//! The service's metrics: authentication outcomes, and jobs by kind and
//! outcome with their durations and retries.

use std::sync::OnceLock;

use platter_metrics::{registry, CounterVec, Gauge, HistogramVec, LATENCY_BUCKETS};

struct ServiceMetrics {
    auth_failures: CounterVec,
    auth_refused: CounterVec,
    lockouts: CounterVec,
    jobs: CounterVec,
    job_duration: HistogramVec,
    job_retries: CounterVec,
    jobs_running: Gauge,
}

fn m() -> &'static ServiceMetrics {
    static M: OnceLock<ServiceMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let r = registry();
        ServiceMetrics {
            auth_failures: r.counter_vec(
                "platter_auth_failures_total",
                "Failed authentications, by method (password, token, aksk) and reason.",
                &["method", "reason"],
            ),
            auth_refused: r.counter_vec(
                "platter_auth_refused_total",
                "Password logins refused before checking: rate_limited (a source over its failure budget) or busy (hashing queue full).",
                &["reason"],
            ),
            lockouts: r.counter_vec(
                "platter_auth_lockouts_total",
                "Accounts locked after repeated failed logins.",
                &[],
            ),
            jobs: r.counter_vec(
                "platter_jobs_total",
                "Jobs (sagas) finished, by kind and outcome (succeeded, failed).",
                &["kind", "outcome"],
            ),
            job_duration: r.histogram_vec(
                "platter_job_duration_seconds",
                "Time from a job's start to its end, by kind.",
                &["kind"],
                LATENCY_BUCKETS,
            ),
            job_retries: r.counter_vec(
                "platter_job_retries_total",
                "Unfinished jobs re-driven after a restart, by kind.",
                &["kind"],
            ),
            jobs_running: r.gauge("platter_jobs_running", "Jobs running now."),
        }
    })
}

/// Counts a failed authentication (the API counts token and AK/SK
/// failures here too, so the family is defined once).
pub fn auth_failure(method: &str, reason: &str) {
    m().auth_failures.inc(&[method, reason]);
}

pub(crate) fn auth_refused(reason: &str) {
    m().auth_refused.inc(&[reason]);
}

pub(crate) fn auth_lockout() {
    m().lockouts.inc(&[]);
}

pub(crate) fn job_started() {
    m().jobs_running.add(1.0);
}

pub(crate) fn job_finished(kind: &str, outcome: &str, seconds: f64) {
    let m = m();
    m.jobs_running.add(-1.0);
    m.jobs.inc(&[kind, outcome]);
    m.job_duration.observe(&[kind], seconds);
}

pub(crate) fn job_retried(kind: &str) {
    m().job_retries.inc(&[kind]);
}
