//! Volume transfers.

use async_trait::async_trait;
use platter_model::{
    DomainError, DomainResult, ProjectId, SnapshotId, SnapshotStatus, Transfer, TransferId,
    VolumeId, VolumeStatus,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::volume_rows::{require_volume, set_status};
use super::{db_err, now_text, quotas, RowExt, SqliteStore};
use crate::repo::{QuotaDefaults, StoredTransfer, TransferRepo, TransferTaker};

fn transfer_from_row(r: &SqliteRow) -> DomainResult<StoredTransfer> {
    Ok(StoredTransfer {
        transfer: Transfer {
            id: r.id("id"),
            volume_id: r.id("volume_id"),
            source_project_id: r.id("source_project_id"),
            name: r.get("name"),
            no_snapshots: r.get::<i64, _>("no_snapshots") != 0,
            created_at: r.ts("created_at")?,
        },
        salt: r.get("salt"),
        crypt_hash: r.get("crypt_hash"),
    })
}

async fn get_in(
    conn: &mut SqliteConnection,
    id: &TransferId,
) -> DomainResult<Option<StoredTransfer>> {
    let row = sqlx::query("SELECT * FROM transfers WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(transfer_from_row).transpose()
}

fn not_found(id: &TransferId) -> DomainError {
    DomainError::not_found("Transfer", id)
}

/// The statuses and sizes of a volume's snapshots.
async fn snapshots_of(
    conn: &mut SqliteConnection,
    volume_id: &VolumeId,
) -> DomainResult<Vec<(SnapshotId, SnapshotStatus, i64)>> {
    let rows = sqlx::query("SELECT id, status, size FROM snapshots WHERE volume_id = ?")
        .bind(volume_id.as_str())
        .fetch_all(conn)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let status: String = r.get("status");
            Ok((
                r.id("id"),
                super::parse_enum(&status)?,
                r.get::<i64, _>("size"),
            ))
        })
        .collect()
}

#[async_trait]
impl TransferRepo for SqliteStore {
    async fn transfer_create(&self, st: &StoredTransfer) -> DomainResult<()> {
        let t = &st.transfer;
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, &t.volume_id).await?;
        if v.project_id != t.source_project_id {
            return Err(DomainError::not_found("Volume", t.volume_id.as_str()));
        }
        if v.status != VolumeStatus::Available {
            return Err(DomainError::volume_state(format!(
                "Status of volume {} must be available, currently in '{}'.",
                v.id, v.status
            )));
        }
        if !t.no_snapshots {
            let snaps = snapshots_of(&mut tx, &v.id).await?;
            if let Some((id, status, _)) = snaps
                .iter()
                .find(|(_, s, _)| *s != SnapshotStatus::Available)
            {
                return Err(DomainError::snapshot_state(format!(
                    "Status of snapshot {id} of volume {} must be available to transfer the volume with its snapshots, currently in '{status}'.",
                    v.id
                )));
            }
        }
        set_status(&mut tx, &v.id, VolumeStatus::AwaitingTransfer).await?;
        sqlx::query(
            "INSERT INTO transfers (id, volume_id, source_project_id, name, no_snapshots, salt, crypt_hash, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(t.id.as_str())
        .bind(t.volume_id.as_str())
        .bind(t.source_project_id.as_str())
        .bind(&t.name)
        .bind(t.no_snapshots as i64)
        .bind(&st.salt)
        .bind(&st.crypt_hash)
        .bind(t.created_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn transfer_get(&self, id: &TransferId) -> DomainResult<Option<StoredTransfer>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        get_in(&mut conn, id).await
    }

    async fn transfer_list(
        &self,
        source_project_id: Option<&ProjectId>,
    ) -> DomainResult<Vec<Transfer>> {
        let rows = sqlx::query(
            "SELECT * FROM transfers WHERE (?1 IS NULL OR source_project_id = ?1) \
             ORDER BY created_at, id",
        )
        .bind(source_project_id.map(ProjectId::as_str))
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| transfer_from_row(r).map(|st| st.transfer))
            .collect()
    }

    async fn transfer_delete(&self, id: &TransferId) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let st = get_in(&mut tx, id).await?.ok_or_else(|| not_found(id))?;
        sqlx::query("DELETE FROM transfers WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let v = require_volume(&mut tx, &st.transfer.volume_id).await?;
        // An admin may have reset the volume's status meanwhile: only the
        // status the transfer set is undone.
        if v.status == VolumeStatus::AwaitingTransfer {
            set_status(&mut tx, &v.id, VolumeStatus::Available).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn transfer_accept(
        &self,
        id: &TransferId,
        taker: &TransferTaker<'_>,
        quota: &QuotaDefaults,
    ) -> DomainResult<Transfer> {
        let mut tx = self.begin().await?;
        let st = get_in(&mut tx, id).await?.ok_or_else(|| not_found(id))?;
        let t = st.transfer;
        let v = require_volume(&mut tx, &t.volume_id).await?;
        if v.status != VolumeStatus::AwaitingTransfer {
            return Err(DomainError::volume_state(format!(
                "Status of volume {} must be awaiting-transfer to accept its transfer, currently in '{}'.",
                v.id, v.status
            )));
        }
        let type_name = &v.volume_type_name;
        let mut deltas = vec![
            ("volumes".to_string(), 1),
            ("gigabytes".to_string(), v.size),
            (format!("volumes_{type_name}"), 1),
            (format!("gigabytes_{type_name}"), v.size),
        ];
        if !t.no_snapshots {
            let snaps = snapshots_of(&mut tx, &v.id).await?;
            let (n, gb) = snaps
                .iter()
                .fold((0i64, 0i64), |(n, gb), (_, _, size)| (n + 1, gb + size));
            if n > 0 {
                deltas.push(("snapshots".to_string(), n));
                deltas.push((format!("snapshots_{type_name}"), n));
                for (k, d) in deltas.iter_mut() {
                    if k.starts_with("gigabytes") {
                        *d += gb;
                    }
                }
            }
        }
        if v.project_id != *taker.project_id {
            quotas::check(&mut tx, taker.project_id, quota, &deltas, Some(v.size)).await?;
        }
        let now = now_text();
        sqlx::query(
            "UPDATE volumes SET project_id = ?, user_id = ?, status = ?, updated_at = ? WHERE id = ?",
        )
        .bind(taker.project_id.as_str())
        .bind(taker.user_id.as_str())
        .bind(VolumeStatus::Available.as_str())
        .bind(&now)
        .bind(v.id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if !t.no_snapshots {
            sqlx::query(
                "UPDATE snapshots SET project_id = ?, user_id = ?, updated_at = ? WHERE volume_id = ?",
            )
            .bind(taker.project_id.as_str())
            .bind(taker.user_id.as_str())
            .bind(&now)
            .bind(v.id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        sqlx::query("DELETE FROM transfers WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(t)
    }
}
