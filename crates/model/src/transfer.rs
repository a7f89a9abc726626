//! Volume transfers: a volume offered by its project to whichever project
//! presents the transfer's secret key.

use serde::{Deserialize, Serialize};

use crate::{ProjectId, Timestamp, TransferId, VolumeId};

/// An offer to move a volume (and, unless `no_snapshots`, its snapshots) to
/// another project. While it exists the volume is `awaiting-transfer`; the
/// secret that accepts it is never stored, only its salted hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub id: TransferId,
    pub volume_id: VolumeId,
    /// The project offering the volume.
    pub source_project_id: ProjectId,
    pub name: Option<String>,
    /// The snapshots stay with the source project (Cinder 3.55).
    pub no_snapshots: bool,
    pub created_at: Timestamp,
}
