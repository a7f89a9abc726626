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

use platter_backend::{BackendError, StorageBackend};
use platter_backup::{Manifest, Repository, CHUNK_SIZE};
use platter_model::{
    backup_snapshot_device, check_metadata, Action, AuthContext, Backup, BackupId, BackupJobParams,
    BackupRestoreParams, BackupSource, BackupStatus, DomainError, DomainResult, JobId, JobKind,
    JobParams, Metadata, SnapshotId, SnapshotStatus, Timestamp, VolumeId,
};
use serde::{Deserialize, Serialize};

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
    /// Back this snapshot of the volume up instead of the volume.
    pub snapshot_id: Option<SnapshotId>,
    pub metadata: Metadata,
    /// The zone the backup is kept in (Cinder 3.51); `None`: the volume's.
    pub availability_zone: Option<String>,
}

/// Fields of a backup update (Cinder 3.9; metadata 3.43); `None` keeps one.
#[derive(Debug, Clone, Default)]
pub struct BackupUpdate {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub metadata: Option<Metadata>,
}

/// What a restore did: the backup, and the volume it writes.
#[derive(Debug, Clone)]
pub struct RestoreStarted {
    pub backup_id: BackupId,
    pub volume_id: VolumeId,
    pub volume_name: Option<String>,
    /// The job writing the data.
    pub job_id: JobId,
}

/// An exported backup: its row and its manifest, so a database that lost
/// the row can take it back (the chunks stay in the repository).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupRecord {
    pub id: String,
    #[serde(default)]
    pub volume_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub size: i64,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub snapshot_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub data_timestamp: Option<Timestamp>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub volume_source: BackupSource,
    pub manifest: Manifest,
}

/// The snapshot's clone a snapshot's backup takes its own snapshot of.
fn backup_clone_device(id: &BackupId) -> String {
    format!("bkc-{id}")
}

