use std::time::Duration;

use platter_model::{Action, JobKind};
use platter_store::QuotaDefaults;

/// Settings of the domain service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Availability zones volumes may be created in; the first is the default.
    pub availability_zones: Vec<String>,
    /// Name of the volume type used when a create names none.
    pub default_volume_type: String,
    pub quota_defaults: QuotaDefaults,
    pub token_ttl: Duration,
    /// Largest volume, GiB (EVS data disks: 32768).
    pub max_volume_size_gib: i64,
    /// How many jobs run at once.
    pub job_concurrency: usize,
    pub faults: FaultInjection,
    /// Where clients reach the NBD server (for `connection_info`).
    pub data_path: platter_backend::DataPathEndpoint,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            availability_zones: vec!["nova".to_string()],
            default_volume_type: "SAS".to_string(),
            quota_defaults: QuotaDefaults::default(),
            token_ttl: Duration::from_secs(24 * 3600),
            max_volume_size_gib: 32768,
            job_concurrency: 8,
            faults: FaultInjection::default(),
            data_path: platter_backend::DataPathEndpoint::default(),
        }
    }
}

/// Test hooks, off by default: slow every job down, make chosen job kinds
/// fail in their backend step, or deny chosen actions, to exercise crash
/// recovery, error paths and authorization.
#[derive(Debug, Clone, Default)]
pub struct FaultInjection {
    pub job_delay: Duration,
    pub fail_jobs: Vec<JobKind>,
    /// Actions the authorizer refuses to everyone.
    pub deny_actions: Vec<Action>,
}
