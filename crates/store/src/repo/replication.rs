//! Replicated volumes: promoting a replica and making it again.

use platter_model::{DomainResult, Job, JobId, ReplicationStatus, Volume, VolumeId, VolumeStatus};

repository! {
    /// Replicated volumes (Cinder's replication v1).
    pub trait ReplicaRepo {
        /// Makes an `available`, detached volume's in-sync (`active`)
        /// replica its primary, in one transaction: the volume's pool and
        /// its replica's swap and `replication_status` becomes inactive
        /// (the old primary is kept, stale). Refused for a volume with
        /// snapshots (they live in the primary's pool). Returns the volume.
        async fn volume_promote_replica(&self, id: &VolumeId) -> DomainResult<Volume>;
        /// Starts making an `available` volume's replica again: its
        /// `replication_status` must be inactive or error; the volume goes
        /// to `maintenance`, replication to copying, and the job is
        /// recorded. Returns the status to restore.
        async fn volume_begin_reenable_replica(&self, id: &VolumeId, job: &Job) -> DomainResult<VolumeStatus>;
        /// Ends a re-enable: replication active (or error), the volume back
        /// from `maintenance` to `restore`, and the job's end.
        async fn volume_finish_reenable_replica(
            &self,
            id: &VolumeId,
            job_id: &JobId,
            restore: VolumeStatus,
            error: Option<&str>,
        ) -> DomainResult<()>;
        /// Sets a volume's `replication_status` to `to` if it is one of
        /// `from`; whether it did.
        async fn volume_cas_replication(
            &self,
            id: &VolumeId,
            from: &[ReplicationStatus],
            to: ReplicationStatus,
        ) -> DomainResult<bool>;
    }
}
