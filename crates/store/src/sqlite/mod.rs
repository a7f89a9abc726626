//! The SQLite store: the reference implementation of the repository
//! traits, and the only place that knows SQL or `sqlx`.
//!
//! SQLite in WAL mode, with two pools: a single-connection *writer* through
//! which every mutating transaction runs (`BEGIN IMMEDIATE`), and a pool of
//! readers. Serialising writers is what makes the patterns of the design
//! brief hold on SQLite: status changes are compare-and-swap updates, and
//! quota usage is counted from the rows inside the transaction that creates
//! the resource. Each quota-checking transaction also takes its project's
//! row in `quota_locks` first (see `quotas::check`): on SQLite that is
//! redundant with the single writer, but it is what keeps quotas exact on a
//! database with concurrent writers, and the SQL here is meant to be carried
//! over.
//!
//! Dialect: the statements stick to SQL that SQLite (3.24 or later) and
//! PostgreSQL both accept (`INSERT ... ON CONFLICT ... DO NOTHING`, `LIKE
//! ... ESCAPE`, explicit ordering columns, no implicit row ids); the SQLite-only
//! parts are here in this file: the connection options (WAL, foreign keys,
//! case-sensitive `LIKE`) and the `BEGIN IMMEDIATE` of [`SqliteStore::begin`].
//! The migrations are SQLite DDL.

mod attachments;
mod backup_rows;
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
mod metadata;
mod orders;
mod page;
mod qos_specs;
mod quotas;
mod replication;
mod servers;
mod services;
mod snapshots;
mod transfers;
mod types;
mod volume_rows;
mod volumes;

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use platter_model::{DomainError, DomainResult, Timestamp};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::repo::{Lifecycle, Repos};

/// Log filter directives that keep this store's database driver quiet
/// (`tracing_subscriber::EnvFilter` syntax).
pub const LOG_DIRECTIVES: &str = "sqlx=warn";

/// Opens (creating if needed) the database file and applies migrations.
pub(crate) async fn open(path: &Path) -> DomainResult<Arc<dyn Repos>> {
    Ok(Arc::new(SqliteStore::open(path).await?))
}

/// The SQLite implementation of every repository trait.
#[derive(Clone)]
pub(crate) struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// Write transactions begun (for the budget tests).
    write_transactions: Arc<AtomicU64>,
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

/// The current time as stored: the fixed-width text of [`Timestamp`].
pub(crate) fn now_text() -> String {
    Timestamp::now().to_string()
}

/// An optional timestamp as stored.
pub(crate) fn ts_text(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}

/// An optional typed id (or other text) as bound.
pub(crate) fn opt_str<T: AsRef<str>>(x: &Option<T>) -> Option<&str> {
    x.as_ref().map(AsRef::as_ref)
}

/// Typed reads of a row's columns: timestamps are stored as their text
/// (parsed back, a malformed one is an internal error rather than a wrong
/// answer); typed ids (`platter_model::VolumeId`, ...) as theirs.
pub(crate) trait RowExt {
    fn ts(&self, col: &str) -> DomainResult<Timestamp>;
    fn ts_opt(&self, col: &str) -> DomainResult<Option<Timestamp>>;
    fn id<T: From<String>>(&self, col: &str) -> T;
    fn id_opt<T: From<String>>(&self, col: &str) -> Option<T>;
}

impl RowExt for SqliteRow {
    fn ts(&self, col: &str) -> DomainResult<Timestamp> {
        parse_ts(col, &self.get::<String, _>(col))
    }

    fn ts_opt(&self, col: &str) -> DomainResult<Option<Timestamp>> {
        self.get::<Option<String>, _>(col)
            .map(|s| parse_ts(col, &s))
            .transpose()
    }

    fn id<T: From<String>>(&self, col: &str) -> T {
        T::from(self.get::<String, _>(col))
    }

    fn id_opt<T: From<String>>(&self, col: &str) -> Option<T> {
        self.get::<Option<String>, _>(col).map(T::from)
    }
}

fn parse_ts(col: &str, s: &str) -> DomainResult<Timestamp> {
    Timestamp::parse(s)
        .ok_or_else(|| DomainError::Internal(format!("{col} is not a timestamp: {s:?}")))
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    async fn open(path: &Path) -> DomainResult<SqliteStore> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            // `LIKE` is case-sensitive, as in PostgreSQL and the SQL
            // standard (SQLite's default folds ASCII case).
            .pragma("case_sensitive_like", "ON");
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
        Ok(SqliteStore {
            read,
            write,
            write_transactions: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A serialised write transaction. `BEGIN IMMEDIATE` takes SQLite's
    /// write lock up front, so a transaction never has to upgrade a read
    /// lock (and fail with `SQLITE_BUSY`) halfway through.
    pub(crate) async fn begin(&self) -> DomainResult<Tx> {
        self.write_transactions.fetch_add(1, Ordering::Relaxed);
        self.write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }
}

#[async_trait]
impl Lifecycle for SqliteStore {
    async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    fn write_transactions(&self) -> u64 {
        self.write_transactions.load(Ordering::Relaxed)
    }
}
