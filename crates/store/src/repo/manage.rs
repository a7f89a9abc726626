//! Unmanaging and managing: rows that leave Platter while their devices
//! stay in the pool, and new rows that adopt devices already there.

use std::collections::BTreeMap;

use platter_model::{DomainResult, Job, Snapshot, SnapshotId, Volume, VolumeId};

use super::{NewSnapshot, NewVolume, QuotaDefaults};

/// What Platter knows a device of a pool by, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedDevice {
    /// The volume's (or snapshot's) id Platter knows the device by: the
    /// device's own id for a row of that id, or the new id an unfinished
    /// manage job is adopting it under.
    pub cinder_id: String,
    /// A manage job is adopting the device (else a row of its id owns it).
    pub adopting: bool,
    /// For a snapshot device: the volume it is (or is becoming) a snapshot of.
    pub volume_id: Option<VolumeId>,
}

repository! {
    /// Unmanaging and managing volumes and snapshots.
    pub trait ManageRepo {
        /// Removes a volume's row, with its metadata and tags, in one
        /// transaction; its device is not touched. The volume must be
        /// `available` or `error`, have no attachments and no snapshots,
        /// not be the source of a volume being created, and have no job at
        /// work on it. Returns the row as it was.
        async fn volume_unmanage(&self, id: &VolumeId) -> DomainResult<Volume>;
        /// Removes a snapshot's row (and metadata, tags) in one transaction;
        /// its device is not touched. The snapshot must be `available` or
        /// `error`, not the source of a volume being created, and have no
        /// job at work on it.
        async fn snapshot_unmanage(&self, id: &SnapshotId) -> DomainResult<Snapshot>;
        /// Records a volume adopting the existing device `source`: the row
        /// (`creating`), its metadata and its manage job, quota counted, in
        /// one transaction. Refused when a volume of id `source` exists (the
        /// device is Platter's) or an unfinished manage job adopts `source`.
        async fn volume_manage(
            &self,
            v: &NewVolume,
            source: &VolumeId,
            job: &Job,
            quota: &QuotaDefaults,
        ) -> DomainResult<Volume>;
        /// Records a snapshot of `s.volume_id` adopting the existing snapshot
        /// device `source`, `size` GiB: row (`creating`), metadata and job,
        /// quota counted, in one transaction. The volume must be `available`
        /// or `in-use`; refused when a snapshot of id `source` exists or an
        /// unfinished manage job adopts it.
        async fn snapshot_manage(
            &self,
            s: &NewSnapshot,
            size: i64,
            source: &SnapshotId,
            job: &Job,
            quota: &QuotaDefaults,
        ) -> DomainResult<Snapshot>;
        /// Of the volume device ids given, those Platter tracks, by id.
        async fn volume_devices_tracked(
            &self,
            ids: &[String],
        ) -> DomainResult<BTreeMap<String, TrackedDevice>>;
        /// Of the snapshot device ids given, those Platter tracks, by id.
        async fn snapshot_devices_tracked(
            &self,
            ids: &[String],
        ) -> DomainResult<BTreeMap<String, TrackedDevice>>;
    }
}
