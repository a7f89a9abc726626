//! Compute servers and their disks.
//!
//! A disk's attachment is an ordinary attachment row (so Cinder's views
//! and the volume's status agree with the server's), changed in the same
//! transaction as the disk row; the volume's status is settled from its
//! attachments each time.

use async_trait::async_trait;
use platter_model::{
    DiskStatus, DomainError, DomainResult, Flavor, Job, JobGroup, JobId, Metadata, PowerState,
    ProjectId, Server, ServerDisk, ServerFault, ServerId, ServerOrigin, TaskState, VmState,
    VolumeId, VolumeStatus,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::attachments::{check_attachable, insert as insert_attachment};
use super::volume_rows::{insert_volume, require_volume, settle};
use super::{db_err, jobs, now_text, parse_enum, quotas, RowExt, SqliteStore};
use crate::repo::{
    FlavorEnd, NewServer, NewVolume, QuotaDefaults, ServerEnd, ServerGate, ServerRepo,
};

fn server_from_row(r: &SqliteRow) -> DomainResult<Server> {
    let json = |col: &str| -> DomainResult<serde_json::Value> {
        let text: String = r.get(col);
        serde_json::from_str(&text)
            .map_err(|e| DomainError::Internal(format!("servers.{col} is not JSON: {e}")))
    };
    let flavor = serde_json::from_value(json("flavor")?)
        .map_err(|e| DomainError::Internal(format!("servers.flavor: {e}")))?;
    let old_flavor = match r.get::<Option<String>, _>("old_flavor") {
        Some(t) => Some(
            serde_json::from_str(&t)
                .map_err(|e| DomainError::Internal(format!("servers.old_flavor: {e}")))?,
        ),
        None => None,
    };
    let metadata: Metadata = serde_json::from_value(json("metadata")?)
        .map_err(|e| DomainError::Internal(format!("servers.metadata: {e}")))?;
    let fault = match r.get::<Option<String>, _>("fault") {
        Some(t) => Some(
            serde_json::from_str::<ServerFault>(&t)
                .map_err(|e| DomainError::Internal(format!("servers.fault: {e}")))?,
        ),
        None => None,
    };
    Ok(Server {
        id: r.id("id"),
        project_id: r.id("project_id"),
        user_id: r.id("user_id"),
        name: r.get("name"),
        description: r.get("description"),
        flavor,
        old_flavor,
        image_id: r.get("image_id"),
        availability_zone: r.get("availability_zone"),
        key_name: r.get("key_name"),
        user_data: r.get("user_data"),
        metadata,
        vm_state: parse_enum(&r.get::<String, _>("vm_state"))?,
        task_state: r
            .get::<Option<String>, _>("task_state")
            .map(|s| parse_enum(&s))
            .transpose()?,
        power_state: PowerState::from_code(r.get("power_state")),
        origin: ServerOrigin::parse(&r.get::<String, _>("origin")),
        fault,
        locked: r.get::<i64, _>("locked") != 0,
        reservation_id: r.get("reservation_id"),
        launch_index: r.get("launch_index"),
        network: json("network")?,
        host: r.get("host"),
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        launched_at: r.ts_opt("launched_at")?,
        disks: Vec::new(),
    })
}

fn disk_from_row(r: &SqliteRow) -> DomainResult<ServerDisk> {
    Ok(ServerDisk {
        volume_id: r.id("volume_id"),
        attachment_id: r.id("attachment_id"),
        device: r.get("device"),
        boot_index: r.get("boot_index"),
        delete_on_termination: r.get::<i64, _>("delete_on_termination") != 0,
        created: r.get::<i64, _>("created") != 0,
        status: parse_enum(&r.get::<String, _>("status"))?,
    })
}

async fn load_disks(conn: &mut SqliteConnection, s: &mut Server) -> DomainResult<()> {
    let rows = sqlx::query("SELECT * FROM server_disks WHERE server_id = ? ORDER BY device")
        .bind(s.id.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    s.disks = rows
        .iter()
        .map(disk_from_row)
        .collect::<DomainResult<_>>()?;
    Ok(())
}

async fn get_in(conn: &mut SqliteConnection, id: &ServerId) -> DomainResult<Option<Server>> {
    let row = sqlx::query("SELECT * FROM servers WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    match row {
        Some(r) => {
            let mut s = server_from_row(&r)?;
            load_disks(conn, &mut s).await?;
            Ok(Some(s))
        }
        None => Ok(None),
    }
}

async fn require_in(conn: &mut SqliteConnection, id: &ServerId) -> DomainResult<Server> {
    get_in(conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("Server", id))
}

async fn insert_disk(
    conn: &mut SqliteConnection,
    server: &ServerId,
    d: &ServerDisk,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO server_disks (server_id, volume_id, attachment_id, device, boot_index, \
         delete_on_termination, created, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(server.as_str())
    .bind(d.volume_id.as_str())
    .bind(d.attachment_id.as_str())
    .bind(&d.device)
    .bind(d.boot_index)
    .bind(d.delete_on_termination as i64)
    .bind(d.created as i64)
    .bind(d.status.as_str())
    .execute(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.message().contains("UNIQUE") => DomainError::Conflict(
            "the device name or the volume is already in use on this server".into(),
        ),
        _ => db_err(e),
    })?;
    Ok(())
}

async fn insert_server(conn: &mut SqliteConnection, s: &Server) -> DomainResult<()> {
    let text = |v: &dyn erased::Ser| v.text();
    sqlx::query(
        "INSERT INTO servers (id, project_id, user_id, name, description, flavor, vcpus, ram_mib, \
         image_id, availability_zone, key_name, user_data, metadata, vm_state, task_state, \
         power_state, origin, fault, locked, reservation_id, launch_index, network, host, \
         created_at, updated_at, launched_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
    )
    .bind(s.id.as_str())
    .bind(s.project_id.as_str())
    .bind(s.user_id.as_str())
    .bind(&s.name)
    .bind(&s.description)
    .bind(text(&s.flavor))
    .bind(s.flavor.vcpus as i64)
    .bind(s.flavor.ram_mib as i64)
    .bind(&s.image_id)
    .bind(&s.availability_zone)
    .bind(&s.key_name)
    .bind(&s.user_data)
    .bind(text(&s.metadata))
    .bind(s.vm_state.as_str())
    .bind(s.task_state.map(TaskState::as_str))
    .bind(s.power_state.code())
    .bind(s.origin.as_str())
    .bind(s.fault.as_ref().map(|f| text(f)))
    .bind(s.locked as i64)
    .bind(&s.reservation_id)
    .bind(s.launch_index)
    .bind(s.network.to_string())
    .bind(&s.host)
    .bind(s.created_at.to_string())
    .bind(s.updated_at.to_string())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    for d in &s.disks {
        insert_disk(conn, &s.id, d).await?;
    }
    Ok(())
}

/// JSON text of model values (all plain data, so serializing cannot fail).
mod erased {
    pub(super) trait Ser {
        fn text(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn text(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|_| "null".into())
        }
    }
}
use erased::Ser as _;

/// Deletes an attachment row if it is there, and settles its volume.
async fn drop_attachment(
    conn: &mut SqliteConnection,
    attachment: &str,
    volume: &VolumeId,
) -> DomainResult<()> {
    sqlx::query("DELETE FROM attachments WHERE id = ?")
        .bind(attachment)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if super::volume_rows::get_in(conn, volume).await?.is_some() {
        settle(conn, volume).await?;
    }
    Ok(())
}

async fn set_disk_status(
    conn: &mut SqliteConnection,
    server: &ServerId,
    volume: &VolumeId,
    status: DiskStatus,
) -> DomainResult<u64> {
    Ok(
        sqlx::query("UPDATE server_disks SET status = ? WHERE server_id = ? AND volume_id = ?")
            .bind(status.as_str())
            .bind(server.as_str())
            .bind(volume.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?
            .rows_affected(),
    )
}

/// Whether a job may start on a server: no task (unless forced), no disk
/// on the move (unless forced), never while it is being deleted, and in
/// one of the gate's states.
fn check_gate(s: &Server, gate: &ServerGate<'_>) -> DomainResult<()> {
    let id = &s.id;
    if let (Some(t), false) = (s.task_state, gate.force) {
        return Err(DomainError::Conflict(format!(
            "Cannot '{}' instance {id} while it is in task_state {t}",
            gate.task
        )));
    }
    if let (Some(d), false) = (
        s.disks.iter().find(|d| d.status != DiskStatus::Attached),
        gate.force,
    ) {
        return Err(DomainError::Conflict(format!(
            "Cannot '{}' instance {id} while volume {} is {}",
            gate.task, d.volume_id, d.status
        )));
    }
    if s.task_state == Some(TaskState::Deleting) {
        return Err(DomainError::Conflict(format!(
            "Cannot '{}' instance {id} while it is in task_state deleting",
            gate.task
        )));
    }
    if !gate.vm_states.contains(&s.vm_state) {
        return Err(DomainError::server_state(format!(
            "Cannot '{}' instance {id} while it is in vm_state {}",
            gate.task, s.vm_state
        )));
    }
    Ok(())
}

async fn remove_disk(
    conn: &mut SqliteConnection,
    server: &ServerId,
    volume: &VolumeId,
) -> DomainResult<()> {
    sqlx::query("DELETE FROM server_disks WHERE server_id = ? AND volume_id = ?")
        .bind(server.as_str())
        .bind(volume.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

fn find_disk<'a>(s: &'a Server, volume: &VolumeId) -> DomainResult<&'a ServerDisk> {
    s.disks
        .iter()
        .find(|d| &d.volume_id == volume)
        .ok_or_else(|| DomainError::not_found("Volume attachment", volume))
}

#[async_trait]
impl ServerRepo for SqliteStore {
    async fn server_get(&self, id: &ServerId) -> DomainResult<Option<Server>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        get_in(&mut conn, id).await
    }

    async fn server_list(&self, project: Option<&ProjectId>) -> DomainResult<Vec<Server>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        let rows =
            match project {
                Some(p) => sqlx::query(
                    "SELECT * FROM servers WHERE project_id = ? ORDER BY created_at DESC, id DESC",
                )
                .bind(p.as_str())
                .fetch_all(&mut *conn)
                .await,
                None => {
                    sqlx::query("SELECT * FROM servers ORDER BY created_at DESC, id DESC")
                        .fetch_all(&mut *conn)
                        .await
                }
            }
            .map_err(db_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut s = server_from_row(r)?;
            load_disks(&mut conn, &mut s).await?;
            out.push(s);
        }
        Ok(out)
    }

    async fn server_create_batch(
        &self,
        servers: &[NewServer],
        volumes: &[NewVolume],
        group: Option<&JobGroup>,
        quota: &QuotaDefaults,
    ) -> DomainResult<Vec<Server>> {
        let Some(first) = servers.first() else {
            return Ok(Vec::new());
        };
        let project = &first.server.project_id;
        let mut tx = self.begin().await?;
        let mut deltas: Vec<(String, i64)> = vec![
            ("instances".into(), servers.len() as i64),
            (
                "cores".into(),
                servers.iter().map(|s| s.server.flavor.vcpus as i64).sum(),
            ),
            (
                "ram".into(),
                servers.iter().map(|s| s.server.flavor.ram_mib as i64).sum(),
            ),
        ];
        for v in volumes {
            let t = &v.volume_type_name;
            for (k, n) in [
                ("volumes".to_string(), 1),
                ("gigabytes".to_string(), v.size),
                (format!("volumes_{t}"), 1),
                (format!("gigabytes_{t}"), v.size),
            ] {
                match deltas.iter_mut().find(|(r, _)| *r == k) {
                    Some((_, d)) => *d += n,
                    None => deltas.push((k, n)),
                }
            }
        }
        let largest = volumes.iter().map(|v| v.size).max();
        quotas::check(&mut tx, project, quota, &deltas, largest).await?;
        for v in volumes {
            insert_volume(&mut tx, v).await?;
        }
        if let Some(g) = group {
            jobs::insert_group(&mut tx, g).await?;
        }
        let mut out = Vec::with_capacity(servers.len());
        for ns in servers {
            insert_server(&mut tx, &ns.server).await?;
            for a in &ns.attachments {
                let v = require_volume(&mut tx, &a.volume_id).await?;
                if v.status != VolumeStatus::Creating {
                    if v.project_id != ns.server.project_id {
                        return Err(DomainError::not_found("Volume", &v.id));
                    }
                    check_attachable(&v, a.mode)?;
                }
                insert_attachment(&mut tx, a).await?;
                settle(&mut tx, &a.volume_id).await?;
            }
            jobs::insert(&mut tx, &ns.job).await?;
            out.push(require_in(&mut tx, &ns.server.id).await?);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn server_volumes_created(&self, volumes: &[VolumeId]) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        for id in volumes {
            sqlx::query("UPDATE volumes SET status = 'available', updated_at = ? WHERE id = ? AND status = 'creating'")
                .bind(now_text())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            sqlx::query(
                "UPDATE volumes SET replication_status = 'active' WHERE id = ? AND replication_status = 'copying'",
            )
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            settle(&mut tx, id).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn server_begin(
        &self,
        id: &ServerId,
        gate: &ServerGate<'_>,
        job: &Job,
    ) -> DomainResult<Server> {
        let mut tx = self.begin().await?;
        let s = require_in(&mut tx, id).await?;
        check_gate(&s, gate)?;
        sqlx::query("UPDATE servers SET task_state = ?, updated_at = ? WHERE id = ?")
            .bind(gate.task.as_str())
            .bind(now_text())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        jobs::insert(&mut tx, job).await?;
        let out = require_in(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn server_finish(
        &self,
        id: &ServerId,
        job_id: &JobId,
        end: &ServerEnd,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let now = now_text();
        sqlx::query(
            "UPDATE servers SET vm_state = ?, power_state = ?, task_state = NULL, fault = ?, \
             updated_at = ?, launched_at = CASE WHEN ? THEN ? ELSE launched_at END WHERE id = ?",
        )
        .bind(end.vm_state.as_str())
        .bind(end.power_state.code())
        .bind(end.fault.as_ref().map(|f| f.text()))
        .bind(&now)
        .bind(end.launched)
        .bind(&now)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let flavor_sql = match end.flavor {
            FlavorEnd::Keep => None,
            FlavorEnd::Revert => Some(
                "UPDATE servers SET flavor = COALESCE(old_flavor, flavor), \
                 vcpus = COALESCE(json_extract(old_flavor, '$.vcpus'), vcpus), \
                 ram_mib = COALESCE(json_extract(old_flavor, '$.ram_mib'), ram_mib), \
                 old_flavor = NULL WHERE id = ?",
            ),
            FlavorEnd::Confirm => Some("UPDATE servers SET old_flavor = NULL WHERE id = ?"),
        };
        if let Some(sql) = flavor_sql {
            sqlx::query(sql)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if end.disks_attached {
            sqlx::query(
                "UPDATE server_disks SET status = 'attached' WHERE server_id = ? AND status = 'attaching'",
            )
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn server_begin_resize(
        &self,
        id: &ServerId,
        gate: &ServerGate<'_>,
        flavor: &Flavor,
        keep_old: bool,
        job: &Job,
        quota: &QuotaDefaults,
    ) -> DomainResult<Server> {
        let mut tx = self.begin().await?;
        let s = require_in(&mut tx, id).await?;
        check_gate(&s, gate)?;
        let deltas = vec![
            (
                "cores".to_string(),
                flavor.vcpus as i64 - s.flavor.vcpus as i64,
            ),
            (
                "ram".to_string(),
                flavor.ram_mib as i64 - s.flavor.ram_mib as i64,
            ),
        ];
        quotas::check(&mut tx, &s.project_id, quota, &deltas, None).await?;
        let old = keep_old.then(|| s.flavor.text());
        sqlx::query(
            "UPDATE servers SET flavor = ?, vcpus = ?, ram_mib = ?, old_flavor = ?, \
             task_state = ?, updated_at = ? WHERE id = ?",
        )
        .bind(flavor.text())
        .bind(flavor.vcpus as i64)
        .bind(flavor.ram_mib as i64)
        .bind(old)
        .bind(gate.task.as_str())
        .bind(now_text())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        jobs::insert(&mut tx, job).await?;
        let out = require_in(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn server_begin_rebuild(
        &self,
        id: &ServerId,
        gate: &ServerGate<'_>,
        image_id: &str,
        name: Option<&str>,
        job: &Job,
    ) -> DomainResult<Server> {
        let mut tx = self.begin().await?;
        let s = require_in(&mut tx, id).await?;
        check_gate(&s, gate)?;
        sqlx::query(
            "UPDATE servers SET image_id = ?, name = COALESCE(?, name), task_state = ?, \
             updated_at = ? WHERE id = ?",
        )
        .bind(image_id)
        .bind(name)
        .bind(gate.task.as_str())
        .bind(now_text())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        jobs::insert(&mut tx, job).await?;
        let out = require_in(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn server_confirm_resize(&self, id: &ServerId) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let s = require_in(&mut tx, id).await?;
        if s.vm_state != VmState::Resized || s.task_state.is_some() {
            return Err(DomainError::server_state(format!(
                "Cannot 'confirmResize' instance {id} while it is in vm_state {}",
                s.vm_state
            )));
        }
        let to = match s.power_state {
            PowerState::Running => VmState::Active,
            _ => VmState::Stopped,
        };
        sqlx::query(
            "UPDATE servers SET vm_state = ?, old_flavor = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(to.as_str())
        .bind(now_text())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn server_fail_create(
        &self,
        id: &ServerId,
        job_id: &JobId,
        error: &str,
        fault: &ServerFault,
        remove: bool,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if let Some(s) = get_in(&mut tx, id).await? {
            for d in &s.disks {
                drop_attachment(&mut tx, d.attachment_id.as_str(), &d.volume_id).await?;
                if d.created {
                    sqlx::query("DELETE FROM volumes WHERE id = ?")
                        .bind(d.volume_id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
            }
            if remove {
                sqlx::query("DELETE FROM servers WHERE id = ?")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            } else {
                sqlx::query("DELETE FROM server_disks WHERE server_id = ?")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query(
                    "UPDATE servers SET vm_state = 'error', task_state = NULL, power_state = 0, \
                     fault = ?, updated_at = ? WHERE id = ?",
                )
                .bind(fault.text())
                .bind(now_text())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
        }
        jobs::finish_in(&mut tx, job_id, Some(error)).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn server_finish_delete(
        &self,
        id: &ServerId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if error.is_some() {
            sqlx::query(
                "UPDATE servers SET vm_state = 'error', task_state = NULL, updated_at = ? WHERE id = ?",
            )
            .bind(now_text())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        } else {
            if let Some(s) = get_in(&mut tx, id).await? {
                for d in &s.disks {
                    drop_attachment(&mut tx, d.attachment_id.as_str(), &d.volume_id).await?;
                }
            }
            sqlx::query("DELETE FROM servers WHERE id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn server_begin_attach(
        &self,
        id: &ServerId,
        disk: &ServerDisk,
        attachment: &crate::repo::NewAttachment,
        job: &Job,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let s = require_in(&mut tx, id).await?;
        if let Some(t) = s.task_state {
            return Err(DomainError::Conflict(format!(
                "Cannot 'attach_volume' instance {id} while it is in task_state {t}"
            )));
        }
        if !matches!(s.vm_state, VmState::Active | VmState::Stopped) {
            return Err(DomainError::server_state(format!(
                "Cannot 'attach_volume' instance {id} while it is in vm_state {}",
                s.vm_state
            )));
        }
        if s.disks.iter().any(|d| d.volume_id == disk.volume_id) {
            return Err(DomainError::volume_state(format!(
                "Volume {} is already attached to server {id}.",
                disk.volume_id
            )));
        }
        if s.disks.iter().any(|d| d.device == disk.device) {
            return Err(DomainError::Conflict(format!(
                "The supplied device path ({}) is in use.",
                disk.device
            )));
        }
        let v = require_volume(&mut tx, &disk.volume_id).await?;
        check_attachable(&v, attachment.mode)?;
        insert_attachment(&mut tx, attachment).await?;
        settle(&mut tx, &disk.volume_id).await?;
        insert_disk(&mut tx, id, disk).await?;
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn server_finish_attach(
        &self,
        id: &ServerId,
        volume: &VolumeId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if let Some(s) = get_in(&mut tx, id).await? {
            if let Ok(d) = find_disk(&s, volume) {
                if error.is_some() {
                    drop_attachment(&mut tx, d.attachment_id.as_str(), volume).await?;
                    remove_disk(&mut tx, id, volume).await?;
                } else {
                    set_disk_status(&mut tx, id, volume, DiskStatus::Attached).await?;
                }
            }
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn server_begin_detach(
        &self,
        id: &ServerId,
        volume: &VolumeId,
        job: &Job,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let s = require_in(&mut tx, id).await?;
        if let Some(t) = s.task_state {
            return Err(DomainError::Conflict(format!(
                "Cannot 'detach_volume' instance {id} while it is in task_state {t}"
            )));
        }
        let d = find_disk(&s, volume)?;
        if d.status != DiskStatus::Attached {
            return Err(DomainError::volume_state(format!(
                "Volume {volume} is {} on server {id}.",
                d.status
            )));
        }
        set_disk_status(&mut tx, id, volume, DiskStatus::Detaching).await?;
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn server_finish_detach(
        &self,
        id: &ServerId,
        volume: &VolumeId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if let Some(s) = get_in(&mut tx, id).await? {
            if let Ok(d) = find_disk(&s, volume) {
                let connected: Option<String> =
                    sqlx::query_scalar("SELECT id FROM attachments WHERE id = ?")
                        .bind(d.attachment_id.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                // A failed detach whose attachment is already gone did
                // detach: the disk goes too.
                if error.is_some() && connected.is_some() {
                    set_disk_status(&mut tx, id, volume, DiskStatus::Attached).await?;
                } else {
                    drop_attachment(&mut tx, d.attachment_id.as_str(), volume).await?;
                    remove_disk(&mut tx, id, volume).await?;
                }
            }
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn server_update(
        &self,
        id: &ServerId,
        name: Option<&str>,
        description: Option<Option<String>>,
        metadata: Option<&Metadata>,
    ) -> DomainResult<Server> {
        let mut tx = self.begin().await?;
        require_in(&mut tx, id).await?;
        let now = now_text();
        if let Some(n) = name {
            sqlx::query("UPDATE servers SET name = ?, updated_at = ? WHERE id = ?")
                .bind(n)
                .bind(&now)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if let Some(d) = description {
            sqlx::query("UPDATE servers SET description = ?, updated_at = ? WHERE id = ?")
                .bind(d)
                .bind(&now)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if let Some(m) = metadata {
            sqlx::query("UPDATE servers SET metadata = ?, updated_at = ? WHERE id = ?")
                .bind(m.text())
                .bind(&now)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        let out = require_in(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn server_set_state(
        &self,
        id: &ServerId,
        vm_state: VmState,
        power_state: PowerState,
        fault: Option<&ServerFault>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE servers SET vm_state = ?, power_state = ?, task_state = NULL, \
             fault = COALESCE(?, fault), updated_at = ? WHERE id = ?",
        )
        .bind(vm_state.as_str())
        .bind(power_state.code())
        .bind(fault.map(|f| f.text()))
        .bind(now_text())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn server_set_locked(&self, id: &ServerId, locked: bool) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        require_in(&mut tx, id).await?;
        sqlx::query("UPDATE servers SET locked = ?, updated_at = ? WHERE id = ?")
            .bind(locked as i64)
            .bind(now_text())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn server_of_volume(&self, volume: &VolumeId) -> DomainResult<Vec<ServerId>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT server_id FROM server_disks WHERE volume_id = ?")
                .bind(volume.as_str())
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
        Ok(rows.into_iter().map(ServerId::from).collect())
    }
}
