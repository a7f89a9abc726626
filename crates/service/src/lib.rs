//! Platter's domain operations.
//!
//! [`Platter`] is the service every API family calls: it validates, changes
//! status by compare-and-swap, counts quota and records durable jobs through
//! the store, and runs those jobs against the storage backend. It speaks only
//! the domain model; wire formats live in the api crate.

mod attachments;
mod authz;
mod backups;
mod config;
mod credentials;
mod evs;
mod groups;
mod health;
mod hosts;
mod htaiyun;
mod iam;
mod identity;
mod images;
mod jobs;
mod manage;
mod messages;
mod metrics;
mod migration;
mod password;
mod qos_specs;
mod quotas;
mod replication;
mod scheduler;
mod servers;
mod snapshots;
mod transfers;
mod type_access;
mod volumes;

use std::sync::Arc;

use platter_backend::StorageBackend;
use platter_model::{Action, AuthContext, DomainError, DomainResult, ProjectId, Volume};
use platter_store::Store;

pub use attachments::{AttachmentListRequest, Connection, ConnectionInfo};
pub use authz::{Authorizer, DenyList, IamAuthorizer};
pub use backups::{BackupCreate, BackupRecord, BackupUpdate, RestoreStarted};
pub use config::{FaultInjection, ServiceConfig};
pub use credentials::{CredentialCaller, MAX_CREDENTIALS_PER_USER};
pub use evs::{
    retype_allowed, CreateOutcome, JobView, Prepaid, UnsubscribeResult, IDEMPOTENCY_TTL_SECS,
    MAX_CREATE_COUNT, MAX_TAGS,
};
pub use groups::{
    GroupCreate, GroupFromSource, GroupListRequest, GroupSnapshotCreate, GroupSnapshotListRequest,
    GroupTypeFields,
};
pub use health::{Health, PoolHealth};
pub use hosts::{HostService, HostUsage, ServiceChange, ServiceEntry};
pub use htaiyun::{UserVolumeCreate, UserVolumeList, UserVolumePage, UserVolumeView};
pub use iam::{valid_enterprise_project, GroupFields, PolicyFields};
pub use metrics::auth_failure as record_auth_failure;
pub use password::AuthLimits;
pub use platter_backend::{DataPath, DataPathEndpoint, ExportSpec, Qos};
pub use platter_store::IdempotencyClaim;
/// Field sets of identity administration requests.
pub mod identity_fields {
    pub use crate::identity::{ProjectFields, UserFields};
}
pub use identity::{
    AuthRequest, DomainRef, IssuedToken, ProjectScope, UserRef, ADMIN_ROLE, MEMBER_ROLE,
    READER_ROLE,
};
pub use images::{ImageCreate, ImageUpload, VolumeToImage};
pub use manage::{ManageableDevice, SnapshotManage, VolumeManage};
pub use messages::MESSAGE_TTL_SECS;
pub use platter_backend::{BackendPool, BackendRegistry, Capabilities, PoolStats};
pub use platter_store::TrackedDevice;
pub use platter_store::{
    GroupChange, ImageUpdate, Page, QuotaDefaults, SortDir, SortKey, VolumeUpdate,
};
pub use qos_specs::QosSpecsChange;
pub use quotas::{Limits, QuotaSetView};
pub use scheduler::{STORAGE_PROTOCOL, VENDOR_NAME};
pub use servers::{
    default_flavors, BlockDevice, ComputeLimits, DiskSource, ServerCreate, ServerListRequest,
    ServersCreated, MAX_SERVER_COUNT,
};
pub use snapshots::{SnapshotCreate, SnapshotListRequest};
pub use transfers::{CreatedTransfer, TransferCreate, TRANSFER_KEY_LEN};
pub use type_access::EncryptionFields;
pub use volumes::{
    check_qos_fields, CreateRules, TypeFields, VolumeCreate, VolumeListRequest, VolumeSummary,
};

/// The service. Cheap to clone: all state is shared.
#[derive(Clone)]
pub struct Platter {
    inner: Arc<Inner>,
}

/// One pool as the capacity views show it.
#[derive(Debug, Clone)]
pub struct PoolReport {
    /// The pool's name.
    pub name: String,
    /// `platter@<backend>#<pool>`.
    pub host: String,
    /// The backend's name (`engine`, `sparse-file`).
    pub backend: &'static str,
    /// The `volume_backend_name`s that place volumes in the pool.
    pub volume_backend_names: Vec<String>,
    pub capabilities: Capabilities,
    pub stats: PoolStats,
    /// The other pools, which can hold replicas of this pool's volumes
    /// (their `platter@<backend>#<pool>` hosts).
    pub replication_targets: Vec<String>,
}

struct Inner {
    store: Store,
    pools: Arc<BackendRegistry>,
    config: ServiceConfig,
    jobs: jobs::JobQueue,
    datapath: std::sync::OnceLock<Arc<dyn DataPath>>,
    /// What runs servers' guests (none: servers cannot be created).
    compute: std::sync::OnceLock<Arc<dyn platter_compute::ComputeDriver>>,
    authorizer: Arc<dyn Authorizer>,
    /// The IAM generation whose policies the authorizer holds.
    iam_loaded: std::sync::atomic::AtomicI64,
    /// The default quota class: the configured defaults, overridden by
    /// what admins set with `os-quota-class-sets/default`.
    quota_defaults: std::sync::RwLock<QuotaDefaults>,
    /// When this process started (the services' `updated_at` until an
    /// operator changes them).
    started_at: platter_model::Timestamp,
    /// The backup repository, opened at first use and shared, so its
    /// garbage collection and its writers exclude each other.
    backup_repo: std::sync::Mutex<Option<Arc<platter_backup::Repository>>>,
    /// Password hashing, lockouts and the per-source failure budget.
    passwords: password::PasswordGuard,
}

