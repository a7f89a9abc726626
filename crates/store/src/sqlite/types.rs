//! Volume types.

use async_trait::async_trait;
use platter_model::{
    DomainError, DomainResult, Metadata, ProjectId, TypeEncryption, VolumeType, VolumeTypeId,
};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::{db_err, now_text, RowExt, SqliteStore};
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

pub(crate) fn type_from_row(r: &SqliteRow) -> DomainResult<VolumeType> {
    let specs: String = r.get("extra_specs");
    Ok(VolumeType {
        id: r.id("id"),
        name: r.get("name"),
        description: r.get("description"),
        is_public: r.get::<i64, _>("is_public") != 0,
        extra_specs: serde_json::from_str::<Metadata>(&specs)
            .map_err(|e| DomainError::Internal(format!("bad extra_specs: {e}")))?,
        qos_specs_id: r.id_opt("qos_specs_id"),
        encrypted: r.get::<i64, _>("encrypted") != 0,
    })
}

#[async_trait]
impl TypeRepo for SqliteStore {
    async fn type_access_list(&self, id: &VolumeTypeId) -> DomainResult<Vec<ProjectId>> {
        access_list(self, id).await
    }

    async fn type_access_add(&self, id: &VolumeTypeId, project: &ProjectId) -> DomainResult<()> {
        access_add(self, id, project).await
    }

    async fn type_access_remove(&self, id: &VolumeTypeId, project: &ProjectId) -> DomainResult<()> {
        access_remove(self, id, project).await
    }

    async fn type_encryption_get(&self, id: &VolumeTypeId) -> DomainResult<Option<TypeEncryption>> {
        encryption_get(self, id).await
    }

    async fn type_encryption_put(&self, e: &TypeEncryption) -> DomainResult<()> {
        encryption_put(self, e).await
    }

    async fn type_encryption_delete(&self, id: &VolumeTypeId) -> DomainResult<()> {
        encryption_delete(self, id).await
    }

    /// Inserts a type unless one of that name exists.
    async fn volume_type_ensure(&self, t: &VolumeType) -> DomainResult<()> {
        let specs = serde_json::to_string(&t.extra_specs)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO volume_types (id, name, description, is_public, extra_specs, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(t.id.as_str())
        .bind(&t.name)
        .bind(&t.description)
        .bind(t.is_public as i64)
        .bind(specs)
        .bind(now_text())
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
        .bind(t.id.as_str())
        .bind(&t.name)
        .bind(&t.description)
        .bind(t.is_public as i64)
        .bind(specs)
        .bind(now_text())
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
        .bind(t.id.as_str())
        .execute(&self.write)
        .await
        .map_err(|e| taken(db_err(e), &t.name))?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("Volume type", t.id.clone()));
        }
        Ok(())
    }

    async fn volume_type_delete(&self, id: &VolumeTypeId) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM volumes WHERE volume_type_id = ?")
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if used > 0 {
            return Err(DomainError::state(format!(
                "Volume type {id} is in use by {used} volumes."
            )));
        }
        let defaults: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM project_default_types WHERE volume_type_id = ?",
        )
        .bind(id.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if defaults > 0 {
            return Err(DomainError::state(format!(
                "Volume type {id} is the default type of {defaults} projects; unset those first."
            )));
        }
        let grouped: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM group_volume_types WHERE volume_type_id = ?")
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        if grouped > 0 {
            return Err(DomainError::state(format!(
                "Volume type {id} is in use by {grouped} groups."
            )));
        }
        let res = sqlx::query("DELETE FROM volume_types WHERE id = ?")
            .bind(id.as_str())
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

    async fn volume_type_default_for(
        &self,
        project: &ProjectId,
        fallback: &str,
    ) -> DomainResult<Option<VolumeType>> {
        let row = sqlx::query(
            "SELECT t.* FROM project_default_types d JOIN volume_types t ON t.id = d.volume_type_id \
             WHERE d.project_id = ? \
             UNION ALL SELECT * FROM volume_types WHERE id = ? \
             UNION ALL SELECT * FROM volume_types WHERE name = ? LIMIT 1",
        )
        .bind(project.as_str())
        .bind(fallback)
        .bind(fallback)
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?;
        row.as_ref().map(type_from_row).transpose()
    }

    async fn default_types(
        &self,
        project: Option<&ProjectId>,
    ) -> DomainResult<Vec<(ProjectId, VolumeTypeId)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT project_id, volume_type_id FROM project_default_types \
             WHERE (?1 IS NULL OR project_id = ?1) ORDER BY project_id",
        )
        .bind(project.map(ProjectId::as_str))
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(p, t)| (ProjectId::from(p), VolumeTypeId::from(t)))
            .collect())
    }

    async fn default_type_set(&self, project: &ProjectId, t: &VolumeTypeId) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO project_default_types (project_id, volume_type_id) VALUES (?, ?) \
             ON CONFLICT (project_id) DO UPDATE SET volume_type_id = excluded.volume_type_id",
        )
        .bind(project.as_str())
        .bind(t.as_str())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn default_type_unset(&self, project: &ProjectId) -> DomainResult<bool> {
        let res = sqlx::query("DELETE FROM project_default_types WHERE project_id = ?")
            .bind(project.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(res.rows_affected() == 1)
    }
}

