//! Platter's domain operations.
//!
//! [`Platter`] is the service every API family calls: it validates, changes
//! status by compare-and-swap, counts quota and records durable jobs through
//! the store, and runs those jobs against the storage backend. It speaks only
//! the domain model; wire formats live in the api crate.

mod attachments;
mod authz;
mod config;
mod credentials;
mod evs;
mod identity;
mod jobs;
mod quotas;
mod snapshots;
mod volumes;

use std::sync::Arc;

use platter_backend::StorageBackend;
use platter_model::{Action, AuthContext, DomainError, DomainResult};
use platter_store::Store;

pub use attachments::{AttachmentListRequest, ConnectionInfo};
pub use authz::{Authorizer, DenyList, RoleAuthorizer};
pub use config::{FaultInjection, ServiceConfig};
pub use credentials::{CredentialCaller, MAX_CREDENTIALS_PER_USER};
pub use evs::{
    retype_allowed, CreateOutcome, JobView, Prepaid, UnsubscribeResult, IDEMPOTENCY_TTL_SECS,
    MAX_CREATE_COUNT, MAX_TAGS,
};
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
pub use platter_backend::PoolStats;
pub use platter_store::{Page, QuotaDefaults, SortDir, SortKey, VolumeUpdate};
pub use quotas::{Limits, QuotaSetView};
pub use snapshots::{SnapshotCreate, SnapshotListRequest};
pub use volumes::{check_qos_fields, VolumeCreate, VolumeListRequest};

/// The service. Cheap to clone: all state is shared.
#[derive(Clone)]
pub struct Platter {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    backend: Arc<dyn StorageBackend>,
    config: ServiceConfig,
    jobs: jobs::JobQueue,
    datapath: std::sync::OnceLock<Arc<dyn DataPath>>,
    authorizer: Arc<dyn Authorizer>,
}

impl Platter {
    /// Builds the service and starts its job runner. Call [`Platter::recover`]
    /// once after start to re-drive jobs a previous process left unfinished.
    pub fn new(store: Store, backend: Arc<dyn StorageBackend>, config: ServiceConfig) -> Platter {
        let (queue, receiver) = jobs::JobQueue::new();
        let roles: Arc<dyn Authorizer> = Arc::new(RoleAuthorizer);
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
                backend,
                config,
                jobs: queue,
                datapath: std::sync::OnceLock::new(),
                authorizer,
            }),
        };
        jobs::spawn_runner(platter.clone(), receiver);
        platter
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn backend(&self) -> &Arc<dyn StorageBackend> {
        &self.inner.backend
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    /// Connects the data path (once); exports are published to it from now on.
    pub fn set_datapath(&self, datapath: Arc<dyn DataPath>) {
        let _ = self.inner.datapath.set(datapath);
    }

    /// Admin: capacity and allocation of the storage pool.
    pub async fn pool_stats(
        &self,
        ctx: &AuthContext,
    ) -> DomainResult<(String, platter_backend::PoolStats)> {
        self.authorize(ctx, Action::PoolsGet)?;
        let backend = self.backend().clone();
        let name = backend.name().to_string();
        let stats = tokio::task::spawn_blocking(move || backend.pool_stats())
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))?
            .map_err(|e| DomainError::Backend(e.to_string()))?;
        Ok((name, stats))
    }
}

/// Whether the caller may see a resource of `project_id`: its own project's,
/// or any if admin. Others' resources are reported as not found, never as
/// forbidden, so ids do not leak.
fn visible(ctx: &AuthContext, project_id: &str) -> bool {
    ctx.project_id == project_id || ctx.is_admin()
}
