//! The seam between the control plane and the data path: the service tells
//! the data path (the NBD server) which exports exist and what QoS they get.

/// Limits applied to a volume's exports; `None` is unlimited. The totals
/// count every request; the read and write limits count only requests of
/// their direction (trims and zeroing count as writes of no bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Qos {
    pub iops: Option<u64>,
    pub bytes_per_sec: Option<u64>,
    pub read_iops: Option<u64>,
    pub write_iops: Option<u64>,
    pub read_bytes_per_sec: Option<u64>,
    pub write_bytes_per_sec: Option<u64>,
}

/// Which way a request moves data, for [`Qos`]'s per-direction limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoDirection {
    Read,
    Write,
}

/// One export: an attachment's connection to a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSpec {
    /// Unguessable name clients connect with.
    pub name: String,
    pub volume_id: String,
    /// The pool holding the volume: its backend serves the export.
    pub pool: String,
    /// The pool holding the volume's in-sync replica, if any: every write
    /// goes to it too ([`crate::Mirror`]).
    pub replica_pool: Option<String>,
    pub read_only: bool,
}

/// Implemented by the data path. Calls never block for long and never fail:
/// the data path follows the control plane.
pub trait DataPath: Send + Sync + 'static {
    /// Serves `export` (replacing one of the same name) under `qos`.
    fn publish(&self, export: ExportSpec, qos: Qos);
    /// Stops serving an export and closes its connections.
    fn withdraw(&self, export_name: &str);
    /// Changes the QoS of every export of a volume, live.
    fn set_qos(&self, volume_id: &str, qos: Qos);
}

/// Where clients reach the data path, for `connection_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPathEndpoint {
    pub host: String,
    pub port: u16,
}

impl Default for DataPathEndpoint {
    fn default() -> Self {
        DataPathEndpoint {
            host: "127.0.0.1".into(),
            port: 10809,
        }
    }
}
