//! Cinder backups over the backup repository (`platter-backup`).
//!
//! A backup job snapshots the volume (`bk-<backup id>`, O(1) in the
//! engine), writes the snapshot's chunks and a manifest to the repository,
//! and keeps the snapshot as the base of the volume's next incremental
//! backup: an incremental one reads only the chunks the backend says
//! changed between the parent's snapshot and its own (the engine compares
//! its trees; a backend that cannot tell makes every chunk read). Deleting
//! a backup deletes its manifest, the chunks no other backup names, and
//! its snapshot.

use std::sync::Arc;

use platter_backend::StorageBackend;
use platter_backup::{Repository, CHUNK_SIZE};
use platter_model::{
    backup_snapshot_device, Action, AuthContext, Backup, BackupId, BackupJobParams, BackupStatus,
    DomainError, DomainResult, JobId, JobKind, JobParams, Timestamp, VolumeId,
};

use crate::volumes::new_job;
use crate::Platter;

/// A backup as a create asks for it.
#[derive(Debug, Clone, Default)]
pub struct BackupCreate {
    pub volume_id: VolumeId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub incremental: bool,
    pub force: bool,
}

/// Which chunks of a snapshot may differ from its parent's, from the
/// backend's changed byte ranges (`None`: all of them).
fn changed_chunks(ranges: Option<Vec<(u64, u64)>>, size: u64) -> Vec<bool> {
    let count = size.div_ceil(CHUNK_SIZE) as usize;
    let Some(ranges) = ranges else {
        return vec![true; count];
    };
    let mut out = vec![false; count];
    for (offset, len) in ranges {
        if len == 0 {
            continue;
        }
        let first = (offset / CHUNK_SIZE) as usize;
        let last = ((offset + len - 1) / CHUNK_SIZE) as usize;
        for c in out.iter_mut().take(last + 1).skip(first) {
            *c = true;
        }
    }
    out
}

/// Writes a backup of snapshot `bk-<id>` (incremental to `parent`) into
/// the repository; returns how many chunks it holds.
fn write_backup(
    repo: &Repository,
    backend: &dyn StorageBackend,
    id: &BackupId,
    parent: Option<&BackupId>,
) -> Result<i64, String> {
    let snap = backup_snapshot_device(id);
    let io = backend
        .open_snapshot(&snap)
        .map_err(|e| format!("opening the backup's snapshot: {e}"))?;
    let size = io.size().map_err(|e| e.to_string())?;
    let ranges = match parent {
        Some(p) => backend
            .changed_ranges(&backup_snapshot_device(p), &snap)
            .unwrap_or(None),
        None => None,
    };
    let changed = changed_chunks(ranges, size);
    let parent = parent.map(|p| p.to_string());
    repo.backup(id.as_str(), &*io, parent.as_deref(), &|i| {
        changed.get(i).copied().unwrap_or(true)
    })
    .map_err(|e| e.to_string())?;
    let m = repo.manifest(id.as_str()).map_err(|e| e.to_string())?;
    Ok(m.chunks.iter().flatten().count() as i64)
}

