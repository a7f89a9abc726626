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
    /// Name (or id) of the group type `GET /group_types/default` shows;
    /// `None`: there is no default group type (404, as upstream).
    pub default_group_type: Option<String>,
    pub quota_defaults: QuotaDefaults,
    pub token_ttl: Duration,
    /// Largest volume, GiB (EVS data disks: 32768).
    pub max_volume_size_gib: i64,
    /// How many jobs run at once.
    pub job_concurrency: usize,
    pub faults: FaultInjection,
    /// Where clients reach the NBD server (for `connection_info`).
    pub data_path: platter_backend::DataPathEndpoint,
    /// Where uploads are staged before they go into a pool (the data
    /// directory's `tmp`); `None`: the system's temporary directory.
    pub scratch_dir: Option<std::path::PathBuf>,
    /// The backup repository's directory (the data directory's
    /// `backups`); `None`: `platter-backups` in the system's temporary
    /// directory.
    pub backup_dir: Option<std::path::PathBuf>,
    /// The flavors servers may have.
    pub flavors: Vec<platter_model::Flavor>,
    /// This node's name as a compute host (attachments' `host`, servers'
    /// `OS-EXT-SRV-ATTR:host`).
    pub compute_host: String,
    /// Password authentication's limits (lockout, per-source budget,
    /// hashing threads and queue).
    pub auth_limits: crate::password::AuthLimits,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            availability_zones: vec!["nova".to_string()],
            default_volume_type: "SAS".to_string(),
            default_group_type: None,
            quota_defaults: QuotaDefaults::default(),
            token_ttl: Duration::from_secs(24 * 3600),
            max_volume_size_gib: 32768,
            job_concurrency: 8,
            faults: FaultInjection::default(),
            data_path: platter_backend::DataPathEndpoint::default(),
            scratch_dir: None,
            backup_dir: None,
            flavors: crate::servers::default_flavors(),
            compute_host: "platter".to_string(),
            auth_limits: crate::password::AuthLimits::default(),
        }
    }
}

/// Test hooks, off by default: slow every job down, make chosen job kinds
/// fail, stop or repeat at chosen steps, or deny chosen actions, to exercise
/// crash recovery, error paths, idempotency and authorization.
#[derive(Debug, Clone, Default)]
pub struct FaultInjection {
    pub job_delay: Duration,
    /// Kinds whose jobs fail at the first step they run, before its work.
    pub fail_jobs: Vec<JobKind>,
    /// A job of this kind fails at this step index (0-based, in
    /// [`JobKind::steps`]) before doing its work: a failure after the
    /// steps before it.
    pub fail_before_step: Option<(JobKind, usize)>,
    /// A job of this kind stops, as if the process died, before this step:
    /// it stays RUNNING at that index for [`crate::Platter::recover`].
    pub crash_before_step: Option<(JobKind, usize)>,
    /// Every step runs twice in a row (steps must be idempotent).
    pub repeat_steps: bool,
    /// Actions the authorizer refuses to everyone.
    pub deny_actions: Vec<Action>,
}
