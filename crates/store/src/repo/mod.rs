//! The repository traits: what the service asks of a store, one trait per
//! aggregate, with the types their methods take.
//!
//! Nothing here knows SQL. A store is any type implementing every trait
//! (together: [`Repos`]); the SQLite module (`crate::sqlite`) is the
//! reference implementation, and [`crate::Store`] is the handle the service
//! holds: a cheap clone of an `Arc<dyn Repos>` with one inherent method per
//! trait method, so callers need no trait in scope.
//!
//! Contracts every implementation keeps (the service relies on them):
//! - Every `*_create`, `*_begin_*` and `*_finish_*` method is one atomic
//!   transaction: status changes are compare-and-swap, and a job row is
//!   written with the change that starts it.
//! - Quota is counted from the rows inside the transaction that creates or
//!   grows the resource, after taking the project's quota lock (see
//!   `quota_locks` in the SQLite module), so concurrent requests can never
//!   overshoot a limit, whatever the database's concurrency model.
//! - Timestamps are `platter_model::Timestamp`s, stored as their
//!   fixed-width UTC text (`2019-06-18T12:47:33.700070`); that text compares
//!   correctly as a string, and stores compare it as a string.

/// Declares a repository trait (boxed-future async methods, so it stays
/// object safe) and, for each of its methods, an inherent method of the same
/// name and signature on [`crate::Store`] that dispatches to the store's
/// implementation.
macro_rules! repository {
    (
        $(#[$tmeta:meta])*
        pub trait $Trait:ident {
            $(
                $(#[$meta:meta])*
                async fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
            )*
        }
    ) => {
        $(#[$tmeta])*
        #[async_trait::async_trait]
        pub trait $Trait: Send + Sync {
            $(
                $(#[$meta])*
                async fn $name(&self $(, $arg: $ty)*) -> $ret;
            )*
        }

        impl crate::Store {
            $(
                $(#[$meta])*
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    self.count_call();
                    $Trait::$name(&*self.repos, $($arg),*).await
                }
            )*
        }
    };
}

mod attachments;
mod backups;
mod credentials;
mod groups;
mod htaiyun;
mod iam;
mod identity;
mod images;
mod jobs;
mod manage;
mod messages;
mod orders;
mod qos_specs;
mod quotas;
mod replication;
mod servers;
mod services;
mod snapshots;
mod transfers;
mod types;
mod volumes;

pub use attachments::*;
pub use backups::*;
pub use credentials::*;
pub use groups::*;
pub use htaiyun::*;
pub use iam::*;
pub use identity::*;
pub use images::*;
pub use jobs::*;
pub use manage::*;
pub use messages::*;
pub use orders::*;
pub use qos_specs::*;
pub use quotas::*;
pub use replication::*;
pub use servers::*;
pub use services::*;
pub use snapshots::*;
pub use transfers::*;
pub use types::*;
pub use volumes::*;

/// Opening and closing a store.
#[async_trait::async_trait]
pub trait Lifecycle: Send + Sync {
    /// Closes the store's connections; the store is not used afterwards.
    async fn close(&self);
    /// Write transactions begun so far (0 if the store does not count).
    fn write_transactions(&self) -> u64 {
        0
    }
}

/// Everything a store implements: the handle [`crate::Store`] wraps.
pub trait Repos:
    VolumeRepo
    + SnapshotRepo
    + AttachmentRepo
    + JobRepo
    + IdentityRepo
    + IamRepo
    + HtaiyunRepo
    + CredentialRepo
    + QuotaRepo
    + OrderRepo
    + TypeRepo
    + TransferRepo
    + ServiceRepo
    + MessageRepo
    + QosSpecsRepo
    + GroupRepo
    + ManageRepo
    + ReplicaRepo
    + ImageRepo
    + BackupRepo
    + ServerRepo
    + Lifecycle
{
}

impl<T> Repos for T where
    T: VolumeRepo
        + SnapshotRepo
        + AttachmentRepo
        + JobRepo
        + IdentityRepo
        + IamRepo
        + HtaiyunRepo
        + CredentialRepo
        + QuotaRepo
        + OrderRepo
        + TypeRepo
        + TransferRepo
        + ServiceRepo
        + MessageRepo
        + QosSpecsRepo
        + GroupRepo
        + ManageRepo
        + ReplicaRepo
        + ImageRepo
        + BackupRepo
        + ServerRepo
        + Lifecycle
{
}