/// Refuses a change to a type's encryption while volumes use the type.
async fn refuse_in_use(conn: &mut sqlx::SqliteConnection, id: &VolumeTypeId) -> DomainResult<()> {
    let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM volumes WHERE volume_type_id = ?")
        .bind(id.as_str())
        .fetch_one(conn)
        .await
        .map_err(db_err)?;
    if used > 0 {
        return Err(DomainError::state(format!(
            "Volume type {id} is in use by {used} volumes; its encryption cannot change."
        )));
    }
    Ok(())
}

pub(crate) async fn access_list(
    store: &SqliteStore,
    id: &VolumeTypeId,
) -> DomainResult<Vec<ProjectId>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT project_id FROM volume_type_access WHERE volume_type_id = ? ORDER BY project_id",
    )
    .bind(id.as_str())
    .fetch_all(&store.read)
    .await
    .map_err(db_err)?;
    Ok(rows.into_iter().map(|(p,)| ProjectId::from(p)).collect())
}

pub(crate) async fn access_add(
    store: &SqliteStore,
    id: &VolumeTypeId,
    project: &ProjectId,
) -> DomainResult<()> {
    sqlx::query("INSERT INTO volume_type_access (volume_type_id, project_id) VALUES (?, ?)")
        .bind(id.as_str())
        .bind(project.as_str())
        .execute(&store.write)
        .await
        .map_err(|e| match db_err(e) {
            DomainError::Conflict(_) => DomainError::Conflict(format!(
                "Volume type access for {id}/{project} already exists."
            )),
            other => other,
        })?;
    Ok(())
}

pub(crate) async fn access_remove(
    store: &SqliteStore,
    id: &VolumeTypeId,
    project: &ProjectId,
) -> DomainResult<()> {
    let res =
        sqlx::query("DELETE FROM volume_type_access WHERE volume_type_id = ? AND project_id = ?")
            .bind(id.as_str())
            .bind(project.as_str())
            .execute(&store.write)
            .await
            .map_err(db_err)?;
    if res.rows_affected() == 0 {
        return Err(DomainError::not_found(
            "Volume type access",
            format!("{id}/{project}"),
        ));
    }
    Ok(())
}

pub(crate) async fn encryption_get(
    store: &SqliteStore,
    id: &VolumeTypeId,
) -> DomainResult<Option<TypeEncryption>> {
    let row = sqlx::query("SELECT * FROM volume_type_encryption WHERE volume_type_id = ?")
        .bind(id.as_str())
        .fetch_optional(&store.read)
        .await
        .map_err(db_err)?;
    row.map(|r| {
        Ok(TypeEncryption {
            id: r.get("encryption_id"),
            volume_type_id: r.id("volume_type_id"),
            provider: r.get("provider"),
            cipher: r.get("cipher"),
            key_size: r.get("key_size"),
            control_location: r.get("control_location"),
            created_at: r.ts("created_at")?,
            updated_at: r.ts_opt("updated_at")?,
        })
    })
    .transpose()
}

pub(crate) async fn encryption_put(store: &SqliteStore, e: &TypeEncryption) -> DomainResult<()> {
    let mut tx = store.begin().await?;
    refuse_in_use(&mut tx, &e.volume_type_id).await?;
    sqlx::query(
        "INSERT INTO volume_type_encryption (volume_type_id, encryption_id, provider, cipher, key_size, control_location, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (volume_type_id) DO UPDATE SET \
         provider = excluded.provider, cipher = excluded.cipher, key_size = excluded.key_size, \
         control_location = excluded.control_location, updated_at = excluded.updated_at",
    )
    .bind(e.volume_type_id.as_str())
    .bind(&e.id)
    .bind(&e.provider)
    .bind(&e.cipher)
    .bind(e.key_size)
    .bind(&e.control_location)
    .bind(e.created_at.to_string())
    .bind(e.updated_at.map(|t| t.to_string()))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    sqlx::query("UPDATE volume_types SET encrypted = 1 WHERE id = ?")
        .bind(e.volume_type_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn encryption_delete(store: &SqliteStore, id: &VolumeTypeId) -> DomainResult<()> {
    let mut tx = store.begin().await?;
    refuse_in_use(&mut tx, id).await?;
    let res = sqlx::query("DELETE FROM volume_type_encryption WHERE volume_type_id = ?")
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if res.rows_affected() == 0 {
        return Err(DomainError::not_found(
            "Volume type encryption",
            id.as_str(),
        ));
    }
    sqlx::query("UPDATE volume_types SET encrypted = 0 WHERE id = ?")
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}