/// A backend error that only says a device was already gone.
fn gone(e: &BackendError) -> bool {
    matches!(
        e,
        BackendError::VolumeNotFound(_) | BackendError::SnapshotNotFound(_)
    )
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
    pub(crate) fn backup_repo(&self) -> Result<Arc<Repository>, String> {
        let mut slot = self
            .inner
            .backup_repo
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(repo) = &*slot {
            return Ok(repo.clone());
        }
        let dir = self
            .config()
            .backup_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("platter-backups"));
        let repo = Arc::new(Repository::open_dir(&dir).map_err(|e| e.to_string())?);
        *slot = Some(repo.clone());
        Ok(repo)
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
        check_metadata(&req.metadata)?;
        let v = self.volume_find(ctx, &req.volume_id).await?;
        if let Some(az) = &req.availability_zone {
            if !self.config().availability_zones.contains(az) {
                return Err(DomainError::invalid(format!(
                    "Invalid input received: Availability zone '{az}' is invalid."
                )));
            }
        }
        let snapshot = match &req.snapshot_id {
            Some(sid) => {
                let snap = self.snapshot_find(ctx, sid).await?;
                if snap.volume_id != v.id {
                    return Err(DomainError::invalid(format!(
                        "Invalid volume: Snapshot {sid} is not a snapshot of volume {}.",
                        v.id
                    )));
                }
                if snap.status != SnapshotStatus::Available {
                    return Err(DomainError::invalid(format!(
                        "Invalid snapshot: Snapshot to be backed up must be available, but the current status is \"{}\".",
                        snap.status
                    )));
                }
                Some(snap)
            }
            None => None,
        };
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
            availability_zone: req
                .availability_zone
                .unwrap_or_else(|| v.availability_zone.clone()),
            parent_id: parent.clone(),
            object_count: 0,
            fail_reason: None,
            created_at: Timestamp::now(),
            updated_at: None,
            snapshot_id: snapshot.as_ref().map(|s| s.id.clone()),
            metadata: req.metadata,
            data_timestamp: snapshot
                .as_ref()
                .map_or_else(Timestamp::now, |s| s.created_at),
            source: BackupSource {
                metadata: v.metadata.clone(),
                bootable: v.bootable,
                image_metadata: v.image_metadata.clone(),
            },
        };
        let backup = Backup {
            size: snapshot.as_ref().map_or(v.size, |s| s.size),
            ..backup
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
                snapshot_id: backup.snapshot_id.clone(),
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
        if force {
            self.authorize(ctx, Action::BackupForceDelete)?;
        }
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
                snapshot_id: b.snapshot_id.clone(),
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
        let Some(source) = p.snapshot_id.clone() else {
            return blocking(backend, move |b| {
                b.create_snapshot(&vol, &snap).map_err(|e| e.to_string())
            })
            .await;
        };
        // A snapshot's backup keeps its own snapshot of the snapshot's data
        // (through a clone, dropped at once), so the Cinder snapshot stays
        // free to be deleted and the next incremental has a base.
        let clone = backup_clone_device(id);
        blocking(backend, move |b| {
            if b.open_snapshot(&snap).is_err() {
                if !b.volume_exists(&clone).map_err(|e| e.to_string())? {
                    let size = b
                        .open_snapshot(source.as_str())
                        .and_then(|io| io.size())
                        .map_err(|e| e.to_string())?;
                    b.clone_from_snapshot(source.as_str(), &clone, size)
                        .map_err(|e| e.to_string())?;
                }
                b.create_snapshot(&clone, &snap)
                    .map_err(|e| e.to_string())?;
            }
            match b.delete_volume(&clone) {
                Err(e) if !gone(&e) => Err(e.to_string()),
                _ => Ok(()),
            }
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
        // The snapshot stays where the volume was when it was backed up: a
        // volume migrated since has it in another pool.
        let others: Vec<Arc<dyn StorageBackend>> = self
            .pools()
            .iter()
            .filter(|pool| pool.name != p.pool)
            .map(|pool| pool.backend.clone())
            .collect();
        let repo = self.backup_repo()?;
        let id = id.clone();
        blocking(backend, move |b| {
            repo.delete(id.as_str()).map_err(|e| e.to_string())?;
            repo.gc().map_err(|e| e.to_string())?;
            if !snapshot {
                return Ok(());
            }
            // An imported backup never had a snapshot here.
            let snap = backup_snapshot_device(&id);
            for backend in std::iter::once(b).chain(others.iter().map(|o| &**o)) {
                match backend.delete_snapshot(&snap) {
                    Err(e) if !gone(&e) => return Err(e.to_string()),
                    _ => {}
                }
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
        let (snap, clone) = (backup_snapshot_device(id), backup_clone_device(id));
        blocking(backend, move |b| {
            for r in [b.delete_snapshot(&snap), b.delete_volume(&clone)] {
                if let Err(e) = r {
                    if !gone(&e) {
                        return Err(e.to_string());
                    }
                }
            }
            Ok(())
        })
        .await
    }
}

impl Platter {
    /// Renames a backup, or sets its description or metadata.
    pub async fn backup_update(
        &self,
        ctx: &AuthContext,
        id: &BackupId,
        update: BackupUpdate,
    ) -> DomainResult<Backup> {
        self.authorize(ctx, Action::BackupUpdate)?;
        if let Some(m) = &update.metadata {
            check_metadata(m)?;
        }
        self.backup_get(ctx, id).await?;
        self.store()
            .backup_update(
                id,
                update.name,
                update.description,
                update.metadata.as_ref(),
            )
            .await
    }

    /// Sets a backup's status (admin): `available` (only if the repository
    /// holds its data) or `error`.
    pub async fn backup_reset_status(
        &self,
        ctx: &AuthContext,
        id: &BackupId,
        status: BackupStatus,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::BackupResetStatus)?;
        let b = self.backup_get(ctx, id).await?;
        match status {
            BackupStatus::Error => {}
            BackupStatus::Available => {
                let held = self
                    .backup_repo()
                    .and_then(|r| r.exists(id.as_str()).map_err(|e| e.to_string()))
                    .map_err(DomainError::Internal)?;
                if !held {
                    return Err(DomainError::invalid(format!(
                        "Invalid backup: the repository holds no data for backup {id}."
                    )));
                }
            }
            other => {
                return Err(DomainError::invalid(format!(
                    "Invalid backup: Backup status {other} is not allowed; use available or error."
                )))
            }
        }
        self.store()
            .backup_cas_status(id, &[b.status], status)
            .await?;
        Ok(())
    }

    /// The record `import` takes back (admin): the row and the manifest,
    /// base64 JSON.
    pub async fn backup_export(&self, ctx: &AuthContext, id: &BackupId) -> DomainResult<String> {
        self.authorize(ctx, Action::BackupExport)?;
        let b = self.backup_get(ctx, id).await?;
        if b.status != BackupStatus::Available {
            return Err(DomainError::invalid(format!(
                "Invalid backup: Backup status must be available and not {}.",
                b.status
            )));
        }
        let manifest = self
            .backup_repo()
            .and_then(|r| r.manifest(id.as_str()).map_err(|e| e.to_string()))
            .map_err(DomainError::Internal)?;
        let record = BackupRecord {
            id: b.id.to_string(),
            volume_id: b.volume_id.to_string(),
            name: b.name,
            description: b.description,
            size: b.size,
            availability_zone: Some(b.availability_zone),
            parent_id: b.parent_id.map(|p| p.to_string()),
            snapshot_id: b.snapshot_id.map(|s| s.to_string()),
            created_at: Some(b.created_at),
            data_timestamp: Some(b.data_timestamp),
            metadata: b.metadata,
            volume_source: b.source,
            manifest,
        };
        let json = serde_json::to_vec(&record).map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok(base64_encode(&json))
    }

    /// Takes an exported record back (admin): a backup row in the caller's
    /// project and a manifest, once every chunk it names is in the
    /// repository.
    pub async fn backup_import(&self, ctx: &AuthContext, url: &str) -> DomainResult<Backup> {
        self.authorize(ctx, Action::BackupImport)?;
        let bad = |why: String| {
            DomainError::invalid(format!("Invalid input received: bad backup_url: {why}."))
        };
        let bytes = base64_decode(url).ok_or_else(|| bad("not base64".into()))?;
        let r: BackupRecord = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if !platter_model::is_uuid(&r.id) {
            return Err(bad(format!("id {:?} is not a UUID", r.id)));
        }
        if r.size < 1 || r.manifest.size != (r.size as u64).saturating_mul(platter_model::GIB) {
            return Err(bad("its size and its manifest disagree".into()));
        }
        let id = BackupId::from(r.id.clone());
        if self.store().backup_get(&id).await?.is_some() {
            return Err(DomainError::invalid(format!(
                "Invalid backup: Backup {id} already exists."
            )));
        }
        let parent = match r.parent_id.map(BackupId::from) {
            Some(p) if self.store().backup_get(&p).await?.is_some() => Some(p),
            _ => None,
        };
        let now = Timestamp::now();
        let zones = &self.config().availability_zones;
        let zone = r
            .availability_zone
            .filter(|z| zones.contains(z))
            .or_else(|| zones.first().cloned())
            .unwrap_or_else(|| "nova".into());
        let backup = Backup {
            id: id.clone(),
            project_id: ctx.project_id.clone(),
            user_id: ctx.user_id.clone(),
            volume_id: VolumeId::from(r.volume_id),
            name: r.name,
            description: r.description,
            status: BackupStatus::Creating,
            size: r.size,
            availability_zone: zone,
            parent_id: parent,
            object_count: r.manifest.chunks.iter().flatten().count() as i64,
            fail_reason: None,
            created_at: r.created_at.unwrap_or(now),
            updated_at: None,
            snapshot_id: r.snapshot_id.map(SnapshotId::from),
            metadata: r.metadata,
            data_timestamp: r.data_timestamp.unwrap_or(now),
            source: r.volume_source,
        };
        let repo = self.backup_repo().map_err(DomainError::Internal)?;
        let manifest = r.manifest;
        // Checked before any row is written; checked again (under the
        // repository's lock) as the manifest is.
        let checked = {
            let (repo, manifest) = (repo.clone(), manifest.clone());
            tokio::task::spawn_blocking(move || repo.verify(&manifest))
                .await
                .map_err(|e| DomainError::Internal(e.to_string()))?
        };
        if let Err(e) = checked {
            return Err(DomainError::invalid(format!(
                "Invalid backup: the repository cannot take the record back: {e}."
            )));
        }
        // The row first (`creating`: a crash before the manifest is written
        // leaves it `error`, never a manifest nothing names).
        self.store().backup_import(&backup).await?;
        let written = {
            let id = id.clone();
            tokio::task::spawn_blocking(move || repo.import(id.as_str(), &manifest))
                .await
                .map_err(|e| DomainError::Internal(e.to_string()))?
        };
        let (to, why) = match &written {
            Ok(()) => (BackupStatus::Available, None),
            Err(e) => (BackupStatus::Error, Some(e.to_string())),
        };
        self.store()
            .backup_cas_status(&id, &[BackupStatus::Creating], to)
            .await?;
        if let Some(why) = why {
            return Err(DomainError::invalid(format!(
                "Invalid backup: the repository cannot take the record back: {why}."
            )));
        }
        self.store()
            .backup_get(&id)
            .await?
            .ok_or_else(|| DomainError::not_found("Backup", &id))
    }

    /// Restores a backup onto an existing volume (`available`, at least
    /// the backup's size) or, without one, into a new volume named `name`
    /// (default `restore_backup_<id>`).
    pub async fn backup_restore(
        &self,
        ctx: &AuthContext,
        id: &BackupId,
        volume_id: Option<&VolumeId>,
        name: Option<String>,
    ) -> DomainResult<RestoreStarted> {
        self.authorize(ctx, Action::BackupRestore)?;
        let b = self.backup_get(ctx, id).await?;
        if b.status != BackupStatus::Available {
            return Err(DomainError::invalid(format!(
                "Invalid backup: Backup status must be available, but current status is: {}.",
                b.status
            )));
        }
        let Some(volume_id) = volume_id else {
            let zones = &self.config().availability_zones;
            let req = crate::VolumeCreate {
                name: Some(name.unwrap_or_else(|| format!("restore_backup_{id}"))),
                description: Some(format!("auto-created_from_restore_from_backup_{id}")),
                size: Some(b.size),
                availability_zone: zones
                    .contains(&b.availability_zone)
                    .then(|| b.availability_zone.clone()),
                backup_id: Some(id.clone()),
                ..Default::default()
            };
            let out = self
                .volume_create_many(ctx, req, 1, None, crate::CreateRules::CINDER)
                .await?;
            let v = out
                .volumes
                .into_iter()
                .next()
                .ok_or_else(|| DomainError::Internal("the restore made no volume".into()))?;
            return Ok(RestoreStarted {
                backup_id: id.clone(),
                volume_id: v.id,
                volume_name: v.name,
                job_id: out.job_id,
            });
        };
        let v = self.volume_find(ctx, volume_id).await?;
        let job = new_job(
            JobKind::BackupRestore,
            &v.project_id,
            v.id.as_str(),
            JobParams::BackupRestore(BackupRestoreParams {
                backup_id: id.clone(),
            }),
        );
        self.store().backup_begin_restore(id, &v.id, &job).await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(RestoreStarted {
            backup_id: id.clone(),
            volume_id: v.id,
            volume_name: v.name,
            job_id,
        })
    }

    /// Writes a backup's data onto a volume's device (every chunk checked
    /// against its hash).
    pub(crate) async fn write_backup_to(
        &self,
        backend: &Arc<dyn StorageBackend>,
        backup: &BackupId,
        volume: &VolumeId,
    ) -> Result<(), String> {
        let repo = self.backup_repo()?;
        let (backup, volume) = (backup.clone(), volume.clone());
        blocking(backend.clone(), move |b| {
            let io = b.open_volume(volume.as_str()).map_err(|e| e.to_string())?;
            repo.restore(backup.as_str(), &*io)
                .map_err(|e| format!("restoring backup {backup}: {e}"))
        })
        .await
    }

    /// `RestoreBackupData`: the backup onto the job's volume; a replica is
    /// made again from the result.
    pub(crate) async fn run_backup_restore(
        &self,
        backend: &Arc<dyn StorageBackend>,
        volume: &VolumeId,
        p: &BackupRestoreParams,
    ) -> Result<(), String> {
        let resync = self.begin_replica_resync(volume).await?;
        self.write_backup_to(backend, &p.backup_id, volume).await?;
        if resync {
            self.end_replica_resync(volume).await?;
        }
        Ok(())
    }

    /// Ends a restore onto an existing volume.
    pub(crate) async fn finish_backup_restore(
        &self,
        volume: &VolumeId,
        job: &JobId,
        p: &BackupRestoreParams,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let source = self
            .store()
            .backup_get(&p.backup_id)
            .await?
            .map(|b| b.source);
        self.store()
            .backup_finish_restore(&p.backup_id, volume, job, source.as_ref(), error)
            .await
    }

    /// Checks every chunk of every backup in the repository.
    pub async fn backup_check(&self) -> Result<platter_backup::CheckReport, String> {
        let repo = self.backup_repo()?;
        tokio::task::spawn_blocking(move || repo.check().map_err(|e| e.to_string()))
            .await
            .map_err(|e| e.to_string())?
    }

    /// Sweeps backups a previous process left mid-way with no job to end
    /// them: `creating` -> `error`, `deleting` -> `error_deleting`,
    /// `restoring` -> `available`.
    pub(crate) async fn recover_backups(
        &self,
        busy: &std::collections::HashSet<String>,
        restoring: &std::collections::HashSet<String>,
    ) -> DomainResult<()> {
        for b in self.store().backup_list(None).await? {
            let to = match b.status {
                BackupStatus::Creating if !busy.contains(b.id.as_str()) => BackupStatus::Error,
                BackupStatus::Deleting if !busy.contains(b.id.as_str()) => {
                    BackupStatus::ErrorDeleting
                }
                BackupStatus::Restoring if !restoring.contains(b.id.as_str()) => {
                    BackupStatus::Available
                }
                _ => continue,
            };
            tracing::warn!(backup = %b.id, from = %b.status, to = %to, "backup in a transitional status without a job");
            self.store()
                .backup_cas_status(&b.id, &[b.status], to)
                .await?;
        }
        Ok(())
    }
}

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
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
    fn base64_round_trips_and_refuses_garbage() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            let text = base64_encode(data);
            assert_eq!(base64_decode(&text).as_deref(), Some(data));
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("Zm8"), None);
        assert_eq!(base64_decode("Z=m8"), None);
        assert_eq!(base64_decode("Zm*="), None);
    }

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
