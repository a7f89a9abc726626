//! Volume types.

use async_trait::async_trait;
use platter_model::{now_timestamp, DomainError, DomainResult, Metadata, VolumeType};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::{db_err, SqliteStore};
use crate::repo::TypeRepo;

/// A uniqueness violation on a type's name.
fn taken(e: DomainError, name: &str) -> DomainError {
    match e {
        DomainError::Conflict(_) => {
            DomainError::Conflict(format!("Volume Type {name} already exists."))
        }
        other => other,
    }
}

fn type_from_row(r: &SqliteRow) -> DomainResult<VolumeType> {
    let specs: String = r.get("extra_specs");
    Ok(VolumeType {
        id: r.get("id"),
        name: r.get("name"),
        description: r.get("description"),
        is_public: r.get::<i64, _>("is_public") != 0,
        extra_specs: serde_json::from_str::<Metadata>(&specs)
            .map_err(|e| DomainError::Internal(format!("bad extra_specs: {e}")))?,
    })
}

#[async_trait]
impl TypeRepo for SqliteStore {
    /// Inserts a type unless one of that name exists.
    async fn volume_type_ensure(&self, t: &VolumeType) -> DomainResult<()> {
        let specs = serde_json::to_string(&t.extra_specs)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO volume_types (id, name, description, is_public, extra_specs, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.description)
        .bind(t.is_public as i64)
        .bind(specs)
        .bind(now_timestamp())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn volume_type_list(&self) -> DomainResult<Vec<VolumeType>> {
        let rows = sqlx::query("SELECT * FROM volume_types ORDER BY name")
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(type_from_row).collect()
    }

    async fn volume_type_create(&self, t: &VolumeType) -> DomainResult<()> {
        let specs = serde_json::to_string(&t.extra_specs)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO volume_types (id, name, description, is_public, extra_specs, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.description)
        .bind(t.is_public as i64)
        .bind(specs)
        .bind(now_timestamp())
        .execute(&self.write)
        .await
        .map_err(|e| taken(db_err(e), &t.name))?;
        Ok(())
    }

    async fn volume_type_update(&self, t: &VolumeType) -> DomainResult<()> {
        let specs = serde_json::to_string(&t.extra_specs)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let res = sqlx::query(
            "UPDATE volume_types SET name = ?, description = ?, is_public = ?, extra_specs = ? WHERE id = ?",
        )
        .bind(&t.name)
        .bind(&t.description)
        .bind(t.is_public as i64)
        .bind(specs)
        .bind(&t.id)
        .execute(&self.write)
        .await
        .map_err(|e| taken(db_err(e), &t.name))?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("Volume type", t.id.clone()));
        }
        Ok(())
    }

    async fn volume_type_delete(&self, id: &str) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM volumes WHERE volume_type_id = ?")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if used > 0 {
            return Err(DomainError::state(format!(
                "Volume type {id} is in use by {used} volumes."
            )));
        }
        let grouped: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM group_volume_types WHERE volume_type_id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        if grouped > 0 {
            return Err(DomainError::state(format!(
                "Volume type {id} is in use by {grouped} groups."
            )));
        }
        let res = sqlx::query("DELETE FROM volume_types WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("Volume type", id));
        }
        tx.commit().await.map_err(db_err)
    }

    /// Finds a type by id, or else by name (Cinder accepts either).
    async fn volume_type_find(&self, id_or_name: &str) -> DomainResult<Option<VolumeType>> {
        let row = sqlx::query("SELECT * FROM volume_types WHERE id = ? UNION ALL SELECT * FROM volume_types WHERE name = ? LIMIT 1")
            .bind(id_or_name)
            .bind(id_or_name)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(type_from_row).transpose()
    }
}
