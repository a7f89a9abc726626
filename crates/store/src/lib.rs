//! Platter's metadata store.
//!
//! The service holds a [`Store`]: a cheap-to-clone handle over any type that
//! implements the repository traits of [`repo`] (one per aggregate:
//! [`VolumeRepo`], [`SnapshotRepo`], [`AttachmentRepo`], [`JobRepo`],
//! [`IdentityRepo`], [`CredentialRepo`], [`QuotaRepo`], [`OrderRepo`],
//! [`TypeRepo`], [`TransferRepo`], [`GroupRepo`]). `Store` has one inherent
//! method per trait method, so callers need no trait in scope. The SQLite
//! implementation (in `src/sqlite/`) is the only code that knows SQL; it is
//! what [`Store::open`] opens.

pub mod repo;
mod sqlite;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use platter_model::DomainResult;

pub use platter_model::{Page, SortDir, SortKey};
pub use repo::{
    AttachmentQuery, AttachmentRepo, BackupRepo, CredentialRepo, ExtendTarget, FlavorEnd,
    GroupChange, GroupQuery, GroupRepo, GroupSnapshotQuery, GroupTypeQuery, HtaiyunRepo, IamRepo,
    IdempotencyClaim, IdentityRepo, ImageData, ImageRepo, ImageUpdate, JobRepo, Lifecycle,
    ManageRepo, MessageRepo, NewAttachment, NewGroup, NewGroupSnapshot, NewServer, NewSnapshot,
    NewVolume, OrderRepo, QuotaDefaults, QuotaRepo, ReplicaRepo, Repos, ServerEnd, ServerGate,
    ServerRepo, ServiceRepo, SnapshotQuery, SnapshotRepo, StoredTransfer, TrackedDevice,
    TransferRepo, TransferTaker, TypeRepo, UserVolumeQuery, VolumeQuery, VolumeRepo, VolumeUpdate,
};
pub use sqlite::LOG_DIRECTIVES;

/// Row types of the identity tables.
pub mod identity_types {
    pub use crate::repo::{NameFilter, TokenRow};
}

/// The handle the service holds on its store.
#[derive(Clone)]
pub struct Store {
    repos: Arc<dyn Repos>,
    /// Repository calls made through this handle (and its clones).
    calls: Arc<AtomicU64>,
}

/// How much a store has been asked so far: what the budget tests count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    /// Repository calls: each is one read or one transaction.
    pub calls: u64,
    /// Write transactions begun.
    pub write_transactions: u64,
}

impl Store {
    /// A handle on any implementation of the repository traits.
    pub fn new(repos: Arc<dyn Repos>) -> Store {
        Store {
            repos,
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            calls: self.calls.load(Ordering::Relaxed),
            write_transactions: self.repos.write_transactions(),
        }
    }

    fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Opens (creating if needed) the SQLite database file and applies
    /// migrations.
    pub async fn open(path: &Path) -> DomainResult<Store> {
        Ok(Store::new(sqlite::open(path).await?))
    }

    pub async fn close(&self) {
        self.repos.close().await;
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("platter.db")).await.unwrap();
        (dir, store)
    }
}
