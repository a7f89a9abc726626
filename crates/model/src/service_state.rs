//! What an operator set on one of Platter's services (Cinder's
//! `os-services`): enabled or not, and why.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// The recorded state of one service (`binary`) on one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    /// `platter` for the scheduler, `platter@<backend>` for a volume service.
    pub host: String,
    /// `cinder-scheduler` or `cinder-volume`.
    pub binary: String,
    /// A disabled volume service gets no new volumes.
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    /// Frozen (Cinder's replication freeze): no management operations.
    pub frozen: bool,
    pub updated_at: Timestamp,
}
