//! Platter's metadata store.
//!
//! SQLite in WAL mode, with two pools: a single-connection *writer* through
//! which every mutating transaction runs (`BEGIN IMMEDIATE`), and a pool of
//! readers. Serialising writers is what makes the patterns of the design
//! brief hold on SQLite: status changes are compare-and-swap updates, and
//! quota usage is counted from the rows inside the transaction that creates
//! the resource, so concurrent creates can never overshoot a quota.

mod attachments;
mod credentials;
mod identity;
/// Row types of the identity tables.
pub mod identity_types {
    pub use crate::identity::{NameFilter, TokenRow};
}
mod jobs;
mod metadata;
mod orders;
mod page;
mod quotas;
mod snapshots;
mod types;
mod volume_rows;
mod volumes;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use platter_model::{DomainError, DomainResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub use attachments::{AttachmentQuery, NewAttachment};
pub use orders::IdempotencyClaim;
pub use page::{Page, SortDir, SortKey};
pub use quotas::QuotaDefaults;
pub use snapshots::{NewSnapshot, SnapshotQuery};
pub use volumes::{ExtendTarget, NewVolume, VolumeQuery, VolumeUpdate};

#[derive(Clone)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
}

pub(crate) type Tx = Transaction<'static, Sqlite>;

/// Maps a database error to the domain: uniqueness violations are conflicts,
/// everything else is internal.
pub(crate) fn db_err(e: sqlx::Error) -> DomainError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return DomainError::Conflict(format!("duplicate entry: {}", db.message()));
        }
    }
    tracing::error!(error = %e, "database error");
    DomainError::Internal(format!("database error: {e}"))
}

pub(crate) fn parse_enum<T: FromStr<Err = String>>(s: &str) -> DomainResult<T> {
    s.parse().map_err(DomainError::Internal)
}

impl Store {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> DomainResult<Store> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(opts.clone())
            .await
            .map_err(db_err)?;
        sqlx::migrate!()
            .run(&write)
            .await
            .map_err(|e| DomainError::Internal(format!("migrating the database: {e}")))?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(opts)
            .await
            .map_err(db_err)?;
        Ok(Store { read, write })
    }

    /// A serialised write transaction.
    pub(crate) async fn begin(&self) -> DomainResult<Tx> {
        self.write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
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