impl Platter {
    /// The backup repository.
    pub(crate) fn backup_repo(&self) -> Result<Repository, String> {
        let dir = self
            .config()
            .backup_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("platter-backups"));
        Repository::open_dir(&dir).map_err(|e| e.to_string())
    }

    /// Starts a backup of a volume (`available`, or `in-use` with
    /// `force`): full, or incremental to the volume's newest available
    /// backup.
    pub async fn backup_create(
        &self,
        ctx: &AuthContext,
        req: BackupCreate,
    ) -> DomainResult<(Backup, JobId)> {
        self.authorize(ctx, Action::BackupCreate)?;
        let v = self.volume_get(ctx, &req.volume_id).await?;
        let parent = if req.incremental {
            let newest = self
                .store()
                .backup_list(Some(&v.project_id))
                .await?
                .into_iter()
                .find(|b| b.volume_id == v.id && b.status == BackupStatus::Available);
            match newest {
                Some(b) => Some(b.id),
                None => {
                    return Err(DomainError::invalid(
                        "No backups available to do an incremental backup.",
                    ))
                }
            }
        } else {
            None
        };
        let backup = Backup {
            id: BackupId::new(),
            project_id: ctx.project_id.clone(),
            user_id: ctx.user_id.clone(),
            volume_id: v.id.clone(),
            name: req.name,
            description: req.description,
            status: BackupStatus::Creating,
            size: v.size,
            availability_zone: v.availability_zone.clone(),
            parent_id: parent.clone(),
            object_count: 0,
            fail_reason: None,
            created_at: Timestamp::now(),
            updated_at: None,
        };
        let job = new_job(
            JobKind::BackupCreate,
            &ctx.project_id,
            backup.id.as_str(),
            JobParams::BackupCreate(BackupJobParams {
                volume_id: v.id.clone(),
                pool: v.pool.clone(),
                parent_id: parent,
                restore: v.status,
            }),
        );
        self.store()
            .backup_begin_create(&backup, req.force, &job, &self.quota_defaults_now())
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        let backup = self
            .store()
            .backup_get(&backup.id)
            .await?
            .ok_or_else(|| DomainError::not_found("Backup", &backup.id))?;
        Ok((backup, job_id))
    }

    pub async fn backup_get(&self, ctx: &AuthContext, id: &BackupId) -> DomainResult<Backup> {
        self.authorize(ctx, Action::BackupGet)?;
        match self.store().backup_get(id).await? {
            Some(b) if crate::visible(ctx, &b.project_id) => Ok(b),
            _ => Err(DomainError::not_found("Backup", id)),
        }
    }

    /// The caller's project's backups (every project's for an admin
    /// asking `all_tenants`), newest first.
    pub async fn backup_list(
        &self,
        ctx: &AuthContext,
        all_tenants: bool,
    ) -> DomainResult<Vec<Backup>> {
        self.authorize(ctx, Action::BackupList)?;
        let scope = (!(all_tenants && ctx.is_admin())).then_some(&ctx.project_id);
        self.store().backup_list(scope).await
    }

    /// Whether an incremental backup builds on this one.
    pub async fn backup_has_dependents(&self, b: &Backup) -> DomainResult<bool> {
        Ok(self
            .store()
            .backup_list(Some(&b.project_id))
            .await?
            .iter()
            .any(|x| x.parent_id.as_ref() == Some(&b.id)))
    }

    pub async fn backup_delete(
        &self,
        ctx: &AuthContext,
        id: &BackupId,
        force: bool,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::BackupDelete)?;
        let b = self.backup_get(ctx, id).await?;
        let pool = match self.store().volume_get(&b.volume_id).await? {
            Some(v) => v.pool,
            None => self.pools().default_pool().name.clone(),
        };
        let job = new_job(
            JobKind::BackupDelete,
            &b.project_id,
            id.as_str(),
            JobParams::BackupDelete(BackupJobParams {
                volume_id: b.volume_id.clone(),
                pool,
                parent_id: b.parent_id.clone(),
                restore: platter_model::VolumeStatus::Available,
            }),
        );
        self.store().backup_begin_delete(id, force, &job).await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// `SnapshotForBackup`: the volume's snapshot the backup reads.
    pub(crate) async fn run_backup_snapshot(
        &self,
        id: &BackupId,
        p: &BackupJobParams,
    ) -> Result<(), String> {
        let backend = self.backend_of(&p.pool).map_err(|e| e.to_string())?;
        let (vol, snap) = (p.volume_id.to_string(), backup_snapshot_device(id));
        blocking(backend, move |b| {
            b.create_snapshot(&vol, &snap).map_err(|e| e.to_string())
        })
        .await
    }

    /// `WriteBackup`: the snapshot into the repository; returns its chunks.
    pub(crate) async fn run_backup_write(
        &self,
        id: &BackupId,
        p: &BackupJobParams,
    ) -> Result<(), String> {
        let backend = self.backend_of(&p.pool).map_err(|e| e.to_string())?;
        let repo = self.backup_repo()?;
        let (id, parent) = (id.clone(), p.parent_id.clone());
        blocking(backend, move |b| {
            write_backup(&repo, b, &id, parent.as_ref()).map(|_| ())
        })
        .await
    }

    /// The chunks a written backup holds (for its row).
    pub(crate) fn backup_object_count(&self, id: &BackupId) -> i64 {
        self.backup_repo()
            .and_then(|r| r.manifest(id.as_str()).map_err(|e| e.to_string()))
            .map_or(0, |m| m.chunks.iter().flatten().count() as i64)
    }

    /// Removes what a backup holds: its manifest, the chunks no other
    /// backup names, and (with `snapshot`) its snapshot.
    pub(crate) async fn remove_backup_data(
        &self,
        id: &BackupId,
        p: &BackupJobParams,
        snapshot: bool,
    ) -> Result<(), String> {
        let backend = self.backend_of(&p.pool).map_err(|e| e.to_string())?;
        let repo = self.backup_repo()?;
        let id = id.clone();
        blocking(backend, move |b| {
            repo.delete(id.as_str()).map_err(|e| e.to_string())?;
            repo.gc().map_err(|e| e.to_string())?;
            if snapshot {
                b.delete_snapshot(&backup_snapshot_device(&id))
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        })
        .await
    }

    /// Undoes `SnapshotForBackup`.
    pub(crate) async fn undo_backup_snapshot(
        &self,
        id: &BackupId,
        p: &BackupJobParams,
    ) -> Result<(), String> {
        let backend = self.backend_of(&p.pool).map_err(|e| e.to_string())?;
        let snap = backup_snapshot_device(id);
        blocking(backend, move |b| {
            b.delete_snapshot(&snap).map_err(|e| e.to_string())
        })
        .await
    }
}

async fn blocking<F>(backend: Arc<dyn StorageBackend>, f: F) -> Result<(), String>
where
    F: FnOnce(&dyn StorageBackend) -> Result<(), String> + Send + 'static,
{
    tokio::task::spawn_blocking(move || f(&*backend))
        .await
        .map_err(|e| format!("backup task failed: {e}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_ranges_mark_the_chunks_they_touch() {
        let mib = CHUNK_SIZE;
        assert_eq!(changed_chunks(None, 3 * mib), vec![true; 3]);
        assert_eq!(
            changed_chunks(Some(vec![(mib - 1, 2), (3 * mib, 4096)]), 4 * mib),
            vec![true, true, false, true]
        );
        assert_eq!(changed_chunks(Some(vec![]), 2 * mib), vec![false, false]);
    }
}