impl Platter {
    /// Builds the service over one backend (a single pool) and starts its
    /// job runner. Call [`Platter::recover`] once after start to re-drive
    /// jobs a previous process left unfinished.
    pub fn new(store: Store, backend: Arc<dyn StorageBackend>, config: ServiceConfig) -> Platter {
        Platter::with_pools(store, Arc::new(BackendRegistry::single(backend)), config)
    }

    /// Builds the service over several pools, the first the default.
    pub fn with_pools(store: Store, pools: Arc<BackendRegistry>, config: ServiceConfig) -> Platter {
        let (queue, receiver) = jobs::JobQueue::new();
        let quota_defaults = std::sync::RwLock::new(config.quota_defaults.clone());
        let roles: Arc<dyn Authorizer> = Arc::new(IamAuthorizer::default());
        let authorizer: Arc<dyn Authorizer> = if config.faults.deny_actions.is_empty() {
            roles
        } else {
            Arc::new(DenyList {
                denied: config.faults.deny_actions.iter().copied().collect(),
                inner: roles,
            })
        };
        let platter = Platter {
            inner: Arc::new(Inner {
                store,
                pools,
                jobs: queue,
                datapath: std::sync::OnceLock::new(),
                compute: std::sync::OnceLock::new(),
                authorizer,
                iam_loaded: std::sync::atomic::AtomicI64::new(-1),
                quota_defaults,
                started_at: platter_model::Timestamp::now(),
                backup_repo: std::sync::Mutex::new(None),
                passwords: password::PasswordGuard::new(config.auth_limits.clone()),
                config,
            }),
        };
        jobs::spawn_runner(platter.clone(), receiver);
        platter
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The backend of the default pool.
    pub fn backend(&self) -> &Arc<dyn StorageBackend> {
        &self.inner.pools.default_pool().backend
    }

    /// Where uploads are staged.
    pub(crate) fn scratch_dir(&self) -> std::path::PathBuf {
        self.config()
            .scratch_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir)
    }

    pub fn pools(&self) -> &Arc<BackendRegistry> {
        &self.inner.pools
    }

    /// The backend of a pool, or an error if the pool is not configured.
    pub(crate) fn backend_of(&self, pool: &str) -> DomainResult<Arc<dyn StorageBackend>> {
        self.inner
            .pools
            .backend(pool)
            .map_err(|e| DomainError::Backend(e.to_string()))
    }

    /// Cinder's `os-vol-host-attr:host` of a volume: `platter@<backend>#<pool>`.
    pub fn volume_host(&self, v: &Volume) -> String {
        match self.inner.pools.get(&v.pool) {
            Some(p) => p.host(),
            None => format!("{}@unknown#{}", platter_backend::HOST, v.pool),
        }
    }

    /// Checks that every pool volumes are recorded in is configured: a
    /// server must not start without the data of its volumes.
    pub async fn check_pools(&self) -> DomainResult<()> {
        for (pool, count) in self.store().volume_pools().await? {
            if self.inner.pools.get(&pool).is_none() {
                return Err(DomainError::invalid(format!(
                    "{count} volumes are recorded in pool '{pool}', which is not configured; \
                     configure a pool of that name (the pool of a server without [[pools]] \
                     is named '{}' and lives in <data-dir>/pool, or <data-dir>/sparse for sparse-file)",
                    platter_backend::DEFAULT_POOL
                )));
            }
        }
        Ok(())
    }

    /// When this process started.
    pub fn started_at(&self) -> platter_model::Timestamp {
        self.inner.started_at
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    /// Connects the data path (once); exports are published to it from now on.
    pub fn set_datapath(&self, datapath: Arc<dyn DataPath>) {
        let _ = self.inner.datapath.set(datapath);
    }

    /// Admin: capacity, allocation and capabilities of every storage pool.
    pub async fn pool_stats(&self, ctx: &AuthContext) -> DomainResult<Vec<PoolReport>> {
        self.authorize(ctx, Action::PoolsGet)?;
        let mut reports = Vec::new();
        for pool in self.inner.pools.iter() {
            let backend = pool.backend.clone();
            let stats = tokio::task::spawn_blocking(move || backend.pool_stats())
                .await
                .map_err(|e| DomainError::Internal(e.to_string()))?
                .map_err(|e| DomainError::Backend(e.to_string()))?;
            reports.push(PoolReport {
                name: pool.name.clone(),
                host: pool.host(),
                backend: pool.backend.name(),
                volume_backend_names: pool.volume_backend_names.clone(),
                capabilities: pool.backend.capabilities(),
                stats,
                replication_targets: self
                    .pools()
                    .iter()
                    .filter(|p| p.name != pool.name)
                    .map(|p| p.host())
                    .collect(),
            });
        }
        Ok(reports)
    }
}

/// Whether the caller may see a resource of `project_id`: its own project's,
/// or any if admin. Others' resources are reported as not found, never as
/// forbidden, so ids do not leak.
fn visible(ctx: &AuthContext, project_id: &ProjectId) -> bool {
    ctx.project_id == *project_id || ctx.is_admin()
}
